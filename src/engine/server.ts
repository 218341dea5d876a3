import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelSpec } from '../core/model-spec.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import { OrbitflowError } from '../core/errors.js';
import { findModel } from '../core/model-catalogue.js';
import { CostModel } from '../cost/cost-model.js';
import type { Profile } from '../core/profile-format.js';
import { WallClock } from './clock.js';
import { eventJson, parsePlacementBody, refusalStatus, PlacementBodyError, stateJson } from './control-protocol.js';
import { EngineCore, ENGINE_DEFAULTS, type EngineConfig } from './engine-core.js';
import {
  ApiError, chatChunk, chatResponse, chatRoleChunk, completionChunk, completionResponse, DONE, errorBody, errorObject, parseRequest,
  tokenText, usage, usageChunk, type ApiKind, type ParsedRequest, type StreamHead,
} from './openai-format.js';
import { EngineMetrics } from './prometheus.js';
import { EngineLoop } from './run-loop.js';
import type { EnginePolicyName, FinishReason, PlacementDriver, StepBreakdown } from './types.js';

export interface EngineServerConfig {
  model: ModelSpec;
  profile: Profile;
  tp?: number;
  /** GPU KV budget: per-layer blocks, or GiB (one of the two). */
  gpuKvBlocks?: number;
  gpuKvGib?: number;
  hostKvGib?: number;
  /** Default `external`: placements come from a controller over the control protocol (dynamic rule until then). */
  policy?: EnginePolicyName;
  maxNumSeqs?: number;
  noiseCv?: number;
  seed?: number;
  stepOverheadMs?: number;
  stalenessSteps?: number;
  /** Simulated time runs this many times faster than wall time. */
  timeScale?: number;
  /** Listen address; default 127.0.0.1 (loopback only). */
  host?: string;
  /** 0 (default) = a free port. */
  port?: number;
  /** Name clients send as `model`; default the model's HF name. */
  servedModelName?: string;
  /** Decides placements for policy `orbitflow` (the feedback controller, in-process). */
  driver?: PlacementDriver;
}

export interface EngineServer {
  url: string;
  host: string;
  port: number;
  core: EngineCore;
  /** Wall-clock timer lag of the steps so far: Σ|actual − planned| and the worst, ms of engine time. */
  drift(): { steps: number; meanMs: number; maxMs: number };
  /**
   * Stop accepting (new requests get 503), give the requests in flight up to `graceMs` (default 0)
   * to finish, then fail the rest explicitly (a stream gets an error event, then [DONE]), and stop
   * the engine loop.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export function budgetBlocksOf(cost: CostModel, c: { gpuKvBlocks?: number; gpuKvGib?: number }): number {
  if (c.gpuKvBlocks !== undefined) return c.gpuKvBlocks;
  if (c.gpuKvGib !== undefined) return cost.budgetBlocksFromGiB(c.gpuKvGib);
  throw new RangeError('a GPU KV budget is required (gpuKvBlocks or gpuKvGib)');
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** An oversized body is read to its end (so the client gets the 413, not a reset) up to this; beyond, the connection is dropped. */
const MAX_DRAIN_BYTES = 256 * 1024 * 1024;

interface Stream {
  res: ServerResponse;
  done: boolean;
}

/**
 * The reference engine behind HTTP: an OpenAI-compatible API (completions and chat, streaming and
 * not, shaped like vLLM's), Prometheus metrics, and the OrbitFlow control protocol. Tokens leave
 * at the engine's step ends on the wall clock. Knows nothing of the CLI: `orbitflow engine` and
 * `replay` (embedded engine) both call this.
 */
export async function startEngineServer(cfg: EngineServerConfig): Promise<EngineServer> {
  const cost = new CostModel(cfg.model, cfg.profile, { tp: cfg.tp, modelLookup: findModel });
  const policy = cfg.policy ?? 'external';
  const budgetBlocks = budgetBlocksOf(cost, cfg);
  const engineCfg: EngineConfig = {
    cost,
    policy,
    budgetBlocks,
    hostBlocks: cfg.hostKvGib !== undefined ? cost.budgetBlocksFromGiB(cfg.hostKvGib) : undefined,
    maxNumSeqs: cfg.maxNumSeqs,
    noiseCv: cfg.noiseCv,
    seed: cfg.seed,
    stepOverheadMs: cfg.stepOverheadMs,
    stalenessSteps: cfg.stalenessSteps,
    modelName: cfg.servedModelName ?? cfg.model.name,
  };
  const core = new EngineCore(engineCfg);
  const clock = new WallClock(cfg.timeScale ?? 1);
  const driver = cfg.driver;
  if (!driver && policy === 'orbitflow') throw new Error("policy 'orbitflow' needs a placement driver (the controller)");
  const loop = new EngineLoop(core, clock, { untilDrained: false, driver });
  const metrics = new EngineMetrics();
  const servedName = engineCfg.modelName!;
  const names = [servedName, cfg.model.id, cfg.model.name];
  const nonce = randomBytes(6).toString('hex');
  let nextId = 0;
  let requestSeq = 0;
  let closing = false;
  const streams = new Set<Stream>();
  const subscribers = new Set<ServerResponse>();
  let driftSum = 0;
  let driftMax = 0;
  let driftSteps = 0;
  let loopError: Error | null = null;
  /** Why requests still in flight are being ended by the engine (shutdown, a stopped loop); null while serving. */
  let endingReason: string | null = null;
  let onDrained: (() => void) | null = null;

  core.onStep((b: StepBreakdown) => {
    metrics.observe(b);
    const lag = b.durationMs - b.plannedMs;
    driftSteps++;
    driftSum += Math.abs(lag);
    if (Math.abs(lag) > driftMax) driftMax = Math.abs(lag);
    if (subscribers.size > 0) {
      const line = `event: step\ndata: ${JSON.stringify(eventJson(b, core.budgetBlocks))}\n\n`;
      for (const s of subscribers) s.write(line);
    }
  });

  const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, message: string, type?: string): void => {
    sendJson(res, status, errorBody(status, message, type ?? (status === 404 ? 'NotFoundError' : status === 409 ? 'Conflict' : status >= 500 ? 'InternalServerError' : 'BadRequestError')));
  };

