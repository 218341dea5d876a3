import type { EngineCore } from './engine-core.js';
import type { StepBreakdown } from './types.js';

// Seconds of engine (simulated) time; decode steps are tens of ms, prefills up to seconds.
const STEP_BUCKETS_S = [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10];

/** Step-time histogram and token counters fed by the engine's step listener; rendered as Prometheus text. */
export class EngineMetrics {
  private readonly buckets = new Float64Array(STEP_BUCKETS_S.length);
  private count = 0;
  private sumS = 0;
  generationTokens = 0;

  observe(b: StepBreakdown): void {
    const s = b.durationMs / 1000;
    this.count++;
    this.sumS += s;
    for (let i = 0; i < STEP_BUCKETS_S.length; i++) if (s <= STEP_BUCKETS_S[i]) this.buckets[i]++;
    this.generationTokens += b.batchIds.length;
  }

  render(core: EngineCore): string {
    const label = `model_name="${core.modelName.replace(/["\\\n]/g, '_')}"`;
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${label}} ${value}`);
    };
    const c = core.counters;
    metric('orbitflow:num_requests_running', 'gauge', 'Requests in the running batch.', core.runningCount);
    metric('orbitflow:num_requests_waiting', 'gauge', 'Requests waiting for admission.', core.waitingCount);
    metric('orbitflow:num_requests_paused', 'gauge', 'Requests paused by Pause-Resume (host copy kept, no GPU layers).', core.pausedCount);
    metric('orbitflow:gpu_kv_blocks_used', 'gauge', 'GPU KV per-layer blocks in use.', core.gpuUsed);
    metric('orbitflow:gpu_kv_blocks_total', 'gauge', 'GPU KV budget in per-layer blocks.', core.budgetBlocks);
    metric('orbitflow:host_kv_blocks_used', 'gauge', 'Host KV per-layer blocks in use (write-through copy).', core.hostUsed);
    metric('orbitflow:host_kv_blocks_total', 'gauge', 'Host KV capacity in per-layer blocks.', core.hostBlocksTotal);
    metric('orbitflow:h2d_fetched_bytes_total', 'counter', 'Bytes fetched host to GPU for offloaded layers.', c.bytesFetched);
    metric('orbitflow:h2d_reloaded_bytes_total', 'counter', 'Bytes reloaded host to GPU on placement changes and resumes.', c.bytesReloaded);
    metric('orbitflow:d2h_write_through_bytes_total', 'counter', 'Bytes of new KV written to the host copy.', c.bytesWrittenBack);
    metric('orbitflow:num_preemptions_total', 'counter', 'Recompute preemptions on out-of-memory.', c.preemptions);
    metric('orbitflow:num_pauses_total', 'counter', 'Requests paused.', c.pauses);
    metric('orbitflow:num_placement_fallbacks_total', 'counter', 'Steps where the active plan could not hold growth and the dynamic rule took over.', c.fallbacks);
    metric('orbitflow:generation_tokens_total', 'counter', 'Tokens generated.', this.generationTokens);
    metric('orbitflow:engine_steps_total', 'counter', 'Engine steps (prefill and decode).', c.steps);
    const h = 'orbitflow:step_time_seconds';
    lines.push(`# HELP ${h} Engine step time (engine clock), prefill and decode.`, `# TYPE ${h} histogram`);
    STEP_BUCKETS_S.forEach((le, i) => lines.push(`${h}_bucket{${label},le="${le}"} ${this.buckets[i]}`));
    lines.push(`${h}_bucket{${label},le="+Inf"} ${this.count}`, `${h}_sum{${label}} ${this.sumS}`, `${h}_count{${label}} ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}
