import type { DecisionRefusal, EngineSnapshot, PlacementDecision, PlacementSpec, StepBreakdown } from './types.js';

/**
 * The control protocol's wire format (docs/control-protocol.md): snake_case JSON for the state,
 * the per-step events and the placement body. The engine's own types stay camelCase.
 */
export const CONTROL_PROTOCOL = 'orbitflow.control/v1';

export function stateJson(s: EngineSnapshot): Record<string, unknown> {
  return {
    protocol: CONTROL_PROTOCOL,
    model: s.model,
    policy: s.policy,
    layers: s.layers,
    block_tokens: s.blockTokens,
    block_bytes: s.blockBytes,
    step: s.step,
    time_ms: s.timeMs,
    max_num_seqs: s.maxNumSeqs,
    staleness_steps: s.stalenessSteps,
    gpu_blocks: s.gpuBlocks,
    host_blocks: s.hostBlocks,
    staging_blocks: s.stagingBlocks,
    requests: s.requests.map((r) => ({
      id: r.id,
      state: r.state,
      prompt_tokens: r.promptTokens,
      context_tokens: r.contextTokens,
      generated_tokens: r.generatedTokens,
      output_tokens: r.outputTokens,
      placement: { distance: r.distance, offloaded_layers: r.offloadedLayers },
      gpu_layers: r.gpuLayers,
      gpu_blocks: r.gpuBlocks,
      paused: r.paused,
      last_token_ms: r.lastTokenMs,
      first_token_ms: r.firstTokenMs,
      arrival_ms: r.arrivalMs,
      preemptions: r.preemptions,
    })),
    last_step: s.lastStep ? eventJson(s.lastStep, s.gpuBlocks.total) : null,
    counters: {
      steps: s.counters.steps,
      decode_steps: s.counters.decodeSteps,
      prefill_steps: s.counters.prefillSteps,
      preemptions: s.counters.preemptions,
      pauses: s.counters.pauses,
      resumes: s.counters.resumes,
      fallbacks: s.counters.fallbacks,
      decisions_applied: s.counters.decisionsApplied,
      decisions_rejected: s.counters.decisionsRejected,
      bytes_fetched: s.counters.bytesFetched,
      bytes_reloaded: s.counters.bytesReloaded,
      bytes_written_back: s.counters.bytesWrittenBack,
      finished: s.counters.finished,
      aborted: s.counters.aborted,
      rejected: s.counters.rejected,
    },
  };
}

export function eventJson(b: StepBreakdown, gpuBlocksTotal: number): Record<string, unknown> {
  return {
    step: b.step,
    kind: b.kind,
    start_ms: b.startMs,
    time_ms: b.endMs,
    step_ms: b.durationMs,
    planned_ms: b.plannedMs,
    predicted_ms: b.predictedMs,
    compute_ms: b.computeMs,
    transfer_ms: b.transferMs,
    stall_ms: b.stallMs,
    reload_ms: b.reloadMs,
    write_through_ms: b.writeThroughMs,
    overhead_ms: b.overheadMs,
    noise_factor: b.noiseFactor,
    bytes_fetched: b.bytesFetched,
    bytes_reloaded: b.bytesReloaded,
    batch_size: b.batchIds.length,
    batch_ids: b.batchIds,
    gpu_blocks_used: b.gpuBlocksUsed,
    gpu_blocks_total: gpuBlocksTotal,
    fallback: b.fallback,
    preempted: b.preempted,
  };
}

export class PlacementBodyError extends Error {}

/** HTTP status of a refused decision: a malformed plan is the client's error (400); the rest conflict with the engine's state (409). */
export function refusalStatus(code: DecisionRefusal): 400 | 409 {
  return code === 'invalid' ? 400 : 409;
}

function placementSpecs(raw: unknown, field: string): PlacementSpec[] {
  const list = raw ?? [];
  if (!Array.isArray(list)) throw new PlacementBodyError(`${field} must be an array`);
  return list.map((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new PlacementBodyError(`${field}[${i}] must be an object`);
    const q = p as Record<string, unknown>;
    if (typeof q.id !== 'string') throw new PlacementBodyError(`${field}[${i}].id must be a string`);
    const hasD = q.distance !== undefined && q.distance !== null;
    const hasL = q.layers !== undefined && q.layers !== null;
    if (hasD === hasL) throw new PlacementBodyError(`${field}[${i}] needs exactly one of distance or layers`);
    if (hasD) {
      if (!Number.isInteger(q.distance)) throw new PlacementBodyError(`${field}[${i}].distance must be an integer`);
      return { id: q.id, distance: q.distance as number };
    }
    if (!Array.isArray(q.layers) || !q.layers.every((l) => Number.isInteger(l))) throw new PlacementBodyError(`${field}[${i}].layers must be an array of integer layer indices`);
    return { id: q.id, layers: q.layers as number[] };
  });
}

function idList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new PlacementBodyError(`${field} must be an array of request ids`);
  return v as string[];
}

/** Parse `PUT /orbitflow/v1/placement`; throws PlacementBodyError (→ 400) on a malformed body. */
export function parsePlacementBody(raw: unknown): PlacementDecision {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PlacementBodyError('body must be a JSON object');
  const o = raw as Record<string, unknown>;
  if (!Number.isInteger(o.based_on_step) || (o.based_on_step as number) < 0) throw new PlacementBodyError('based_on_step must be an integer ≥ 0');
  const placements = placementSpecs(o.placements, 'placements');
  const admit = o.admit === undefined ? undefined : placementSpecs(o.admit, 'admit');
  if (o.hold_steps !== undefined && !(Number.isInteger(o.hold_steps) && (o.hold_steps as number) >= 0)) throw new PlacementBodyError('hold_steps must be an integer ≥ 0');
  for (const k of Object.keys(o)) {
    if (!['based_on_step', 'placements', 'pause', 'resume', 'admit', 'reject', 'defer', 'hold_steps'].includes(k)) throw new PlacementBodyError(`unknown field '${k}'`);
  }
  return {
    basedOnStep: o.based_on_step as number,
    placements,
    pause: idList(o.pause, 'pause'),
    resume: idList(o.resume, 'resume'),
    ...(o.reject !== undefined ? { reject: idList(o.reject, 'reject') } : {}),
    ...(o.defer !== undefined ? { defer: idList(o.defer, 'defer') } : {}),
    ...(admit !== undefined ? { admit } : {}),
    ...(o.hold_steps !== undefined ? { holdSteps: o.hold_steps as number } : {}),
  };
}
