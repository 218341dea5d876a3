import type { TraceRequest } from '../core/trace-request.js';
import { VirtualClock } from './clock.js';
import { EngineCore, type EngineConfig } from './engine-core.js';
import { EngineLoop } from './run-loop.js';
import type { DriverStats, EngineCounters, FinishReason, PlacementDriver, StepBreakdown, TimelineEntry } from './types.js';

export interface RunRequestRecord {
  id: string;
  arrivalMs: number;
  inputTokens: number;
  expectedTokens: number;
  decodedTokens: number;
  /** Emission time of each decoded token, ms from the trace's start. */
  tokenTimesMs: Float64Array;
  firstScheduledMs: number | null;
  finishedMs: number | null;
  finishReason: FinishReason | null;
  preemptions: number;
}

export interface VirtualRunResult {
  policy: string;
  requests: RunRequestRecord[];
  counters: EngineCounters;
  /** Engine time of the last finished request, ms. */
  makespanMs: number;
  /** Mean over steps of used / budget GPU blocks. */
  meanGpuKvUse: number;
  timeline: TimelineEntry[];
  driver: DriverStats | null;
}

export interface VirtualRunOptions {
  driver?: PlacementDriver;
  /** Called after every step with the engine (tests assert invariants here). */
  onStep?: (b: StepBreakdown, core: EngineCore) => void;
}

/**
 * Run a trace through the engine on the virtual clock: no HTTP, no timers, as fast as the CPU
 * allows. Requests are submitted by arrival time (ties keep trace order).
 */
export async function runVirtual(trace: readonly TraceRequest[], cfg: EngineConfig, opts: VirtualRunOptions = {}): Promise<VirtualRunResult> {
  const core = new EngineCore(cfg);
  const order = trace.map((_, i) => i).sort((a, b) => trace[a].arrivalS - trace[b].arrivalS || a - b);
  const ids = new Set<string>();
  const engineReqs = order.map((i) => {
    const t = trace[i];
    let id = t.id;
    if (ids.has(id)) id = `${t.id}#${t.index}`;
    ids.add(id);
    return core.submit({ id, arrivalMs: t.arrivalS * 1000, promptTokens: t.inputTokens, outputTokens: t.outputTokens, sloTpotMs: t.slo?.tpotMs });
  });
  if (opts.onStep) {
    const fn = opts.onStep;
    core.onStep((b) => fn(b, core));
  }
  await new EngineLoop(core, new VirtualClock(), { untilDrained: true, driver: opts.driver }).start();
  let makespanMs = 0;
  const requests: RunRequestRecord[] = engineReqs.map((r, k) => {
    if (r.phase === 'finished' && r.finishedMs > makespanMs && r.finishReason === 'length') makespanMs = r.finishedMs;
    return {
      id: r.id,
      arrivalMs: r.arrivalMs,
      inputTokens: r.promptTokens,
      expectedTokens: trace[order[k]].outputTokens,
      decodedTokens: r.generated,
      tokenTimesMs: r.tokenTimesMs.subarray(0, r.generated),
      firstScheduledMs: Number.isNaN(r.firstScheduledMs) ? null : r.firstScheduledMs,
      finishedMs: Number.isNaN(r.finishedMs) ? null : r.finishedMs,
      finishReason: r.finishReason,
      preemptions: r.preemptions,
    };
  });
  return {
    policy: cfg.policy,
    requests,
    counters: { ...core.counters },
    makespanMs,
    meanGpuKvUse: core.counters.steps > 0 ? core.gpuUseSum / core.counters.steps : 0,
    timeline: core.timeline,
    driver: opts.driver?.stats?.() ?? null,
  };
}
