import GLPK from 'glpk.js/node';
import type { GLPK as Glpk, LP } from 'glpk.js/node';
import { stepRowValues } from '../cost/step-time.js';
import { NO_CLOCK, WORK_SAFETY_MS, type MonotonicMs, type SolveLimit } from '../core/solve-limit.js';
import { GIB } from '../core/units.js';
import { compareValues, evaluateAssignment, type Instance, type InstanceOption } from './instance.js';

// One wasm instance per process, created on first use: a cold instantiation costs 5–15× a warm solve.
let glpkPromise: Promise<Glpk> | null = null;
export function glpk(): Promise<Glpk> {
  glpkPromise ??= GLPK();
  return glpkPromise;
}

const GLP_LO = 2;
const GLP_UP = 3;
const GLP_DB = 4;
const GLP_FX = 5;
const GLP_MIN = 1;
export const GLP_FEAS = 2;
export const GLP_OPT = 5;

/**
 * Bytes break ties in two ways. While T is being minimised, a weight on bytes totalling at most
 * 1e-6·L·t_c nudges GLPK toward the lighter of equal-T plans at a cost in T far below the model's
 * precision. GLPK's tolerances can ignore a term that small, so once T is proven, a second MIP
 * (the lexicographic phase) minimises bytes alone under T ≤ T*·(1 + 1e-9) with the time left.
 */
export const BYTES_WEIGHT_REL = 1e-6;
/** Step rows added per round of row generation. */
const ROWS_PER_ROUND = 4;

export interface IlpOutcome {
  /** GLPK status of the last solve: 5 optimal, 2 feasible (time limit), 1 undefined (no incumbent), 4 no feasible. */
  glpkStatus: number;
  /**
   * True when the best of the heuristic's plan (at the cutoff) and this stage's plans is proven
   * optimal: the bound meets it, or GLPK's MIP optimum violated no step row.
   */
  proven: boolean;
  /** Option index per request of the best plan the ILP found (by the exact closed form), if any. */
  assign: Int32Array | null;
  /** Valid lower bound on the step time T over every plan that fits, ms. */
  boundMs: number;
  solveMs: number;
  /** Of solveMs: building models, MIP solves, and the LP relaxation for the bound. */
  phasesMs: { build: number; mip: number; lp: number };
  /** Rounds of row generation (MIP solves). */
  rounds: number;
  /** GLPK calls made, and the nonzeros of their models summed (the work a solve did, for the latency model). */
  work: { lpSolves: number; mipSolves: number; nonzeros: number };
  /** A GLPK call stopped at its safety time limit under a work limit: this solve is not reproducible. */
  hitSafetyLimit: boolean;
  /** Size of the last model. */
  size: { binaries: number; rows: number; nonzeros: number; stepRows: number; stagingRows: number };
}

export interface Model {
  lp: LP;
  /** Column name → [request, option]. */
  cols: Map<string, [number, number]>;
  tieWeightMax: number;
  nonzeros: number;
}

const stagingRowCache = new Map<string, number[]>();

/**
 * Layers whose staging row is not implied by another's. Layer j's row sums g_r over the options
 * that offload j; if another layer is offloaded by a superset of those options, its row dominates
 * (all coefficients are ≥ 0). With the distance rule few layers survive: 4 of 32, 13 of 80.
 */
export function stagingLayers(layers: number, options: readonly InstanceOption[]): number[] {
  const key = `${layers}:${options.map((o) => o.distance).join(',')}`;
  const hit = stagingRowCache.get(key);
  if (hit) return hit;
  const sets = Array.from({ length: layers }, (_, j) => options.map((o, k) => (o.ind[j] ? k : -1)).filter((k) => k >= 0));
  const keep: number[] = [];
  for (let j = 0; j < layers; j++) {
    const p = new Set(sets[j]);
    let dominated = false;
    for (let i = 0; i < layers && !dominated; i++) {
      if (i === j) continue;
      const q = new Set(sets[i]);
      // Equal sets: keep the lower index only.
      if ([...p].every((k) => q.has(k)) && (q.size > p.size || i < j)) dominated = true;
    }
    if (!dominated && p.size > 0) keep.push(j);
  }
  stagingRowCache.set(key, keep);
  return keep;
}

