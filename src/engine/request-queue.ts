/**
 * FIFO of waiting requests with O(1) push, pop and push-front (preempted requests go back to the
 * head, as in vLLM). Cancelled entries are removed lazily: `isLive` is asked when they reach the head.
 *
 *   items: [ consumed … | head → live and dead entries … ]
 *            0 … head-1    head … items.length-1
 */
export class RequestQueue<T> {
  private items: T[] = [];
  private head = 0;
  private live = 0;

  constructor(private readonly isLive: (t: T) => boolean) {}

  get size(): number {
    return this.live;
  }

  push(t: T): void {
    this.items.push(t);
    this.live++;
  }

  pushFront(t: T): void {
    if (this.head > 0) this.items[--this.head] = t;
    else this.items.unshift(t);
    this.live++;
  }

  /** The first live entry, or undefined. */
  peek(): T | undefined {
    this.skipDead();
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  pop(): T | undefined {
    const t = this.peek();
    if (t === undefined) return undefined;
    this.head++;
    this.live--;
    this.compact();
    return t;
  }

  /** Call when an entry still in the queue stops being live (cancelled). */
  forget(): void {
    this.live--;
  }

  /** Live entries in order (for snapshots). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) if (this.isLive(this.items[i])) yield this.items[i];
  }

  private skipDead(): void {
    while (this.head < this.items.length && !this.isLive(this.items[this.head])) this.head++;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
