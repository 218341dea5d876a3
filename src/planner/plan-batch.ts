import { OrbitflowError } from '../core/errors.js';
import { placementForDistance, ALL_OFFLOADED } from '../core/placement.js';
import { createRng } from '../core/rng.js';
import { closedFormStep, stepRowValues } from '../cost/step-time.js';
import { NO_CLOCK, searchesAtAll, type SolveLimit } from '../core/solve-limit.js';
import { greedyPlacement, polishAssignment, repairAssignment } from './heuristic.js';
import { solveIlp, stagingLayers } from './ilp.js';
import { lagrangianBound } from './lagrangian-bound.js';
import { buildInstance, compareValues, evaluateAssignment, type AssignmentValue, type Instance } from './instance.js';
import { planMemory, smallestPlacementBlocks } from './memory.js';
import { pickVictim } from './pause.js';
import type { BatchPlan, Certificate, PlanInput, PlanRequest, RequestPlacement, SloTier, SolveWork, SolverStatus } from './types.js';

export const DEFAULT_WINDOW_STEPS = 16;

/** The ILP's limit for this input: `timeLimitMs: 0` always means the heuristic alone. */
export function solveLimitOf(input: PlanInput): SolveLimit {
  if (input.timeLimitMs === 0) return { kind: 'work', lpRounds: 0 };
  return input.solveLimit ?? { kind: 'wall', ms: input.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS };
}

export function emptyWork(): SolveWork {
  return { heuristicRuns: 0, requestLayers: 0, lpSolves: 0, mipSolves: 0, nonzeros: 0, boundTerms: 0 };
}

export function addWork(into: SolveWork, w: SolveWork): void {
  into.heuristicRuns += w.heuristicRuns;
  into.requestLayers += w.requestLayers;
  into.lpSolves += w.lpSolves;
  into.mipSolves += w.mipSolves;
  into.nonzeros += w.nonzeros;
  into.boundTerms += w.boundTerms;
}
export const DEFAULT_TIME_LIMIT_MS = 50;
/**
 * The planner stops searching once its answer is proven within 0.5 % of optimal (the Lagrangian
 * bound usually proves the heuristic's answer there before GLPK is called): the cost model's own
 * error is far larger, and a controller must decide within a decode step.
 */
export const DEFAULT_GAP_TOLERANCE = 5e-3;
/** Relative tolerance on T when deciding ties and violations. */
const T_TOL = 1e-9;

interface Solved {
  work: SolveWork;
  hitSafetyLimit: boolean;
  inst: Instance;
  assign: Int32Array;
  value: AssignmentValue;
  status: SolverStatus;
  boundMs: number;
  solveMs: number;
  heuristicMs: number;
  glpkStatus: number | null;
}

/** The plan is impossible whatever is paused: one request alone does not fit. Exit 2 for `plan`. */
export function infeasibleError(budgetBlocks: number, neededBlocks: number, id: string): OrbitflowError {
  return new OrbitflowError(
    'OF_PLAN_INFEASIBLE',
    `budget ${budgetBlocks} blocks is below the ${neededBlocks} blocks the smallest placement of request ${id} needs`,
    {
      hint: 'the smallest placement offloads every layer and still stages one layer (context + window growth) on the GPU; raise the GPU KV budget or lower --window-steps',
    },
  );
}

/** Layers whose step row T ≥ (L − j)·t_c + D_j is tight at an assignment (seeds the ILP's row generation). */
function tightStepRows(inst: Instance, assign: ArrayLike<number>, stepMs: number): number[] {
  const L = inst.layers;
  const comm = new Float64Array(L);
  for (let r = 0; r < inst.requests.length; r++) for (const l of inst.options[assign[r]].offloaded) comm[l] += inst.requests[r].copyMs;
  const rows = stepRowValues(comm, L, inst.tcMs);
  const out: number[] = [];
  for (let j = 0; j < L; j++) if (rows[j] >= stepMs * (1 - 1e-9)) out.push(j);
  return out;
}

/** Step rows and staging layers where the bound is sought: those binding (or nearly) at the heuristic's answer. */
const BOUND_ROWS = 2;
const BOUND_STAGING_SHARE = 0.95;

