import type { Endpoint } from '../core/endpoint.js';
import type { ModelSpec } from '../core/model-spec.js';
import { Controller } from '../controller/controller.js';
import { ControlClient } from '../controller/http-adapter.js';
import { LiveControlLoop } from '../controller/live-loop.js';
import { controllerConfig } from '../controller/variants.js';
import { createWorkerSolver } from '../controller/worker-solver.js';
import { controllerRunReport, type ControllerOn } from '../controller/run-report.js';
import type { Profile } from '../core/profile-format.js';
import { percentile } from '../core/stats.js';
import type { RequestRecord } from '../replay/request-record.js';
import type { ReplayHooks } from '../replay/run-replay.js';
import type { TraceRequest } from '../core/trace-request.js';

export interface AttachOptions {
  endpoint: Endpoint;
  /** Sent with every control call, as with the OpenAI calls (the API key). */
  headers: Record<string, string>;
  api: 'completions' | 'chat';
  model: ModelSpec;
  profile: Profile;
  tp: number;
  requests: readonly TraceRequest[];
  /** The run's per-token SLO (ms) when a request has none of its own. */
  sloMs?: number;
  windowSteps?: number;
  timeLimitMs?: number;
  pausePolicy?: string;
  seed: number;
  onError: (e: Error) => void;
  /** The control plane stalled (or redirects): the controller is off for the rest of the run. Called once. */
  onOff: (reason: string) => void;
}

export interface AttachedController {
  loop: LiveControlLoop;
  /** One line for the live view and progress lines. */
  liveLine(): string;
  hooks: Pick<ReplayHooks, 'onTokenChunk' | 'onRequestEvent'>;
  /** Stop the loop; with the run's records, also report predicted vs measured TPOT per request. */
  stop(records?: readonly RequestRecord[]): Promise<ControllerOn>;
}

/**
 * The replay client sends `x-request-id: orbitflow-<index>`; an engine that, like vLLM, names the
 * request `cmpl-<x-request-id>` reports it under this id. The controller keys the deposits it
 * builds from the client's token times by it, so the planner gets each request's own balance.
 */
export function engineRequestId(api: 'completions' | 'chat', index: number): string {
  return `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-orbitflow-${index}`;
}

/** Attach the feedback controller when the endpoint speaks the control protocol; null otherwise. */
export async function attachController(o: AttachOptions): Promise<AttachedController | null> {
  const state = await new ControlClient(o.endpoint, { headers: o.headers }).probe();
  if (state === null) return null;
  const byId = new Map<string, number | undefined>();
  for (const r of o.requests) byId.set(engineRequestId(o.api, r.index), r.slo?.tpotMs ?? r.slo?.tbtMs ?? o.sloMs);
  const setup = { model: o.model, profile: o.profile, tp: o.tp };
  const solver = createWorkerSolver(setup);
  const wallMs = (): number => performance.now();
  const controller = new Controller(
    {
      ...controllerConfig('orbitflow', {
        ...setup,
        budgetBlocks: state.gpu_blocks.total,
        sloFor: (id) => (byId.has(id) ? byId.get(id) : o.sloMs),
        windowSteps: o.windowSteps,
        timeLimitMs: o.timeLimitMs,
        pausePolicy: o.pausePolicy,
        seed: o.seed,
      }),
      // Live, a solve races the engine: its limit and its latency are wall-clock time.
      solveLimit: 'wall',
      solverLatency: { mode: 'measured' },
    },
    solver,
    wallMs,
  );
  const loop = new LiveControlLoop(o.endpoint, controller, o.onError, wallMs, { headers: o.headers, onOff: o.onOff });
  loop.start();
  const startedMs = performance.now();
  const tokensSeen = new Map<number, number>();
  return {
    loop,
    liveLine() {
      const s = controller.summary();
      const k = s.calibration;
      return `controller: ${s.plansApplied} plans applied · last trigger ${s.lastTrigger ?? '-'} · solve p50/p99 ${s.solveMs.p50.toFixed(1)}/${s.solveMs.p99.toFixed(1)} ms · paused ${s.pausedNow} · step predicted ${k.meanPredictedStepMs.toFixed(1)} vs measured ${k.meanMeasuredStepMs.toFixed(1)} ms`;
    },
    hooks: {
      onTokenChunk(rec: RequestRecord) {
        const n = rec.chunkTokens.length > 0 ? rec.chunkTokens[rec.chunkTokens.length - 1] : 0;
        if (n <= 0) return;
        tokensSeen.set(rec.index, (tokensSeen.get(rec.index) ?? 0) + n);
        controller.onTokens(engineRequestId(o.api, rec.index), performance.now(), n);
      },
      onRequestEvent(type, rec) {
        if (type === 'done') controller.onFinished(engineRequestId(o.api, rec.index));
      },
    },
    async stop(records?: readonly RequestRecord[]) {
      await loop.stop();
      const before: number[] = [];
      const after: number[] = [];
      for (const rec of records ?? []) {
        const n = rec.chunkMs.length;
        if (n < 2 || rec.status !== 'ok') continue;
        const tokens = rec.usageOutputTokens ?? rec.runningOutputTokens;
        if (tokens < 2) continue;
        const measured = (rec.chunkMs[n - 1] - rec.chunkMs[0]) / (tokens - 1);
        const p = controller.predictedTpot(engineRequestId(o.api, rec.index));
        if (!p || measured <= 0) continue;
        before.push(Math.abs(p.beforeMs - measured) / measured);
        after.push(Math.abs(p.afterMs - measured) / measured);
      }
      const dist = (xs: number[]) => ({ median: percentile(xs, 50), p95: percentile(xs, 95) });
      await solver.close?.();
      return controllerRunReport(
        controller.summary(),
        controller.actions,
        {
          endpointBudgetBlocks: state.gpu_blocks.total,
          staleRejections: loop.staleRejections,
          turnedOff: loop.turnedOff === null ? null : { reason: loop.turnedOff.reason, afterS: (loop.turnedOff.atMs - startedMs) / 1000 },
          callTimeouts: loop.callTimeouts,
          callErrors: loop.putErrors + loop.stateErrors,
          eventsSeen: loop.eventsSeen,
          startedMs,
        },
        { requests: before.length, before: dist(before), after: dist(after) },
      );
    },
  };
}
