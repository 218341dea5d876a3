/*
 * HTTP transport: node:http with one keep-alive Agent sized to the concurrency. Node 20 ships
 * undici only behind fetch (not importable without installing it), and fetch's WHATWG streams
 * cost more per chunk than the classic stream API; node:http needs no dependency. In flowing
 * mode every socket read (libuv reads up to 64 KiB at a time) reaches the SSE parser at once,
 * with no line-length cap or bounded read buffer in between (the cause of vllm#39963's collapse
 * at long context was aiohttp's 64 KiB read_bufsize), and one shared Agent means no connection
 * churn (the SGLang session-per-request problem).
 */
import http from 'node:http';
import https from 'node:https';
import type { Clock } from './clock.js';
import type { Endpoint } from './endpoint.js';
import { apiPath, type ApiKind } from './request-body.js';
import type { ErrorCause, RequestRecord } from './request-record.js';
import { isRedirect, redirectRefusal, requestOptions } from '../core/http-call.js';
import { redact } from '../core/redact.js';
import { setLongTimeout, type LongTimeout } from '../core/timers.js';
import { SseParser, type SseDataHandler } from '../core/sse-parser.js';
import { streamEndProblem, usageProblem } from './stream-checks.js';

export interface ClientOptions {
  endpoint: Endpoint;
  api: ApiKind;
  /** Sent with every request (e.g. Authorization). Never logged. */
  headers: Record<string, string>;
  /** Sockets in the pool: the concurrency bound, or Infinity. */
  maxSockets: number;
  requestTimeoutMs: number;
  clock: Clock;
}

/** Per-request notifications; implemented by the run orchestration (one object, no closures per chunk). */
export interface ClientListener {
  /** A token-bearing message arrived (`rec.chunkMs` has just grown). */
  onTokenChunk?(rec: RequestRecord): void;
  /** The request reached a final status (`ok` or `failed`). Called exactly once. */
  onRequestDone(rec: RequestRecord): void;
  /** A socket read of a stream arrived at `nowMs` (the pacer checks then whether a request is due). */
  onRead?(nowMs: number): void;
}

export interface OpenAiClient {
  /** Issues the request now; `t0Ms` is the run start on the clock (the record's times are relative to it). */
  send(rec: RequestRecord, body: Buffer, t0Ms: number): void;
  inFlight(): number;
  /** Fails every request in flight with `cause` (interrupt, global deadline). */
  abortAll(cause: ErrorCause, detail: string): void;
  close(): void;
}

/** Body bytes kept for an error detail; details are cut to DETAIL_CHARS after redaction, so a cut never leaves part of a secret. */
const EXCERPT_BYTES = 4096;
const DETAIL_CHARS = 300;

export function createOpenAiClient(opts: ClientOptions, listener: ClientListener): OpenAiClient {
  const mod = opts.endpoint.protocol === 'https:' ? https : http;
  const maxSockets = Number.isFinite(opts.maxSockets) ? opts.maxSockets : Infinity;
  const agent = new mod.Agent({
    keepAlive: true,
    maxSockets,
    maxFreeSockets: Number.isFinite(maxSockets) ? maxSockets : 65536,
    scheduling: 'fifo',
  });
  const path = apiPath(opts.api);
  const live = new Set<StreamingRequest>();
  const shared: Shared = { opts, listener, agent, mod, path, live, isChat: opts.api === 'chat' };
  return {
    send(rec, body, t0Ms) {
      const s = new StreamingRequest(shared, rec, t0Ms);
      live.add(s);
      s.start(body);
    },
    inFlight: () => live.size,
    abortAll(cause, detail) {
      for (const s of [...live]) s.fail(cause, detail);
    },
    close() {
      for (const s of [...live]) s.fail('interrupted', 'client closed');
      agent.destroy();
    },
  };
}

interface Shared {
  opts: ClientOptions;
  listener: ClientListener;
  agent: http.Agent;
  mod: typeof http | typeof https;
  path: string;
  live: Set<StreamingRequest>;
  isChat: boolean;
}