/** Sets the Lagrangian bound and says whether it proves the heuristic's answer within `tolerance`. */
function certified(inst: Instance, heur: { assign: Int32Array; value: AssignmentValue }, tolerance: number, setBound: (ms: number) => void, work: SolveWork): boolean {
  const L = inst.layers;
  const comm = new Float64Array(L);
  const stag = new Float64Array(L);
  for (let r = 0; r < inst.requests.length; r++) {
    for (const l of inst.options[heur.assign[r]].offloaded) {
      comm[l] += inst.requests[r].copyMs;
      stag[l] += inst.requests[r].growthBlocks;
    }
  }
  const rowsAt = stepRowValues(comm, L, inst.tcMs);
  const rowValue = Array.from(rowsAt, (v, j) => ({ j, v }));
  rowValue.sort((a, b) => b.v - a.v || a.j - b.j);
  let peak = 0;
  for (let j = 0; j < L; j++) peak = Math.max(peak, stag[j]);
  const layers = stagingLayers(L, inst.options).filter((j) => stag[j] >= BOUND_STAGING_SHARE * peak);
  const enough = heur.value.stepMs * (1 - tolerance);
  const lb = lagrangianBound(inst, rowValue.slice(0, BOUND_ROWS).map((x) => x.j), layers.length > 0 ? layers : stagingLayers(L, inst.options), enough);
  work.boundTerms += lb.terms;
  const bound = Math.min(heur.value.stepMs, lb.boundMs);
  setBound(bound);
  return heur.value.stepMs - bound <= tolerance * heur.value.stepMs;
}

/** Heuristic first, then the ILP under its time limit with the heuristic's T as cutoff; the better answer wins. */
async function solveActive(input: PlanInput, active: readonly PlanRequest[], windowSteps: number, limit: SolveLimit): Promise<Solved> {
  const inst = buildInstance(input.cost, active, input.budgetBlocks, windowSteps, input.defaultSloTpotMs, input.sloMargin);
  const floor = inst.layers * inst.tcMs;
  const clock = input.clockMs ?? NO_CLOCK;
  const work: SolveWork = { ...emptyWork(), heuristicRuns: 1, requestLayers: inst.requests.length * inst.layers };
  let hitSafetyLimit = false;
  const h0 = clock();
  const heur = greedyPlacement(inst);
  const heuristicMs = clock() - h0;
  if (!heur) throw new Error('planner: no placement fits although the smallest one does (internal error)');
  let best = heur;
  let status: SolverStatus = 'heuristic';
  let boundMs = floor;
  let solveMs = 0;
  let glpkStatus: number | null = null;
  const tolerance = input.gapTolerance ?? DEFAULT_GAP_TOLERANCE;
  if (heur.value.bytes === 0 && heur.value.stepMs <= floor * (1 + T_TOL)) {
    // Everything fits on the GPU: T is at the compute floor with nothing moved; nothing can beat it.
    status = 'optimal';
    boundMs = heur.value.stepMs;
  } else if (searchesAtAll(limit) && certified(inst, heur, tolerance, (b) => (boundMs = b), work)) {
    // The Lagrangian bound already proves the heuristic within the tolerance: no GLPK call needed.
    status = boundMs >= heur.value.stepMs * (1 - T_TOL) ? 'optimal' : 'feasible';
  } else if (searchesAtAll(limit)) {
    const ilp = await solveIlp(inst, heur.value.stepMs, limit, {
      clockMs: clock,
      initialRows: tightStepRows(inst, heur.assign, heur.value.stepMs),
      incumbentBytes: heur.value.bytes,
      gapTolerance: tolerance,
      repair: (a) => {
        const fixed = repairAssignment(inst, a);
        return fixed && { assign: fixed.assign, stepMs: fixed.value.stepMs, bytes: fixed.value.bytes };
      },
    });
    solveMs = ilp.solveMs;
    glpkStatus = ilp.glpkStatus;
    boundMs = Math.max(boundMs, ilp.boundMs);
    work.lpSolves = ilp.work.lpSolves;
    work.mipSolves = ilp.work.mipSolves;
    work.nonzeros = ilp.work.nonzeros;
    hitSafetyLimit = ilp.hitSafetyLimit;
    if (ilp.assign) {
      const v = evaluateAssignment(inst, ilp.assign);
      if (v.memoryBlocks <= inst.budgetBlocks) {
        const polished = polishAssignment(inst, ilp.assign);
        if (compareValues(polished.value, best.value, T_TOL) < 0) best = polished;
      }
    }
    if (ilp.proven) status = 'optimal';
    else if (best !== heur) status = 'feasible';
  }
  // The bound is on the same T, so it cannot exceed the answer's; clamp rounding in its arithmetic.
  boundMs = Math.min(boundMs, best.value.stepMs);
  return { inst, assign: best.assign, value: best.value, status, boundMs, solveMs, heuristicMs, glpkStatus, work, hitSafetyLimit };
}

function violatesAt(stepMs: number, thetaMs: number): boolean {
  return stepMs > thetaMs * (1 + T_TOL);
}

