import type { IncomingMessage } from 'node:http';
import type { Endpoint } from '../core/endpoint.js';
import { answerJson, httpCall, httpModule, isRedirect, redirectRefusal, requestOptions } from '../core/http-call.js';
import { SseParser } from '../core/sse-parser.js';
import type { ControlAction, ObservedRequest, WaitingObservation } from './types.js';

/** The parts of `GET /orbitflow/v1/state` the controller reads (docs/control-protocol.md). */
export interface ControlState {
  protocol: string;
  model: string;
  layers: number;
  block_bytes: number;
  step: number;
  time_ms: number;
  staleness_steps: number;
  gpu_blocks: { total: number; used: number; free: number };
  max_num_seqs?: number;
  requests: {
    id: string;
    state: 'running' | 'paused' | 'waiting';
    prompt_tokens: number;
    context_tokens: number;
    generated_tokens: number;
    output_tokens: number;
    placement: { distance: number | null; offloaded_layers: number[] };
    paused: boolean;
    last_token_ms: number | null;
    first_token_ms?: number | null;
    arrival_ms?: number;
  }[];
}

export interface StepEvent {
  step: number;
  kind: 'decode' | 'prefill';
  time_ms: number;
  step_ms: number;
  predicted_ms: number;
  compute_ms: number;
  transfer_ms: number;
  stall_ms: number;
  batch_ids: string[];
  gpu_blocks_used: number;
  gpu_blocks_total: number;
  fallback: boolean;
}

export type PutResult = { ok: true; appliedAtStep: number } | { ok: false; status: number; reason: string; message: string };

const PREFIX = '/orbitflow/v1';

/** Each control call must be over by then: a stalled control plane must never stall the replay. */
export const CONTROL_CALL_TIMEOUT_MS = 3000;

export interface ControlClientOptions {
  /** Sent with every call, as with the OpenAI calls (the API key). */
  headers?: Record<string, string>;
  callTimeoutMs?: number;
}

/**
 * A client of the control protocol on the endpoint (its path prefix kept: `http://h/gw/v1` →
 * `http://h/gw/orbitflow/v1/…`), through the project's one HTTP rule set (src/core/http-call.ts):
 * a deadline on every call, the API key sent, no redirect ever followed. Calls reject with
 * HttpCallError; `kind` says whether it was a timeout, a redirect, …
 */
export class ControlClient {
  private readonly headers: Record<string, string>;
  readonly callTimeoutMs: number;

  constructor(
    private readonly endpoint: Endpoint,
    opts: ControlClientOptions = {},
  ) {
    this.headers = opts.headers ?? {};
    this.callTimeoutMs = opts.callTimeoutMs ?? CONTROL_CALL_TIMEOUT_MS;
  }

  private call(method: string, path: string, signal?: AbortSignal, body?: string, timeoutMs = this.callTimeoutMs) {
    return httpCall(this.endpoint, { method, path: PREFIX + path, headers: this.headers, body, timeoutMs, signal });
  }

  /** The engine speaks the protocol iff its state endpoint answers with the protocol tag. */
  async probe(timeoutMs = 2000): Promise<ControlState | null> {
    try {
      const res = await this.call('GET', '/state', undefined, undefined, timeoutMs);
      if (res.status !== 200) return null;
      const body = answerJson(res) as ControlState | undefined;
      return typeof body?.protocol === 'string' && body.protocol.startsWith('orbitflow.control/') ? body : null;
    } catch {
      return null;
    }
  }

  async state(signal?: AbortSignal): Promise<ControlState> {
    const res = await this.call('GET', '/state', signal);
    const body = answerJson(res) as ControlState | undefined;
    if (res.status !== 200 || body === undefined) throw new Error(`GET ${PREFIX}/state: HTTP ${res.status}`);
    return body;
  }

  async put(action: ControlAction, signal?: AbortSignal): Promise<PutResult> {
    const body = JSON.stringify({
      based_on_step: action.basedOnStep,
      placements: action.placements.map((p) => ({ id: p.id, distance: p.distance })),
      pause: action.pause,
      resume: action.resume,
      admit: action.admit.map((a) => ({ id: a.id, distance: a.distance })),
      reject: action.reject,
      defer: action.defer,
      hold_steps: action.holdSteps,
    });
    const res = await this.call('PUT', '/placement', signal, body);
    const json = (answerJson(res) ?? {}) as { applied_at_step?: number; reason?: string; message?: string; error?: { message?: string } };
    if (res.status === 200) return { ok: true, appliedAtStep: json.applied_at_step ?? -1 };
    return { ok: false, status: res.status, reason: json.reason ?? 'unknown', message: json.error?.message ?? json.message ?? '' };
  }

  /** Subscribe to step events (a long-lived stream: no deadline); returns a function that closes it. */
  events(onEvent: (ev: StepEvent) => void, onClose: (err?: Error) => void): () => void {
    let res: IncomingMessage | null = null;
    const headers = { ...this.headers, accept: 'text/event-stream' };
    const req = httpModule(this.endpoint).request({ ...requestOptions(this.endpoint, `${PREFIX}/events`, 'GET', headers), agent: false }, (r) => {
      res = r;
      if (r.statusCode !== 200) {
        r.resume();
        const s = r.statusCode ?? 0;
        onClose(new Error(`GET ${PREFIX}/events: ${isRedirect(s) ? redirectRefusal(s, r.headers.location) : `HTTP ${s}`}`));
        return;
      }
      const parser = new SseParser({
        onSseData(data: string) {
          try {
            onEvent(JSON.parse(data) as StepEvent);
          } catch {
            // A malformed event is skipped; the next one carries the state forward.
          }
        },
      });
      r.on('data', (chunk: Buffer) => parser.push(chunk));
      r.on('end', () => onClose());
      r.on('error', (e) => onClose(e));
    });
    req.on('error', (e) => onClose(e));
    req.end();
    return () => {
      res?.destroy();
      req.destroy();
    };
  }
}

/**
 * The running and paused requests of a state read. Engine times are moved onto the controller's
 * clock: `nowMs` is that clock's reading for the state's `time_ms`.
 */
export function observedRequests(state: ControlState, nowMs: number = state.time_ms): ObservedRequest[] {
  const shift = nowMs - state.time_ms;
  const out: ObservedRequest[] = [];
  for (const r of state.requests) {
    if (r.state === 'waiting') continue;
    out.push({
      id: r.id,
      contextTokens: r.context_tokens,
      generatedTokens: r.generated_tokens,
      outputTokens: r.output_tokens,
      paused: r.paused,
      distance: r.placement.distance,
      offloaded: r.placement.offloaded_layers,
      ...(r.first_token_ms !== undefined && r.first_token_ms !== null ? { firstTokenMs: r.first_token_ms + shift } : {}),
    });
  }
  return out;
}

/** The waiting requests of a state read, in the engine's admission order, at most `limit`. */
export function observedWaiting(state: ControlState, limit: number, nowMs: number = state.time_ms): WaitingObservation[] {
  const shift = nowMs - state.time_ms;
  const out: WaitingObservation[] = [];
  for (const r of state.requests) {
    if (out.length >= limit) break;
    if (r.state !== 'waiting') continue;
    // A preempted request recomputes what it had generated as well.
    out.push({ id: r.id, prefillTokens: r.prompt_tokens + r.generated_tokens, outputTokens: r.output_tokens, arrivalMs: (r.arrival_ms ?? state.time_ms) + shift });
  }
  return out;
}