  const readJson = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      let chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_DRAIN_BYTES) req.destroy();
        else if (size > MAX_BODY_BYTES) chunks = [];
        else chunks.push(c);
      });
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) {
          reject(new ApiError(413, `request body of ${size} bytes is over the ${MAX_BODY_BYTES}-byte limit`));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new ApiError(400, `body is not valid JSON: ${(e as Error).message}`));
        }
      });
      req.on('error', reject);
    });

  const generate = (kind: ApiKind, p: ParsedRequest, res: ServerResponse, clientId: string | null): void => {
    if (loopError) {
      sendError(res, 500, `engine loop stopped: ${loopError.message}`);
      return;
    }
    if (!core.canEverAdmit(p.promptTokens)) {
      sendError(res, 400, `Input prompt (${p.promptTokens} tokens) is too long and exceeds the capacity of the GPU KV budget under policy ${policy}.`);
      return;
    }
    // Like vLLM, a client's X-Request-Id becomes the request id (`cmpl-<id>`), so a controller can
    // key what the client observes (token times, deposits) to what the engine reports.
    const prefix = kind === 'chat' ? 'chatcmpl' : 'cmpl';
    let id = clientId !== null ? `${prefix}-${clientId}` : `${prefix}-${nonce}${(nextId++).toString(16).padStart(8, '0')}`;
    if (core.has(id)) id = `${id}-${nonce}${(nextId++).toString(16)}`;
    const seq = requestSeq++;
    const head: StreamHead = { id, created: Math.floor(Date.now() / 1000), model: servedName };
    const stream: Stream = { res, done: false };
    const texts: string[] = [];
    if (p.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.flushHeaders();
    }
    streams.add(stream);
    const end = (): void => {
      stream.done = true;
      streams.delete(stream);
      core.release(id);
      if (streams.size === 0) onDrained?.();
    };
    core.submit({
      id,
      arrivalMs: clock.now(),
      promptTokens: p.promptTokens,
      outputTokens: p.maxTokens,
      listener: {
        onToken(index: number): void {
          const text = tokenText(seq, index);
          if (!p.stream) {
            texts.push(text);
            return;
          }
          const last = index + 1 >= p.maxTokens ? 'length' : null;
          const u = p.continuousUsage ? usage(p.promptTokens, index + 1) : undefined;
          if (kind === 'chat') {
            if (index === 0) res.write(chatRoleChunk(head, p.continuousUsage ? usage(p.promptTokens, 0) : undefined));
            res.write(chatChunk(head, text, last, u));
          } else res.write(completionChunk(head, text, last, u));
        },
        onFinish(reason: FinishReason, _t: number): void {
          if (stream.done) return;
          end();
          if (reason === 'abort') {
            // The client went away (nothing to tell it), or the engine ends the request: say so, never just stop.
            if (endingReason !== null && !res.writableEnded) {
              if (p.stream) res.end(`data: ${errorBody(503, endingReason, 'ServiceUnavailableError')}\n\n${DONE}`);
              else sendError(res, 503, endingReason, 'ServiceUnavailableError');
            } else if (!res.writableEnded) res.end();
            return;
          }
          if (reason === 'rejected') {
            const msg = `request ${id} was refused: its KV does not fit the GPU budget under policy ${policy}, or the controller found it unservable within its SLO`;
            if (p.stream) res.end(`data: ${errorBody(400, msg, 'BadRequestError')}\n\n${DONE}`);
            else sendError(res, 400, msg);
            return;
          }
          const u = usage(p.promptTokens, p.maxTokens);
          if (p.stream) {
            if (p.includeUsage) res.write(usageChunk(kind, head, u));
            res.end(DONE);
          } else {
            const text = texts.join('');
            sendJson(res, 200, kind === 'chat' ? chatResponse(head, text, 'length', u) : completionResponse(head, text, 'length', u));
          }
        },
      },
    });
    res.on('close', () => {
      // The client went away before the last token: cancel (frees its KV; the listener ends it).
      if (!stream.done) core.cancel(id);
    });
    loop.wake();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (closing) {
      res.setHeader('connection', 'close');
      sendError(res, 503, 'engine is shutting down', 'ServiceUnavailableError');
      return;
    }
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /health':
        if (loopError) {
          sendError(res, 500, `engine loop stopped: ${loopError.message}`);
          return;
        }
        res.writeHead(200, { 'content-length': 0 });
        res.end();
        return;
      case 'GET /v1/models':
        sendJson(res, 200, {
          object: 'list',
          data: [{ id: servedName, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'orbitflow', root: cfg.model.name, parent: null, max_model_len: cfg.model.maxContextTokens, permission: [] }],
        });
        return;
      case 'GET /metrics': {
        const text = metrics.render(core);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case 'GET /orbitflow/v1/state':
        sendJson(res, 200, stateJson(core.snapshot()));
        return;
      case 'GET /orbitflow/v1/events':
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write(`: orbitflow engine events, one per step (step ${core.step})\n\n`);
        subscribers.add(res);
        res.on('close', () => subscribers.delete(res));
        return;
      case 'PUT /orbitflow/v1/placement': {
        let decision;
        try {
          decision = parsePlacementBody(await readJson(req));
        } catch (e) {
          if (e instanceof PlacementBodyError || e instanceof ApiError) sendError(res, e instanceof ApiError ? e.status : 400, e.message);
          else throw e;
          return;
        }
        const result = core.applyDecision(decision, 'control');
        if (result.ok) sendJson(res, 200, { applied_at_step: result.appliedAtStep, step: core.step });
        else {
          const status = refusalStatus(result.code);
          sendJson(res, status, { ...errorObject(status, result.reason, status === 409 ? 'Conflict' : 'BadRequestError'), reason: result.code, step: core.step });
        }
        return;
      }
      case 'POST /v1/completions':
      case 'POST /v1/chat/completions': {
        const kind: ApiKind = path === '/v1/completions' ? 'completions' : 'chat';
        let parsed: ParsedRequest;
        try {
          parsed = parseRequest(kind, await readJson(req), { names, maxModelLen: cfg.model.maxContextTokens });
        } catch (e) {
          if (e instanceof ApiError) sendError(res, e.status, e.message, e.type);
          else throw e;
          return;
        }
        generate(kind, parsed, res, requestIdHeader(req.headers['x-request-id']));
        return;
      }
      default: {
        const known = ['/health', '/v1/models', '/metrics', '/orbitflow/v1/state', '/orbitflow/v1/events', '/orbitflow/v1/placement', '/v1/completions', '/v1/chat/completions'];
        if (known.includes(path)) sendError(res, 405, `method ${method} not allowed on ${path}`, 'MethodNotAllowed');
        else sendError(res, 404, `no route ${path}`);
      }
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, `internal error: ${(e as Error).message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  const host = cfg.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const onListenError = (e: NodeJS.ErrnoException): void => {
      // A port in use or an address that is not this machine's: the user's choice, not a bug.
      const what = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOTFOUND' || e.code === 'EADDRNOTAVAIL' ? 'not an address of this machine' : (e.code ?? e.message);
      reject(new OrbitflowError('OF_ENGINE_LISTEN', `cannot listen on ${host}:${cfg.port ?? 0}: ${what}`, { context: { option: e.code === 'EADDRINUSE' || e.code === 'EACCES' ? '--port' : '--host' } }));
    };
    server.once('error', onListenError);
    server.listen(cfg.port ?? 0, host, () => {
      server.off('error', onListenError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  loop.start().catch((e: unknown) => {
    loopError = e as Error;
    endingReason = `engine loop stopped: ${loopError.message}`;
    for (const r of core.snapshot().requests) core.cancel(r.id);
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    core,
    drift: () => ({ steps: driftSteps, meanMs: driftSteps > 0 ? driftSum / driftSteps : 0, maxMs: driftMax }),
    async close(opts: { graceMs?: number } = {}): Promise<void> {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const graceMs = opts.graceMs ?? 0;
      if (streams.size > 0 && graceMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(graceMs, MAX_TIMER_MS));
          onDrained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        onDrained = null;
      }
      // What is still running is failed explicitly: its listener sends the error event and [DONE].
      endingReason ??= `the engine is shutting down${graceMs > 0 ? ` (the request did not finish within the ${graceMs / 1000} s grace period)` : ''}`;
      for (const r of core.snapshot().requests) core.cancel(r.id);
      for (const s of subscribers) s.end();
      subscribers.clear();
      await loop.stop();
      server.closeAllConnections();
      await closed;
    },
  };
}

export { ENGINE_DEFAULTS };

/** A usable X-Request-Id header value (printable, bounded), else null. */
function requestIdHeader(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s !== undefined && /^[\x21-\x7e]{1,128}$/.test(s) ? s : null;
}