/**
 * A paused request decodes nothing for the window (W steps of T ms), so it meets its SLO only if
 * its deposit covers the W·T/S tokens the client expects meanwhile.
 */
export function pausedViolates(r: PlanRequest, sloMs: number | undefined, stepMs: number, windowSteps: number): boolean {
  if (sloMs === undefined) return false;
  return (r.depositTokens ?? 0) < (windowSteps * stepMs) / sloMs;
}

/** What Pause-Resume minimises: violating requests, counting every pause as one unless its deposit covers the window. */
function pauseScore(s: Solved, paused: readonly PlanRequest[], input: PlanInput, windowSteps: number): number {
  let v = 0;
  for (const q of s.inst.requests) if (violatesAt(s.value.stepMs, q.thetaMs)) v++;
  for (const p of paused) {
    const slo = p.sloTpotMs ?? input.defaultSloTpotMs;
    if (slo === undefined || pausedViolates(p, slo, s.value.stepMs, windowSteps)) v++;
  }
  return v;
}

function bindingRows(s: Solved): string[] {
  const { inst, value } = s;
  const rows: string[] = [];
  let minG = Infinity;
  for (const q of inst.requests) minG = Math.min(minG, q.growthBlocks);
  // No request could keep one more layer on the GPU.
  if (inst.budgetBlocks - value.memoryBlocks < minG) rows.push('memory');
  if (value.worstLayer < 0) {
    rows.push('compute-floor');
  } else {
    const tight = tightStepRows(inst, s.assign, value.stepMs);
    for (const j of tight.slice(0, 4)) rows.push(`step-layer-${j}`);
    if (tight.length > 4) rows.push(`+${tight.length - 4} more step rows`);
  }
  return rows;
}

function sloTier(s: Solved): SloTier | null {
  let theta = Infinity;
  for (const q of s.inst.requests) {
    if (Number.isFinite(q.thetaMs) && !violatesAt(s.value.stepMs, q.thetaMs) && q.thetaMs < theta) theta = q.thetaMs;
  }
  if (!Number.isFinite(theta)) return null;
  let n = 0;
  for (const q of s.inst.requests) if (q.thetaMs === theta) n++;
  return { thetaMs: theta, slackMs: theta - s.value.stepMs, requests: n };
}

function assemble(input: PlanInput, s: Solved, active: readonly PlanRequest[], paused: readonly PlanRequest[], windowSteps: number, keptForReload = 0): BatchPlan {
  const { cost } = input;
  const L = cost.layers;
  const inst = s.inst;
  const items = active.map((r, i) => ({ contextTokens: r.contextTokens, placement: placementForDistance(L, inst.options[s.assign[i]].distance) }));
  const step = cost.stepTime(items);
  const mem = planMemory(L, items, windowSteps);
  const byId = new Map<string, RequestPlacement>();
  active.forEach((r, i) => {
    const q = inst.requests[i];
    const o = inst.options[s.assign[i]];
    byId.set(r.id, {
      id: r.id,
      contextTokens: r.contextTokens,
      distance: o.distance,
      offloaded: [...o.offloaded],
      gpuBlocks: mem.perRequest[i],
      paused: false,
      violates: violatesAt(step.totalMs, q.thetaMs),
      thetaMs: Number.isFinite(q.thetaMs) ? q.thetaMs : null,
    });
  });
  const all = placementForDistance(L, ALL_OFFLOADED).offloaded;
  for (const r of paused) {
    byId.set(r.id, {
      id: r.id,
      contextTokens: r.contextTokens,
      distance: ALL_OFFLOADED,
      offloaded: [...all],
      gpuBlocks: 0,
      paused: true,
      violates: pausedViolates(r, r.sloTpotMs ?? input.defaultSloTpotMs, step.totalMs, windowSteps),
      thetaMs: null,
    });
  }
  const placements = input.requests.map((r) => byId.get(r.id)!);
  const T = step.totalMs;
  const bound = Math.min(s.boundMs, T);
  const certificate: Certificate = {
    status: s.status,
    objectiveMs: T,
    bestBoundMs: bound,
    gap: T > 0 ? Math.max(0, (T - bound) / T) : 0,
    solveMs: s.solveMs,
    heuristicMs: s.heuristicMs,
    binding: bindingRows(s),
    sloTier: sloTier(s),
    glpkStatus: s.glpkStatus,
    work: s.work,
    ...(s.hitSafetyLimit ? { hitSafetyLimit: true } : {}),
    ...(keptForReload > 0 ? { keptForReload } : {}),
  };
  return {
    policy: 'orbitflow',
    placements,
    paused: paused.map((r) => r.id),
    step,
    memoryBlocks: mem.totalBlocks,
    budgetBlocks: input.budgetBlocks,
    violations: placements.filter((p) => p.violates).length,
    certificate,
    stagingBlocks: mem.stagingBlocks,
    overBudget: mem.totalBlocks > input.budgetBlocks,
    windowSteps,
  };
}

