import type { ModelSpec } from '../core/model-spec.js';
import { GIB } from '../core/units.js';
import type { StepCost } from '../cost/cost-model.js';
import type { BatchPlan, PlanRequest, RequestPlacement } from './types.js';

export const PLAN_SCHEMA = 'orbitflow.plan/v1';

export type SloSource = 'none' | '--tpot-slo-ms' | '--slo-scale' | 'batch file';

/** Everything one `plan` run reports; the JSON and the text summary are two views of it. */
export interface PlanReport {
  created: string;
  tool: string;
  model: ModelSpec;
  tp: number;
  /** Bytes of one per-layer block per TP rank. */
  blockBytes: number;
  profile: { id: string; file: string; sha256: string; kind: string; provenanceLine: string };
  budgetBlocks: number;
  windowSteps: number;
  timeLimitMs: number;
  gapTolerance: number;
  pausePolicy: string;
  seed: number;
  slo: { source: SloSource; tpotMs: number | null; scale: number | null; baseMs: number | null };
  requests: readonly PlanRequest[];
  policy: string;
  plan: BatchPlan;
  /** Every baseline's result, with --policy all; empty otherwise. */
  baselines: BatchPlan[];
}

const gib = (blocks: number, blockBytes: number): number => (blocks * blockBytes) / GIB;

function stepJson(s: StepCost): Record<string, number> {
  return {
    total_ms: s.totalMs,
    compute_ms: s.computeMs,
    stall_ms: s.stallMs,
    transfer_ms: s.transferMs,
    bytes_moved: s.bytesMoved,
    layer_compute_ms: s.layerComputeMs,
  };
}

function placementJson(p: RequestPlacement, blockBytes: number): Record<string, unknown> {
  return {
    id: p.id,
    context_tokens: p.contextTokens,
    distance: p.distance,
    offloaded_count: p.offloaded.length,
    offloaded_layers: p.offloaded,
    gpu_blocks: p.gpuBlocks,
    gpu_gib: gib(p.gpuBlocks, blockBytes),
    paused: p.paused,
    violates: p.violates,
    theta_ms: p.thetaMs ?? null,
  };
}

/** A uniform policy's distance, or null when requests differ. */
function sharedDistance(plan: BatchPlan): number | null {
  const ds = new Set(plan.placements.filter((p) => !p.paused).map((p) => p.distance));
  return ds.size === 1 ? [...ds][0] : null;
}

function baselineJson(b: BatchPlan, blockBytes: number): Record<string, unknown> {
  return {
    policy: b.policy,
    distance: sharedDistance(b),
    step: stepJson(b.step),
    memory_blocks: b.memoryBlocks,
    memory_gib: gib(b.memoryBlocks, blockBytes),
    over_budget: Boolean(b.overBudget),
    violations: b.violations,
    bytes_moved: b.step.bytesMoved,
  };
}

