import { request as httpRequest, type IncomingMessage } from 'node:http';
import { SseParser } from '../core/sse-parser.js';
import type { ControlAction, ObservedRequest } from './types.js';

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
  requests: {
    id: string;
    state: 'running' | 'paused' | 'waiting';
    context_tokens: number;
    generated_tokens: number;
    output_tokens: number;
    placement: { distance: number | null; offloaded_layers: number[] };
    paused: boolean;
    last_token_ms: number | null;
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

/** A client of the control protocol over one keep-alive connection per call type. */
export class ControlClient {
  private readonly base: URL;

  constructor(endpoint: string) {
    this.base = new URL(endpoint);
  }

  private url(path: string): URL {
    return new URL(PREFIX + path, this.base);
  }

  /** The engine speaks the protocol iff its state endpoint answers with the protocol tag. */
  async probe(timeoutMs = 2000): Promise<ControlState | null> {
    try {
      const res = await fetch(this.url('/state'), { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return null;
      const body = (await res.json()) as ControlState;
      return typeof body.protocol === 'string' && body.protocol.startsWith('orbitflow.control/') ? body : null;
    } catch {
      return null;
    }
  }

  async state(): Promise<ControlState> {
    const res = await fetch(this.url('/state'));
    if (!res.ok) throw new Error(`GET ${PREFIX}/state: HTTP ${res.status}`);
    return (await res.json()) as ControlState;
  }

  async put(action: ControlAction): Promise<PutResult> {
    const body = JSON.stringify({
      based_on_step: action.basedOnStep,
      placements: action.placements.map((p) => ({ id: p.id, distance: p.distance })),
      pause: action.pause,
      resume: action.resume,
    });
    const res = await fetch(this.url('/placement'), { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json().catch(() => ({}))) as { applied_at_step?: number; reason?: string; message?: string; error?: { message?: string } };
    if (res.status === 200) return { ok: true, appliedAtStep: json.applied_at_step ?? -1 };
    return { ok: false, status: res.status, reason: json.reason ?? 'unknown', message: json.error?.message ?? json.message ?? '' };
  }

  /** Subscribe to step events; returns a function that closes the stream. */
  events(onEvent: (ev: StepEvent) => void, onClose: (err?: Error) => void): () => void {
    let res: IncomingMessage | null = null;
    const req = httpRequest(this.url('/events'), { headers: { accept: 'text/event-stream' } }, (r) => {
      res = r;
      if (r.statusCode !== 200) {
        r.resume();
        onClose(new Error(`GET ${PREFIX}/events: HTTP ${r.statusCode}`));
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

export function observedRequests(state: ControlState): ObservedRequest[] {
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
    });
  }
  return out;
}
