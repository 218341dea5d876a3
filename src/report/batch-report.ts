import { GIB } from '../core/units.js';
import type { CostModel } from '../cost/cost-model.js';
import { planToText, type PlanReport } from '../planner/plan-format.js';
import type { BatchPlan } from '../planner/types.js';
import { round } from './downsample.js';
import { REPORT_SCHEMA, type BarChart, type HeatMap, type Report, type ReportSection } from './model.js';

/** Heat-map codes: where a request's layer keeps its KV in the plan. */
const PLACEMENT_LEGEND = [
  { label: 'GPU (resident)', color: '#2ca02c' },
  { label: 'host (fetched every step)', color: '#ff7f0e' },
  { label: 'paused (request deferred)', color: '#bbbbbb' },
];

function heatMap(plan: BatchPlan, layers: number): HeatMap {
  const cells: number[] = [];
  for (const p of plan.placements) {
    const off = new Set(p.offloaded);
    for (let l = 0; l < layers; l++) cells.push(p.paused ? 2 : off.has(l) ? 1 : 0);
  }
  return {
    kind: 'heatmap',
    id: `placement-${plan.policy}`,
    title: `${plan.policy}: where each request's KV lives, per layer`,
    xLabel: 'layer',
    yLabel: 'request',
    rows: plan.placements.map((p) => p.id),
    columns: layers,
    cells,
    legend: PLACEMENT_LEGEND,
  };
}

function layerBars(plan: BatchPlan, cost: CostModel): BarChart {
  const active = plan.placements.filter((p) => !p.paused).map((p) => ({ contextTokens: p.contextTokens, placement: { distance: p.distance, offloaded: p.offloaded } }));
  const split = cost.layerSplit(active);
  return {
    kind: 'bar',
    id: `layers-${plan.policy}`,
    title: `${plan.policy}: decode step ${plan.step.totalMs.toFixed(2)} ms (compute ${plan.step.computeMs.toFixed(2)} + stall ${plan.step.stallMs.toFixed(2)} ms), layer by layer`,
    yLabel: 'ms',
    stacked: true,
    categories: Array.from({ length: cost.layers }, (_, l) => String(l)),
    series: [
      { label: 'compute', values: Array.from({ length: cost.layers }, () => round(split.layerComputeMs)) },
      { label: 'stall (waiting on host→GPU copies)', values: Array.from(split.layerStallMs, (x) => round(x)) },
    ],
  };
}

/** The plan --batch report: the terminal summary, the policies' step times side by side, then each policy's placement heat map and per-layer step split. */
export function buildBatchReport(r: PlanReport, cost: CostModel, command: readonly string[]): Report {
  const plans = [r.plan, ...r.baselines];
  const overview: BarChart = {
    kind: 'bar',
    id: 'policy-step',
    title: 'Predicted decode step time per policy (compute + stall)',
    yLabel: 'ms',
    stacked: true,
    categories: plans.map((p) => `${p.policy}${p.overBudget ? ' (over budget)' : ''}`),
    series: [
      { label: 'compute', values: plans.map((p) => round(p.step.computeMs)) },
      { label: 'stall', values: plans.map((p) => round(p.step.stallMs)) },
    ],
  };
  const sections: ReportSection[] = [
    { heading: 'Summary', items: [{ kind: 'text', title: 'As the terminal prints it', text: planToText(r) }, overview] },
  ];
  for (const p of plans) {
    sections.push({
      heading: `Policy ${p.policy}`,
      intro: `${p.violations} of ${p.placements.length} requests predicted to miss their SLO; GPU memory ${p.memoryBlocks} of ${p.budgetBlocks} blocks${p.overBudget ? ' (OVER BUDGET)' : ''}; ${(p.step.bytesMoved / GIB).toFixed(2)} GiB fetched per step; paused: ${p.paused.length === 0 ? 'none' : p.paused.join(', ')}.`,
      items: [heatMap(p, cost.layers), layerBars(p, cost)],
    });
  }
  return {
    schema: REPORT_SCHEMA,
    kind: 'plan-batch',
    title: `orbitflow plan --batch — ${r.model.id}, ${r.requests.length} requests`,
    header: [
      ['Model', `${r.model.id} (${r.model.layers} layers), TP ${r.tp}`],
      ['Profile', r.profile.provenanceLine],
      ['Budget', `${r.budgetBlocks} blocks (${((r.budgetBlocks * r.blockBytes) / GIB).toFixed(2)} GiB), window ${r.windowSteps} steps`],
      ['Solver', `time limit ${r.timeLimitMs} ms, gap tolerance ${r.gapTolerance}, pause policy ${r.pausePolicy}, seed ${r.seed}`],
      ['Command', command.join(' ')],
    ],
    sections,
  };
}