/** The `orbitflow.plan/v1` object (snake_case keys; docs/formats.md § Plan v1). */
export function planToJson(r: PlanReport): Record<string, unknown> {
  const p = r.plan;
  const c = p.certificate;
  return {
    schema: PLAN_SCHEMA,
    created: r.created,
    tool: r.tool,
    inputs: {
      model: { id: r.model.id, name: r.model.name, layers: r.model.layers, kv_heads: r.model.kvHeads, head_dim: r.model.headDim, source: r.model.source },
      tp: r.tp,
      block_bytes: r.blockBytes,
      profile: { id: r.profile.id, file: r.profile.file, sha256: r.profile.sha256, provenance_kind: r.profile.kind, provenance: r.profile.provenanceLine },
      budget_blocks: r.budgetBlocks,
      budget_gib: gib(r.budgetBlocks, r.blockBytes),
      window_steps: r.windowSteps,
      time_limit_ms: r.timeLimitMs,
      gap_tolerance: r.gapTolerance,
      pause_policy: r.pausePolicy,
      seed: r.seed,
      slo: { source: r.slo.source, tpot_ms: r.slo.tpotMs, scale: r.slo.scale, base_ms: r.slo.baseMs },
      requests: r.requests.map((q) => ({ id: q.id, context_tokens: q.contextTokens, slo_tpot_ms: q.sloTpotMs ?? null, deposit_tokens: q.depositTokens ?? 0 })),
    },
    policy: r.policy,
    plan: {
      placements: p.placements.map((x) => placementJson(x, r.blockBytes)),
      paused: p.paused,
      step: stepJson(p.step),
      memory_blocks: p.memoryBlocks,
      staging_blocks: p.stagingBlocks ?? null,
      memory_gib: gib(p.memoryBlocks, r.blockBytes),
      over_budget: Boolean(p.overBudget),
      violations: p.violations,
      certificate: {
        status: c.status,
        objective_ms: c.objectiveMs,
        best_bound_ms: c.bestBoundMs,
        gap: c.gap,
        solve_ms: c.solveMs,
        heuristic_ms: c.heuristicMs,
        binding: c.binding,
        slo_tier: c.sloTier ? { theta_ms: c.sloTier.thetaMs, slack_ms: c.sloTier.slackMs, requests: c.sloTier.requests } : null,
        glpk_status: c.glpkStatus ?? null,
      },
    },
    baselines: r.baselines.map((b) => baselineJson(b, r.blockBytes)),
  };
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function table(head: string[], rows: string[][], rightCols: ReadonlySet<number>): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => pad(c, w[i], rightCols.has(i))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** "3,7,…,31" for a long list, the whole list when short. */
function layerList(layers: readonly number[]): string {
  if (layers.length === 0) return '-';
  if (layers.length <= 4) return layers.join(',');
  return `${layers[0]},${layers[1]},…,${layers[layers.length - 1]}`;
}

function distanceLabel(d: number | null): string {
  if (d === null) return 'mixed';
  if (d === -1) return 'all GPU';
  if (d === 0) return 'all off';
  return `d=${d}`;
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

/** The terminal summary: provenance line on top, then placements, step split, memory, certificate, baselines. */
export function planToText(r: PlanReport): string {
  const p = r.plan;
  const c = p.certificate;
  const out: string[] = [];
  out.push(r.profile.provenanceLine);
  out.push(
    `plan ${r.model.id} (${r.model.layers} layers, TP ${r.tp}) · budget ${r.budgetBlocks} blocks (${gib(r.budgetBlocks, r.blockBytes).toFixed(2)} GiB) · window ${r.windowSteps} steps · ${r.requests.length} requests · policy ${r.policy}`,
  );
  const slo =
    r.slo.source === 'none'
      ? 'SLO: none (no violations to count)'
      : r.slo.source === '--slo-scale'
        ? `SLO: TPOT ${ms(r.slo.tpotMs ?? 0)} = ${r.slo.scale} × all-on-GPU step ${ms(r.slo.baseMs ?? 0)} at the budget's token capacity`
        : r.slo.source === '--tpot-slo-ms'
          ? `SLO: TPOT ${ms(r.slo.tpotMs ?? 0)} for requests without their own`
          : 'SLO: per request, from the batch file';
  out.push(slo);
  out.push('');
  const rows = p.placements.map((x) => [
    x.id,
    String(x.contextTokens),
    x.paused ? 'paused' : distanceLabel(x.distance),
    x.paused ? '-' : `${x.offloaded.length} (${layerList(x.offloaded)})`,
    gib(x.gpuBlocks, r.blockBytes).toFixed(3),
    x.thetaMs === null || x.thetaMs === undefined ? '-' : x.thetaMs.toFixed(1),
    x.violates ? 'YES' : 'no',
  ]);
  out.push(...table(['request', 'context', 'placement', 'offloaded layers', 'GPU GiB', 'θ ms', 'violates'], rows, new Set([1, 4, 5])));
  out.push('');
  out.push(`paused     ${p.paused.length === 0 ? 'none' : p.paused.join(', ')}`);
  out.push(
    `step       ${ms(p.step.totalMs)} = compute ${ms(p.step.computeMs)} + stall ${ms(p.step.stallMs)}  (copies ${ms(p.step.transferMs)}, ${(p.step.bytesMoved / GIB).toFixed(2)} GiB moved per step)`,
  );
  out.push(
    `memory     ${p.memoryBlocks} / ${p.budgetBlocks} blocks (${gib(p.memoryBlocks, r.blockBytes).toFixed(2)} / ${gib(p.budgetBlocks, r.blockBytes).toFixed(2)} GiB), staging ${p.stagingBlocks ?? 0} blocks, headroom for ${r.windowSteps} tokens per request`,
  );
  out.push(`violations ${p.violations} of ${r.requests.length} requests predicted to miss their TPOT SLO`);
  out.push(
    `solver     ${c.status} · objective ${ms(c.objectiveMs)} · bound ${ms(c.bestBoundMs)} · gap ${(c.gap * 100).toFixed(2)}% · ILP ${ms(c.solveMs)} · heuristic ${ms(c.heuristicMs)}`,
  );
  out.push(`binding    ${c.binding.length === 0 ? 'none' : c.binding.join(', ')}`);
  if (c.sloTier) out.push(`SLO tier   θ = ${ms(c.sloTier.thetaMs)} (${c.sloTier.requests} request${c.sloTier.requests === 1 ? '' : 's'}), slack ${ms(c.sloTier.slackMs)}`);
  if (r.baselines.length > 0) {
    out.push('');
    out.push('policies on the same cost model and memory accounting:');
    const all = [p, ...r.baselines];
    const brows = all.map((b) => [
      b.policy,
      distanceLabel(sharedDistance(b)),
      b.step.totalMs.toFixed(2),
      b.step.stallMs.toFixed(2),
      String(b.violations),
      (b.step.bytesMoved / GIB).toFixed(2),
      String(b.memoryBlocks),
      b.overBudget ? 'OVER BUDGET' : 'fits',
    ]);
    out.push(...table(['policy', 'distance', 'step ms', 'stall ms', 'violations', 'GiB moved', 'memory blocks', 'budget'], brows, new Set([2, 3, 4, 5, 6])));
  }
  return `${out.join('\n')}\n`;
}