/** One streaming request: the HTTP exchange, the SSE parser and the record it fills. */
class StreamingRequest implements SseDataHandler {
  private readonly sh: Shared;
  private readonly rec: RequestRecord;
  private readonly t0Ms: number;
  private readonly parser: SseParser;
  private req: http.ClientRequest | null = null;
  private sentAtMs = 0;
  /** Clock reading of the socket read being parsed: every event in it arrived then. */
  private readNowMs = 0;
  private finished = false;
  private timer: LongTimeout | null = null;
  private excerpt = '';
  private streaming = false;
  private gotResponse = false;
  /** Kept until the response starts, for the one retry on a stale keep-alive socket. */
  private body: Buffer | null = null;
  private retried = false;
  private contentType = '';
  private location: string | undefined;
  private sawDone = false;
  private finishReason: string | null = null;

  constructor(sh: Shared, rec: RequestRecord, t0Ms: number) {
    this.sh = sh;
    this.rec = rec;
    this.t0Ms = t0Ms;
    this.parser = new SseParser(this);
  }

  start(body: Buffer): void {
    const { opts } = this.sh;
    this.rec.status = 'in_flight';
    this.sentAtMs = opts.clock.now();
    this.rec.sentMs = this.sentAtMs - this.t0Ms;
    if (this.sh.isChat) this.rec.choiceMs = [];
    this.body = body;
    if (this.issue()) this.timer = setLongTimeout(this.onTimeout, opts.requestTimeoutMs);
  }

  private issue(): boolean {
    const { opts, mod, agent, path } = this.sh;
    const body = this.body as Buffer;
    const headers: Record<string, string | number> = {
      ...opts.headers,
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'content-length': body.length,
      'x-request-id': `orbitflow-${this.rec.index}`,
    };
    try {
      const req = mod.request({ ...requestOptions(opts.endpoint, path, 'POST', headers), agent });
      this.req = req;
      req.on('response', this.onResponse);
      req.on('error', this.onRequestError);
      req.end(body);
      return true;
    } catch (e) {
      this.fail('client', (e as Error).message);
      return false;
    }
  }

