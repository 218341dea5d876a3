import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';

export interface HttpResult {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

/** One plain HTTP exchange with node:http (no client library in between). */
export function http(method: string, url: string, body?: unknown): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpRequest(url, { method, headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function getJson(url: string): Promise<any> {
  const r = await http('GET', url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

/** The `data:` payloads of an SSE body, in order. */
export function sseData(text: string): string[] {
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
}

/**
 * An open SSE stream: `next()` resolves with the next event's data (parsed JSON unless `[DONE]`),
 * `close()` drops the connection (the server sees the client go away).
 */
export class SseStream {
  private buf = '';
  private queue: string[] = [];
  private waiters: ((v: string | null) => void)[] = [];
  private ended = false;
  status = 0;

  private constructor(readonly req: ClientRequest) {}

  static open(method: string, url: string, body?: unknown): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest(url, { method, headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } });
      const s = new SseStream(req);
      req.on('response', (res) => {
        s.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (c: string) => s.push(c));
        res.on('end', () => s.end());
        res.on('error', () => s.end());
        resolve(s);
      });
      req.on('error', (e) => {
        s.end();
        reject(e);
      });
      req.end(data);
    });
  }

  private push(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (block.split('\n').some((l) => l.startsWith('data: '))) {
        const w = this.waiters.shift();
        if (w) w(data);
        else this.queue.push(data);
      }
    }
  }

  private end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /** The next event's raw data, or null once the stream has ended. */
  nextRaw(): Promise<string | null> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async next(): Promise<any> {
    const raw = await this.nextRaw();
    if (raw === null || raw === '[DONE]') return raw;
    return JSON.parse(raw);
  }

  close(): void {
    this.req.destroy();
  }
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