function emptyPlan(input: PlanInput, windowSteps: number): BatchPlan {
  const step = input.cost.stepTime([]);
  return {
    policy: 'orbitflow',
    placements: [],
    paused: [],
    step,
    memoryBlocks: 0,
    budgetBlocks: input.budgetBlocks,
    violations: 0,
    certificate: { status: 'optimal', objectiveMs: 0, bestBoundMs: 0, gap: 0, solveMs: 0, heuristicMs: 0, binding: [], sloTier: null, glpkStatus: null, work: emptyWork() },
    stagingBlocks: 0,
    overBudget: false,
    windowSteps,
  };
}

/**
 * Plan one decode batch: per-request placements minimising (SLO violations, step time, bytes moved)
 * under the GPU KV budget, with Pause-Resume when nothing fits or when pausing lowers the
 * predicted violations. Violations depend on the shared step time T alone and grow with it, so
 * minimising T minimises them exactly.
 *
 * Pause-Resume: (1) while even "all offloaded" for every active request exceeds the budget, pause
 * a victim by the pause policy (requests marked noPause only as a last resort); (2) when requests
 * have SLOs and the plan still violates some, pause one more victim at a time as long as that
 * strictly lowers the count of violating requests, where a paused request counts as violating
 * unless its deposit covers the window. The last request is never paused: if one request alone
 * cannot fit, this throws OF_PLAN_INFEASIBLE (exit 2).
 */
export async function planBatch(input: PlanInput): Promise<BatchPlan> {
  const windowSteps = input.windowSteps ?? DEFAULT_WINDOW_STEPS;
  if (!Number.isInteger(windowSteps) || windowSteps < 1) throw new RangeError(`windowSteps must be a positive integer, got ${windowSteps}`);
  const limit = solveLimitOf(input);
  const noSearch: SolveLimit = { kind: 'work', lpRounds: 0 };
  const total: SolveWork = emptyWork();
  let safety = false;
  const solve = async (rs: readonly PlanRequest[], l: SolveLimit): Promise<Solved> => {
    const out = await solveActive(input, rs, windowSteps, l);
    addWork(total, out.work);
    safety ||= out.hitSafetyLimit;
    return out;
  };
  const policy = input.pausePolicy ?? 'longest';
  const rng = createRng(input.seed ?? 0);
  if (input.requests.length === 0) return emptyPlan(input, windowSteps);
  const ids = new Set(input.requests.map((r) => r.id));
  if (ids.size !== input.requests.length) throw new RangeError('planBatch: request ids must be unique');

  let worst = input.requests[0];
  for (const r of input.requests) if (r.contextTokens > worst.contextTokens) worst = r;
  const worstNeed = smallestPlacementBlocks(worst.contextTokens, windowSteps);
  if (worstNeed > input.budgetBlocks) throw infeasibleError(input.budgetBlocks, worstNeed, worst.id);

  let active = [...input.requests];
  const paused: PlanRequest[] = [];
  const pauseOne = (): boolean => {
    if (active.length <= 1) return false;
    const pool = active.filter((r) => !r.noPause);
    if (pool.length === 0) return false;
    const v = pool[pickVictim(policy, pool.map((r) => ({ ...r, sloTpotMs: r.sloTpotMs ?? input.defaultSloTpotMs })), rng)];
    active = active.filter((r) => r !== v);
    paused.push(v);
    return true;
  };

  const minimal = (rs: readonly PlanRequest[]): number => rs.reduce((s, r) => s + smallestPlacementBlocks(r.contextTokens, windowSteps), 0);
  while (minimal(active) > input.budgetBlocks) {
    if (!pauseOne()) {
      // Only noPause requests are left to pause: memory wins over the flag.
      const v = active.reduce((a, b) => (b.contextTokens > a.contextTokens ? b : a));
      active = active.filter((r) => r !== v);
      paused.push(v);
    }
  }

  let solved = await solve(active, limit);
  const hasSlo = input.defaultSloTpotMs !== undefined || input.requests.some((r) => r.sloTpotMs !== undefined);
  if (hasSlo && input.pauseForSlo !== false) {
    // Trial pauses are judged on the heuristic alone (it is never far from the ILP, and a batch
    // with many violators would otherwise pay the ILP's time limit once per victim); the kept
    // configuration gets the full solve at the end.
    let score = pauseScore(solved, paused, input, windowSteps);
    let changed = false;
    while (score > 0 && active.length > 1) {
      const before = { active, pausedLen: paused.length };
      if (!pauseOne()) break;
      const trial = await solve(active, noSearch);
      const trialScore = pauseScore(trial, paused, input, windowSteps);
      if (trialScore < score) {
        solved = trial;
        score = trialScore;
        changed = true;
      } else {
        active = before.active;
        paused.length = before.pausedLen;
        break;
      }
    }
    if (changed) solved = await solve(active, limit);
  }
  const keptForReload = keepWhereMovingDoesNotPay(solved, active);
  solved.work = total;
  solved.hitSafetyLimit = safety;
  return assemble(input, solved, active, paused, windowSteps, keptForReload);
}