  private readonly onResponse = (res: http.IncomingMessage): void => {
    if (this.finished) {
      res.resume();
      return;
    }
    const status = res.statusCode ?? 0;
    this.gotResponse = true;
    this.body = null;
    this.rec.httpStatus = status;
    this.contentType = String(res.headers['content-type'] ?? '');
    this.location = res.headers.location;
    this.streaming = status === 200;
    res.on('data', this.onData);
    res.on('end', this.onEnd);
    res.on('error', this.onResponseError);
    res.on('close', this.onClose);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.finished) return;
    if (!this.streaming) {
      if (this.excerpt.length < EXCERPT_BYTES) this.excerpt += chunk.toString('utf8', 0, Math.min(chunk.length, EXCERPT_BYTES));
      return;
    }
    this.readNowMs = this.sh.opts.clock.now();
    this.sh.listener.onRead?.(this.readNowMs);
    this.parser.push(chunk);
  };

  private readonly onEnd = (): void => {
    if (this.finished) return;
    if (!this.streaming) {
      const s = this.rec.httpStatus;
      if (isRedirect(s)) {
        this.fail('http_other', redirectRefusal(s, this.location));
        return;
      }
      const cause: ErrorCause = s >= 400 && s < 500 ? 'http_4xx' : s >= 500 && s < 600 ? 'http_5xx' : 'http_other';
      this.fail(cause, `HTTP ${s}: ${this.excerpt}`);
      return;
    }
    this.readNowMs = this.sh.opts.clock.now();
    this.parser.end();
    if (this.finished) return;
    if (this.rec.chunkMs.length === 0) {
      const what = this.contentType.includes('text/event-stream') ? 'the stream ended without a token' : `content-type '${this.contentType}': the server did not stream`;
      this.fail('no_tokens', what);
      return;
    }
    const problem = streamEndProblem(this.rec, this.sawDone, this.finishReason);
    if (problem !== null) {
      this.fail(problem.cause, problem.detail);
      return;
    }
    this.finish('ok', null, null);
  };

  private readonly onResponseError = (e: NodeJS.ErrnoException): void => {
    this.fail('reset', e.code ?? e.message);
  };

  private readonly onClose = (): void => {
    // 'close' without 'end': the connection went away mid-body.
    if (!this.finished) this.fail('reset', 'connection closed before the response ended');
  };

  private readonly onRequestError = (e: NodeJS.ErrnoException): void => {
    if (this.finished) return;
    const code = e.code ?? '';
    // The server closed an idle keep-alive socket just as it was reused: nothing reached it, so
    // send once more on a fresh connection (the race Node's http docs describe for reusedSocket).
    if (!this.retried && !this.gotResponse && this.req?.reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE')) {
      this.retried = true;
      this.issue();
      return;
    }
    const cause: ErrorCause =
      code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'connect' : 'reset';
    this.fail(cause, code || e.message);
  };

  private readonly onTimeout = (): void => {
    this.timer = null;
    this.fail('timeout', `no complete response within ${this.sh.opts.requestTimeoutMs} ms`);
  };

  onSseOverflow(limitBytes: number): void {
    this.fail('bad_sse', `a data line longer than ${limitBytes} bytes`);
  }

  onSseData(data: string): void {
    if (this.finished) return;
    if (data === '[DONE]') {
      this.sawDone = true;
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.fail('bad_sse', `data line is not JSON: ${data.slice(0, EXCERPT_BYTES)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.fail('bad_sse', `data line is not a JSON object: ${data.slice(0, EXCERPT_BYTES)}`);
      return;
    }
    const m = msg as { choices?: unknown; usage?: unknown; error?: unknown };
    if (m.error !== undefined && m.error !== null && m.choices === undefined) {
      const e = m.error as { message?: unknown };
      this.fail('server_error', typeof e?.message === 'string' ? e.message : JSON.stringify(m.error));
      return;
    }
    const rec = this.rec;
    const choices = m.choices;
    const hasChoices = Array.isArray(choices) && choices.length > 0;
    let tokens = -1;
    if (hasChoices) {
      const fr = (choices as Array<{ finish_reason?: unknown }>)[0]?.finish_reason;
      if (typeof fr === 'string') this.finishReason = fr;
    }
    if (m.usage !== undefined && m.usage !== null) {
      const bad = usageProblem(m.usage, rec, hasChoices);
      if (bad !== null) {
        this.fail('bad_usage', bad);
        return;
      }
      const usage = m.usage as { completion_tokens?: unknown; prompt_tokens?: unknown };
      const ct = usage.completion_tokens;
      if (typeof ct === 'number') {
        if (hasChoices) {
          tokens = ct - rec.runningOutputTokens;
          rec.runningOutputTokens = ct;
        } else {
          rec.usageOutputTokens = ct;
        }
      }
      if (typeof usage.prompt_tokens === 'number') rec.promptTokens = usage.prompt_tokens;
    }
    const atMs = this.readNowMs - this.sentAtMs;
    if (this.sh.isChat) {
      rec.lastDataMs = atMs;
      if (hasChoices) rec.choiceMs?.push(atMs);
    }
    if (!hasChoices) return;
    if (this.sh.isChat) {
      // A delta without content (the role-only opening message, a bare finish_reason) is not a
      // token unless usage says tokens were generated (vllm#46652).
      const delta = (choices as Array<{ delta?: { content?: unknown; reasoning_content?: unknown } }>)[0]?.delta;
      const hasContent =
        (typeof delta?.content === 'string' && delta.content.length > 0) ||
        (typeof delta?.reasoning_content === 'string' && delta.reasoning_content.length > 0);
      if (!hasContent && tokens <= 0) return;
    }
    // Completions: every message with choices is a token message, even with empty text (vLLM's rule).
    rec.chunkMs.push(atMs);
    rec.chunkTokens.push(tokens);
    if (this.sh.listener.onTokenChunk !== undefined) this.sh.listener.onTokenChunk(rec);
  }

  fail(cause: ErrorCause, detail: string): void {
    if (this.finished) return;
    // Details quote what the server sent, which may echo the key: redacted whole, then cut.
    const text = oneLine(redact(detail));
    this.finish('failed', cause, text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS - 1)}…` : text);
    this.req?.destroy();
  }

  private finish(status: 'ok' | 'failed', cause: ErrorCause | null, detail: string | null): void {
    this.finished = true;
    if (this.timer !== null) {
      this.timer.clear();
      this.timer = null;
    }
    this.sh.live.delete(this);
    const rec = this.rec;
    rec.status = status;
    rec.errorCause = cause;
    rec.errorDetail = detail;
    rec.doneMs = this.sh.opts.clock.now() - this.t0Ms;
    this.sh.listener.onRequestDone(rec);
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