/**
 * The compact model over one binary x[r,k] per request × option:
 *
 *   Σ_k x[r,k] = 1                                             ∀r        (a_r)
 *   T − Σ τ_r·cnt_k(j)·x[r,k] ≥ (L − j)·t_c                     j ∈ J     (t_j: the closed form)
 *   S − Σ g_r·[j off under k]·x[r,k] ≥ 0                         j ∈ Jₛ    (s_j: staging)
 *   Σ (L − n_k)·g_r·x[r,k] + S ≤ budget                                    (mem)
 *   L·t_c ≤ T ≤ cutoff                                                     (the heuristic's T)
 *
 * minimising T + a tiny bytes weight, with cnt_k(j) the layers ≤ j option k offloads, J a subset
 * of the step rows (row generation) and Jₛ the staging layers not dominated by another. Options
 * that alone exceed the budget or the cutoff are left out. With every step row in J this is
 * exactly min T of CostModel.stepTime; with fewer it is a relaxation, so its optimum is a bound.
 */
export function buildModel(inst: Instance, cutoffMs: number, stepRows: readonly number[], objectiveKind: 'time' | 'bytes' = 'time'): Model | null {
  const L = inst.layers;
  const tc = inst.tcMs;
  const O = inst.options;
  let gScale = 1;
  let bytesMax = 0;
  for (const q of inst.requests) {
    if (q.growthBlocks > gScale) gScale = q.growthBlocks;
    bytesMax += L * q.layerBytes;
  }
  const tieWeightMax = BYTES_WEIGHT_REL * L * tc;
  const eps = bytesMax > 0 ? tieWeightMax / bytesMax : 0;
  const cnt = O.map((o) => {
    const c = new Int32Array(L);
    let s = 0;
    for (let j = 0; j < L; j++) {
      s += o.ind[j];
      c[j] = s;
    }
    return c;
  });
  const stagRows = stagingLayers(L, O);
  const stepCnt = O.map((_, k) => Float64Array.from(stepRows, (j) => cnt[k][j]));
  const stagInd = O.map((o) => Uint8Array.from(stagRows, (j) => o.ind[j]));
  // 'bytes': the second, lexicographic phase: fewest bytes among plans with T ≤ cutoff (in GiB so coefficients stay O(L)).
  const objective: { name: string; coef: number }[] = objectiveKind === 'time' ? [{ name: 'T', coef: 1 }] : [];
  const rows: LP['subjectTo'] = [];
  const stepVars: { name: string; coef: number }[][] = stepRows.map(() => [{ name: 'T', coef: 1 }]);
  const stagVars: { name: string; coef: number }[][] = stagRows.map(() => [{ name: 'S', coef: 1 }]);
  // Staging and memory rows are scaled by the largest request so coefficients stay O(L).
  const memVars: { name: string; coef: number }[] = [{ name: 'S', coef: 1 }];
  const binaries: string[] = [];
  const cols = new Map<string, [number, number]>();
  let nonzeros = 0;
  for (let r = 0; r < inst.requests.length; r++) {
    const q = inst.requests[r];
    const row: { name: string; coef: number }[] = [];
    for (let k = 0; k < O.length; k++) {
      const o = O[k];
      const memAlone = (L - o.n) * q.growthBlocks + (o.n > 0 ? q.growthBlocks : 0);
      if (memAlone > inst.budgetBlocks) continue;
      // T ≥ (L − j)·t_c + τ_r·cnt_k(j) for every j; its maximum sits at an offloaded layer (the i-th, 1-based).
      let lb = 0;
      const off = o.offloaded;
      for (let i = 0; i < off.length; i++) {
        const v = q.copyMs * (i + 1) - off[i] * tc;
        if (v > lb) lb = v;
      }
      if (L * tc + lb > cutoffMs) continue;
      const name = `x${r}_${k}`;
      cols.set(name, [r, k]);
      binaries.push(name);
      row.push({ name, coef: 1 });
      nonzeros++;
      if (o.n > 0 && objectiveKind === 'bytes') objective.push({ name, coef: (o.n * q.layerBytes) / GIB });
      else if (o.n > 0 && eps > 0) objective.push({ name, coef: eps * o.n * q.layerBytes });
      if (o.n < L) {
        memVars.push({ name, coef: ((L - o.n) * q.growthBlocks) / gScale });
        nonzeros++;
      }
      const sc = stepCnt[k];
      for (let i = 0; i < sc.length; i++) {
        if (sc[i] > 0) {
          stepVars[i].push({ name, coef: -q.copyMs * sc[i] });
          nonzeros++;
        }
      }
      const si = stagInd[k];
      const gCoef = -q.growthBlocks / gScale;
      for (let i = 0; i < si.length; i++) {
        if (si[i]) {
          stagVars[i].push({ name, coef: gCoef });
          nonzeros++;
        }
      }
    }
    if (row.length === 0) return null;
    rows.push({ name: `a${r}`, vars: row, bnds: { type: GLP_FX, lb: 1, ub: 1 } });
  }
  stepRows.forEach((j, i) => rows.push({ name: `t${j}`, vars: stepVars[i], bnds: { type: GLP_LO, lb: (L - j) * tc, ub: 0 } }));
  stagRows.forEach((j, i) => rows.push({ name: `s${j}`, vars: stagVars[i], bnds: { type: GLP_LO, lb: 0, ub: 0 } }));
  rows.push({ name: 'mem', vars: memVars, bnds: { type: GLP_UP, lb: 0, ub: inst.budgetBlocks / gScale } });
  const lp: LP = {
    name: 'orbitflow',
    objective: { direction: GLP_MIN, name: 'z', vars: objective },
    subjectTo: rows,
    bounds: [{ name: 'T', type: GLP_DB, lb: L * tc, ub: cutoffMs }],
    binaries,
  };
  return { lp, cols, tieWeightMax, nonzeros };
}

