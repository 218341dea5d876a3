/** Receives the joined `data` of each server-sent event. A method on an object, not a closure per chunk. */
export interface SseDataHandler {
  onSseData(data: string): void;
  /** A line grew past the cap: it is dropped (the rest of it skipped), and this is told once per line. */
  onSseOverflow?(limitBytes: number): void;
}

/** Longest line kept: an endless `data:` line is cut off here instead of filling memory. */
export const MAX_SSE_LINE_BYTES = 8 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/**
 * Incremental text/event-stream parser working on bytes, so it is correct across any chunk
 * boundary: inside a field name, between CR and LF, or inside a multi-byte UTF-8 character (a
 * line is only decoded once it is complete). Lines end in LF, CRLF or CR; `:` lines are comments
 * (keep-alive pings); `data:` lines of one event are joined with LF; a blank line dispatches;
 * other fields (`event`, `id`, `retry`) are ignored because the OpenAI stream does not use them.
 * `[DONE]` is passed through as data; the caller decides what it means.
 */
export class SseParser {
  private readonly handler: SseDataHandler;
  /** Bytes of a line not yet terminated, carried over from earlier chunks; joined once, when it ends (linear in its length). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The line being read is over the cap: skip to its end. */
  private skipping = false;
  /** The previous chunk ended in CR: a leading LF of the next chunk belongs to it. */
  private pendingCr = false;
  private data: string | null = null;
  private atStart = true;

  constructor(
    handler: SseDataHandler,
    private readonly maxLineBytes = MAX_SSE_LINE_BYTES,
  ) {
    this.handler = handler;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    if (this.atStart && n > 0) {
      this.atStart = false;
      if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3; // UTF-8 BOM
    }
    if (this.pendingCr) {
      this.pendingCr = false;
      if (i < n && chunk[i] === LF) i++;
    }
    let start = i;
    for (; i < n; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) continue;
      this.endLine(chunk, start, i);
      if (b === CR) {
        if (i + 1 < n) {
          if (chunk[i + 1] === LF) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    if (start < n && !this.skipping) {
      this.carryBytes += n - start;
      if (this.carryBytes > this.maxLineBytes) {
        this.carry = [];
        this.carryBytes = 0;
        this.skipping = true;
        this.handler.onSseOverflow?.(this.maxLineBytes);
      } else this.carry.push(Buffer.from(chunk.subarray(start, n)));
    }
  }

  private takeCarry(tail?: Buffer): Buffer {
    const parts = tail === undefined ? this.carry : [...this.carry, tail];
    const line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.carry = [];
    this.carryBytes = 0;
    return line;
  }

  /** End of the body: a last unterminated line and a last event without its blank line still count. */
  end(): void {
    if (this.carry.length > 0) {
      const line = this.takeCarry();
      this.processLine(line, 0, line.length);
    }
    this.skipping = false;
    this.dispatch();
  }

  private endLine(chunk: Buffer, start: number, end: number): void {
    if (this.skipping) {
      // The end of an over-long line: nothing of it is kept.
      this.skipping = false;
      return;
    }
    if (this.carry.length > 0) {
      if (this.carryBytes + (end - start) > this.maxLineBytes) {
        this.takeCarry();
        this.handler.onSseOverflow?.(this.maxLineBytes);
        return;
      }
      const line = this.takeCarry(chunk.subarray(start, end));
      this.processLine(line, 0, line.length);
    } else if (end - start > this.maxLineBytes) {
      this.handler.onSseOverflow?.(this.maxLineBytes);
    } else {
      this.processLine(chunk, start, end);
    }
  }

  private processLine(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    if (buf[start] === COLON) return; // comment / ping
    // Only the `data` field matters: "data:" + optional single space + value, or a bare "data".
    if (
      end - start >= 4 &&
      buf[start] === 0x64 && // d
      buf[start + 1] === 0x61 && // a
      buf[start + 2] === 0x74 && // t
      buf[start + 3] === 0x61 // a
    ) {
      let v = start + 4;
      if (v === end) {
        this.append('');
        return;
      }
      if (buf[v] !== COLON) return; // another field whose name starts with "data"
      v++;
      if (v < end && buf[v] === SPACE) v++;
      this.append(buf.toString('utf8', v, end));
    }
  }

  private append(value: string): void {
    this.data = this.data === null ? value : `${this.data}\n${value}`;
  }

  private dispatch(): void {
    if (this.data === null) return;
    const d = this.data;
    this.data = null;
    this.handler.onSseData(d);
  }
}
