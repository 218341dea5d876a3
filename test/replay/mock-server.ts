import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What the mock does with one request; chosen per request from its parsed body. */
export type Behaviour =
  | {
      kind: 'stream';
      /** Delay before each token message, from the previous one (the first from the request's arrival). */
      gapsMs: number[];
      /** Tokens in each message (default 1 each). */
      tokens?: number[];
      /** Send usage on every message (vLLM's continuous_usage_stats). Default true. */
      continuousUsage?: boolean;
      /** Send a final usage-only message. Default true. */
      finalUsage?: boolean;
      /** Chat format; a role-only opening delta first. */
      chat?: boolean;
      /** Interleave ": ping" comments and split messages across writes. */
      noisy?: boolean;
      /** After the last message: end normally, reset the socket, never end, end cleanly without `[DONE]`, or send an `{"error": …}` event and then `[DONE]`. */
      end?: 'done' | 'reset' | 'hang' | 'no-done' | 'error-event';
      /** The usage object as raw JSON text, given the tokens produced so far (to send what JSON.stringify cannot, like 1e999). */
      usageText?: (produced: number) => string;
    }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'garbage' }
  | { kind: 'no-tokens' };

export interface Served {
  index: number;
  body: Record<string, unknown>;
  arrivedMs: number;
  /** performance.now() right after each token message was handed to the socket. */
  writesMs: number[];
}

export interface MockServer {
  url: string;
  port: number;
  served: Served[];
  close(): Promise<void>;
}

function completionMessage(text: string, usage: object | null): string {
  const m: Record<string, unknown> = { id: 'cmpl-mock', object: 'text_completion', model: 'mock-model', choices: [{ index: 0, text, logprobs: null, finish_reason: null }] };
  if (usage) m.usage = usage;
  return `data: ${JSON.stringify(m)}\n\n`;
}

function chatMessage(delta: object, usage: object | null): string {
  const m: Record<string, unknown> = { id: 'chatcmpl-mock', object: 'chat.completion.chunk', model: 'mock-model', choices: [{ index: 0, delta, finish_reason: null }] };
  if (usage) m.usage = usage;
  return `data: ${JSON.stringify(m)}\n\n`;
}

/** Default: one token per message, 10 ms first, then 5 ms gaps, for max_tokens tokens. */
export function defaultBehaviour(body: Record<string, unknown>): Behaviour {
  const n = Number(body.max_tokens ?? 1);
  return { kind: 'stream', gapsMs: Array.from({ length: n }, (_, i) => (i === 0 ? 10 : 5)) };
}

/** What GET /metrics answers (default: 404, as a server without Prometheus metrics). */
export type MetricsAnswer = { status: number; body: string; contentType?: string } | 'hang';

export function startMockServer(
  choose: (body: Record<string, unknown>, index: number) => Behaviour = defaultBehaviour,
  metrics: (scrape: number) => MetricsAnswer = () => ({ status: 404, body: '{"detail":"Not Found"}', contentType: 'application/json' }),
): Promise<MockServer & { scrapes: number }> {
  const served: Served[] = [];
  let scrapes = 0;
  const sockets = new Set<import('node:net').Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const server = http.createServer((req, res) => {
    const arrivedMs = performance.now();
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'mock-model', object: 'model' }] }));
      return;
    }
    if (req.method === 'GET') {
      const a = metrics(scrapes++);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': a.contentType ?? 'text/plain; version=0.0.4' });
      res.end(a.body);
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      const rec: Served = { index: served.length, body, arrivedMs, writesMs: [] };
      served.push(rec);
      const b = choose(body, rec.index);
      if (b.kind === 'status') {
        res.writeHead(b.status, { 'content-type': 'application/json' });
        res.end(b.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (b.kind === 'garbage') {
        later(() => res.end('data: {"choices":[{"text":"a"}]\n\ndata: this is not json\n\n'), 5);
        return;
      }
      if (b.kind === 'no-tokens') {
        later(() => res.end('data: [DONE]\n\n'), 5);
        return;
      }
      const prompt = body.prompt;
      const promptTokens = Array.isArray(prompt) ? prompt.length : 7;
      let produced = 0;
      let k = 0;
      const usageObject = (): object => ({ prompt_tokens: promptTokens, completion_tokens: produced, total_tokens: promptTokens + produced });
      // A marker replaced by the raw usage text after JSON.stringify.
      const usage = (): object => (b.usageText ? { __raw: produced } : usageObject());
      const raw = (text: string): string => (b.usageText ? text.replace(/\{"__raw":(\d+)\}/g, (_m, k: string) => b.usageText!(Number(k))) : text);
      const continuous = b.continuousUsage ?? true;
      if (b.chat) res.write(raw(chatMessage({ role: 'assistant', content: '' }, continuous ? usage() : null)));
      const next = (): void => {
        if (k >= b.gapsMs.length) {
          if (b.end === 'reset') {
            // Let the written messages reach the client first, then cut the connection.
            later(() => res.socket?.destroy(), 15);
            return;
          }
          if (b.end === 'hang') return;
          if (b.end === 'no-done') {
            res.end();
            return;
          }
          if (b.end === 'error-event') {
            res.end(`data: ${JSON.stringify({ error: { message: 'engine overloaded mid-stream', type: 'server_error', code: 503 } })}\n\ndata: [DONE]\n\n`);
            return;
          }
          let tail = '';
          if (b.finalUsage ?? true) tail += b.chat ? `data: ${JSON.stringify({ id: 'x', choices: [], usage: usage() })}\n\n` : `data: ${JSON.stringify({ id: 'x', choices: [], usage: usage() })}\n\n`;
          tail += 'data: [DONE]\n\n';
          res.end(raw(tail));
          return;
        }
        later(() => {
          const m = b.tokens?.[k] ?? 1;
          produced += m;
          const text = ' tok'.repeat(m);
          const msg = raw(b.chat ? chatMessage({ content: text }, continuous ? usage() : null) : completionMessage(text, continuous ? usage() : null));
          if (b.noisy) {
            // A comment, then the message split in two writes: the client must still see it at the second write.
            res.write(': ping\r\n\r\n');
            const cut = Math.floor(msg.length / 2);
            res.write(msg.slice(0, cut));
            res.write(msg.slice(cut));
          } else {
            res.write(msg);
          }
          rec.writesMs.push(performance.now());
          k++;
          next();
        }, b.gapsMs[k]);
      };
      next();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        served,
        get scrapes() {
          return scrapes;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const t of timers) clearTimeout(t);
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** A port that was just open and is now closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