function readAssignment(model: Model, vars: Record<string, number>, n: number): Int32Array | null {
  const assign = new Int32Array(n).fill(-1);
  for (const [name, [r, k]] of model.cols) {
    if ((vars[name] ?? 0) > 0.5) {
      if (assign[r] !== -1) return null;
      assign[r] = k;
    }
  }
  return assign.every((k) => k >= 0) ? assign : null;
}

/** Per-layer copy ms of a (possibly fractional) solution: comm[j] = Σ x[r,k]·τ_r·[j off under k]. */
function commOf(inst: Instance, model: Model, vars: Record<string, number>): Float64Array {
  const comm = new Float64Array(inst.layers);
  for (const [name, [r, k]] of model.cols) {
    const x = vars[name] ?? 0;
    if (x <= 1e-12) continue;
    const t = x * inst.requests[r].copyMs;
    for (const l of inst.options[k].offloaded) comm[l] += t;
  }
  return comm;
}

/** Step rows not yet in the model that a solution violates beyond the model's T, worst first. */
function violatedRows(inst: Instance, comm: Float64Array, modelT: number, have: ReadonlySet<number>): number[] {
  const L = inst.layers;
  const rows = stepRowValues(comm, L, inst.tcMs);
  const out: { j: number; v: number }[] = [];
  for (let j = 0; j < L; j++) if (!have.has(j) && rows[j] > modelT * (1 + 1e-9) + 1e-9) out.push({ j, v: rows[j] });
  return out.sort((a, b) => b.v - a.v).map((o) => o.j);
}