/** Per-layer copy time of an assignment, where request r's step fetches `layersOf(r)`. */
function stepMsOf(inst: Instance, offloadedOf: (r: number) => Uint8Array): number {
  const L = inst.layers;
  const comm = new Float64Array(L);
  for (let r = 0; r < inst.requests.length; r++) {
    const ind = offloadedOf(r);
    const tau = inst.requests[r].copyMs;
    for (let j = 0; j < L; j++) if (ind[j]) comm[j] += tau;
  }
  return closedFormStep(comm, L, inst.tcMs).stepMs;
}

/**
 * What a plan costs over the window: the first step fetches, for each request, the union of its
 * current and new offloaded layers (a layer made resident again is fetched once more, then kept);
 * the other W − 1 steps run the new placement. Ranked by predicted violations, then by the mean
 * step time over the window.
 */
function windowCost(inst: Instance, assign: ArrayLike<number>, current: readonly (Uint8Array | null)[]): { violations: number; meanMs: number; value: AssignmentValue } {
  const value = evaluateAssignment(inst, assign);
  const union = (r: number): Uint8Array => {
    const now = inst.options[assign[r]].ind;
    const cur = current[r];
    if (!cur) return now;
    const u = new Uint8Array(inst.layers);
    for (let j = 0; j < inst.layers; j++) u[j] = now[j] | cur[j];
    return u;
  };
  const first = current.some((c, r) => c !== null && assign[r] !== -1) ? stepMsOf(inst, union) : value.stepMs;
  const W = inst.windowSteps;
  let violations = 0;
  for (const q of inst.requests) violations += (violatesAt(first, q.thetaMs) ? 1 : 0) + (W - 1) * (violatesAt(value.stepMs, q.thetaMs) ? 1 : 0);
  return { violations, meanMs: value.stepMs + (first - value.stepMs) / W, value };
}

/**
 * The solvers minimise the steady step time; a re-plan also pays for its first step, which
 * fetches the layers being made resident again as well. Each request moved to fewer offloaded
 * layers is tried back on its current option, largest first: the revert is kept when the plan
 * still fits and its window cost (violations, then mean step time over the window) is no worse.
 * Returns how many requests were kept.
 */
function keepWhereMovingDoesNotPay(s: Solved, active: readonly PlanRequest[]): number {
  const inst = s.inst;
  const currentIdx = active.map((r) => (r.currentDistance === undefined ? -1 : inst.options.findIndex((o) => o.distance === r.currentDistance)));
  if (currentIdx.every((k) => k < 0)) return 0;
  const current = currentIdx.map((k) => (k < 0 ? null : inst.options[k].ind));
  const assign = Int32Array.from(s.assign);
  let best = windowCost(inst, assign, current);
  // Moved back toward the GPU (fewer offloaded layers than now), most layers moved first.
  const movedBack = active
    .map((_, r) => r)
    .filter((r) => currentIdx[r] >= 0 && inst.options[assign[r]].n < inst.options[currentIdx[r]].n)
    .sort((a, b) => inst.options[currentIdx[b]].n - inst.options[assign[b]].n - (inst.options[currentIdx[a]].n - inst.options[assign[a]].n) || a - b);
  let kept = 0;
  for (const r of movedBack) {
    const was = assign[r];
    assign[r] = currentIdx[r];
    const c = windowCost(inst, assign, current);
    if (c.value.memoryBlocks <= inst.budgetBlocks && (c.violations < best.violations || (c.violations === best.violations && c.meanMs <= best.meanMs * (1 + 1e-9)))) {
      best = c;
      kept++;
    } else {
      assign[r] = was;
    }
  }
  if (kept > 0) {
    s.assign = assign;
    s.value = best.value;
    // The answer no longer minimises T alone: claim no more than a feasible plan.
    if (s.status === 'optimal') s.status = 'feasible';
  }
  return kept;
}