/** Round an LP solution: each request takes its largest fractional option. */
function roundLp(model: Model, vars: Record<string, number>, n: number): Int32Array {
  const assign = new Int32Array(n).fill(-1);
  const best = new Float64Array(n).fill(-1);
  for (const [name, [r, k]] of model.cols) {
    const x = vars[name] ?? 0;
    // Ties go to the more offloaded option, which is the one more likely to fit.
    if (x > best[r] + 1e-9 || (Math.abs(x - best[r]) <= 1e-9 && k > assign[r])) {
      best[r] = x;
      assign[r] = k;
    }
  }
  return assign;
}

/** The hook that turns a rounded LP point into a plan that fits (the heuristic's repair + polish). */
export type Repair = (assign: Int32Array) => { assign: Int32Array; stepMs: number; bytes: number } | null;

/**
 * The ILP stage, under one time limit:
 *
 * 1. LP relaxation of the compact model, with step rows generated lazily (start from the last
 *    layer's row and the rows tight at the heuristic's answer; add the rows the LP point violates).
 *    Every model is a relaxation of the full one, so its LP optimum is a valid bound on T.
 * 2. The LP point rounded (largest option per request), repaired to fit and polished: with one
 *    assignment row per request, a basic LP solution leaves few requests fractional, so this is
 *    usually within a hair of the bound.
 * 3. The MIP itself with the remaining time, cut off at the best T so far (glpk.js has no warm
 *    start), again with row generation: its solutions are real plans (true T from the closed
 *    form), and an optimum that violates no step row is proven optimal. Skipped when the gap is
 *    already within `gapTolerance`.
 * 4. Once T is proven: fewest bytes moved among plans at that T, with the time left.
 */
export async function solveIlp(
  inst: Instance,
  cutoffMs: number,
  limit: SolveLimit,
  opts: {
    /** Measures the phases; under a wall limit, also the deadline. */
    clockMs?: MonotonicMs;
    initialRows?: readonly number[];
    repair?: Repair;
    skipMip?: boolean;
    /** Bytes of the plan at the cutoff (the heuristic's). */
    incumbentBytes?: number;
    /** Skip the MIP once (best T − bound) / best T is at most this (default 0: only a proof stops it). */
    gapTolerance?: number;
  } = {},
): Promise<IlpOutcome> {
  const solver = await glpk();
  const clock = opts.clockMs ?? NO_CLOCK;
  const now = clock;
  const t0 = now();
  const deadline = limit.kind === 'wall' ? t0 + limit.ms : Infinity;
  const work = { lpSolves: 0, mipSolves: 0, nonzeros: 0 };
  let hitSafetyLimit = false;
  /** Seconds GLPK may take for the next call. */
  const glpkLimitS = (floorMs = 1): number => (limit.kind === 'wall' ? Math.max(floorMs, deadline - now()) : WORK_SAFETY_MS) / 1000;
  /** Another MIP round may start: time left on the wall; never under a work limit. */
  const mayContinue = (): boolean => limit.kind === 'wall' && now() < deadline;
  const lpRounds = limit.kind === 'work' ? Math.min(3, limit.lpRounds) : 3;
  const timed = (solved: { time: number }): void => {
    if (limit.kind === 'work' && solved.time * 1000 >= WORK_SAFETY_MS * 0.99) hitSafetyLimit = true;
  };
  const L = inst.layers;
  const n = inst.requests.length;
  const floor = L * inst.tcMs;
  const rows = new Set<number>([L - 1, ...(opts.initialRows ?? [])]);
  const phases = { build: 0, mip: 0, lp: 0 };
  // The LP relaxation of a model (its binaries relaxed), timed and counted as work.
  const relaxation = (model: Model) => {
    const l0 = now();
    const lp = solver.solve({ ...model.lp, binaries: [] }, { msglev: 0, presol: false, tmlim: limit.kind === 'wall' ? Math.max(limit.ms, 1000) / 1000 : WORK_SAFETY_MS / 1000 });
    phases.lp += now() - l0;
    work.lpSolves++;
    work.nonzeros += model.nonzeros;
    timed(lp);
    return lp;
  };
  let best: { assign: Int32Array; stepMs: number; bytes: number } | null = null;
  const offer = (assign: Int32Array, stepMs: number, bytes: number): void => {
    if (!best || compareValues({ stepMs, bytes }, best) < 0) best = { assign, stepMs, bytes };
  };
  let boundMs = floor;
  let proven = false;
  let status = 1;
  let rounds = 0;
  let size = { binaries: 0, rows: 0, nonzeros: 0, stepRows: 0, stagingRows: stagingLayers(L, inst.options).length };
  // A hair above the heuristic's T so its own solution stays feasible through GLPK's tolerances.
  let cutoff = cutoffMs * (1 + 1e-7) + 1e-9;
  const tieSlack = (t: number): number => BYTES_WEIGHT_REL * floor + 1e-9 * t;
  // The last model built and the step rows it has: reused (with a tighter T bound) while no row is added.
  let last: { model: Model; rows: number } | null = null;
  const build = (): Model | null => {
    if (last && last.rows === rows.size) {
      const lp: LP = { ...last.model.lp, bounds: [{ name: 'T', type: GLP_DB, lb: floor, ub: cutoff }] };
      return { ...last.model, lp };
    }
    const b0 = now();
    const stepRows = [...rows].sort((a, b) => a - b);
    const m = buildModel(inst, cutoff, stepRows);
    phases.build += now() - b0;
    if (m) {
      size = { binaries: m.lp.binaries?.length ?? 0, rows: m.lp.subjectTo.length, nonzeros: m.nonzeros, stepRows: stepRows.length, stagingRows: size.stagingRows };
      last = { model: m, rows: rows.size };
    }
    return m;
  };

  // 1–2: LP relaxation with row generation, and its rounding.
  for (let lpRound = 0; lpRound < lpRounds; lpRound++) {
    const roundStart = now();
    const model = build();
    if (!model) return { glpkStatus: 4, proven: false, assign: null, boundMs: floor, solveMs: now() - t0, phasesMs: phases, rounds, size, work, hitSafetyLimit };
    const lp = relaxation(model);
    if (lp.result.status !== GLP_OPT) break;
    boundMs = Math.max(boundMs, Math.min(cutoff, lp.result.z - model.tieWeightMax));
    if (opts.repair) {
      const fixed = opts.repair(roundLp(model, lp.result.vars, n));
      if (fixed) offer(fixed.assign, fixed.stepMs, fixed.bytes);
    }
    const missing = violatedRows(inst, commOf(inst, model, lp.result.vars), lp.result.vars.T ?? 0, rows);
    // Another round rebuilds and re-solves from scratch (glpk.js has no warm start) and GLPK's
    // LP cannot be interrupted: start one only if a round as long as the last one still fits.
    const tNow = now();
    // Under a work limit, the LP rounds are bounded by the loop alone (3).
    if (missing.length === 0 || tNow + (tNow - roundStart) > deadline) break;
    for (const j of missing.slice(0, ROWS_PER_ROUND)) rows.add(j);
  }
  const current = best as { stepMs: number } | null;
  const incumbentMs = Math.min(cutoffMs, current ? current.stepMs : Infinity);
  cutoff = incumbentMs * (1 + 1e-7) + 1e-9;
  // The bound meets the best plan (the heuristic's or the rounded one) up to the bytes tie-break
  // weight it was discounted by: nothing left to prove.
  if (boundMs >= incumbentMs - tieSlack(incumbentMs)) proven = true;
  const closeEnough = (incumbentMs - boundMs) / incumbentMs <= (opts.gapTolerance ?? 0);

  // 3: the MIP with what is left of the time limit.
  /** One MIP solve of a model, timed and counted. GLPK stops at `mipgap` with status 2 (feasible), never 5, so a bound is only taken from a real optimum. */
  const solveMip = (model: { lp: Parameters<typeof solver.solve>[0]; nonzeros: number }): ReturnType<typeof solver.solve> => {
    const m0 = now();
    const res = solver.solve(model.lp, { msglev: 0, presol: true, tmlim: glpkLimitS(), mipgap: opts.gapTolerance ?? 0 });
    phases.mip += now() - m0;
    rounds++;
    work.mipSolves++;
    work.nonzeros += model.nonzeros;
    timed(res);
    return res;
  };
  while (!proven && !closeEnough && !opts.skipMip && mayContinue()) {
    const model = build();
    if (!model) {
      status = 4;
      break;
    }
    const res = solveMip(model);
    status = res.result.status;
    if (status !== GLP_OPT && status !== GLP_FEAS) break;
    const assign = readAssignment(model, res.result.vars, n);
    if (!assign) break;
    const v = evaluateAssignment(inst, assign);
    if (v.memoryBlocks <= inst.budgetBlocks) offer(assign, v.stepMs, v.bytes);
    if (status !== GLP_OPT) break;
    // Any plan either has T > cutoff, or T + tie ≥ z* with tie ≤ tieWeightMax (the model is a relaxation).
    boundMs = Math.max(boundMs, Math.min(cutoff, res.result.z - model.tieWeightMax));
    const missing = violatedRows(inst, commOf(inst, model, res.result.vars), res.result.vars.T ?? 0, rows);
    if (missing.length === 0) {
      proven = true;
      break;
    }
    for (const j of missing.slice(0, ROWS_PER_ROUND)) rows.add(j);
  }
  // 4: fewest bytes at the best T (lexicographic second objective), with what time is left. Its
  // answers must still meet the best T under every step row, so rows are generated here too.
  const incumbent = best as { stepMs: number; bytes: number } | null;
  const tStar = Math.min(cutoffMs, incumbent ? incumbent.stepMs : Infinity);
  const bytesNow = incumbent && incumbent.stepMs <= cutoffMs ? incumbent.bytes : (opts.incumbentBytes ?? Infinity);
  const cap = tStar * (1 + 1e-9);
  let bytesBoundChecked = false;
  while (proven && !opts.skipMip && bytesNow > 0 && mayContinue()) {
    const b0 = now();
    const model = buildModel(inst, cap, [...rows].sort((a, b) => a - b), 'bytes');
    phases.build += now() - b0;
    if (!model) break;
    if (!bytesBoundChecked) {
      // The bytes LP relaxation bounds the bytes any plan at this T can move: stop when the plan in
      // hand is already within the gap tolerance of it.
      bytesBoundChecked = true;
      const lp = relaxation(model);
      if (lp.result.status === GLP_OPT && bytesNow <= lp.result.z * GIB * (1 + (opts.gapTolerance ?? 0)) + 1) break;
      if (!mayContinue()) break;
    }
    const res = solveMip(model);
    if (res.result.status !== GLP_OPT && res.result.status !== GLP_FEAS) break;
    const assign = readAssignment(model, res.result.vars, n);
    if (!assign) break;
    const v = evaluateAssignment(inst, assign);
    if (v.memoryBlocks <= inst.budgetBlocks && v.stepMs <= cap) offer(assign, v.stepMs, v.bytes);
    const missing = violatedRows(inst, commOf(inst, model, res.result.vars), cap, rows);
    if (res.result.status !== GLP_OPT || missing.length === 0) break;
    for (const j of missing.slice(0, ROWS_PER_ROUND)) rows.add(j);
  }
  const found = best as { assign: Int32Array } | null;
  return {
    glpkStatus: status,
    proven,
    assign: found ? found.assign : null,
    boundMs,
    solveMs: now() - t0,
    phasesMs: phases,
    rounds,
    size,
    work,
    hitSafetyLimit,
  };
}
