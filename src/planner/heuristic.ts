import { closedFormStep } from '../cost/step-time.js';
import { compareValues, evaluateAssignment, type AssignmentValue, type Instance } from './instance.js';

export interface HeuristicResult {
  /** Option index per request (into inst.options). */
  assign: Int32Array;
  value: AssignmentValue;
}

const REL_TOL = 1e-9;
/** How many levels ahead a greedy move may jump: a request's first offload can free nothing when its layer lands on the staging peak. */
const LOOKAHEAD_LEVELS = 2;
const MAX_POLISH_PASSES = 3;

/** Flat typed copies of an instance, built once per instance and shared by every search. */
interface Prepared {
  L: number;
  N: number;
  O: number;
  tc: number;
  ind: Uint8Array;
  nOf: Int32Array;
  g: Float64Array;
  tau: Float64Array;
  layerBytes: Float64Array;
  jtc: Float64Array;
}

const prepared = new WeakMap<Instance, Prepared>();

function prepare(inst: Instance): Prepared {
  const hit = prepared.get(inst);
  if (hit) return hit;
  const L = inst.layers;
  const N = inst.requests.length;
  const O = inst.options.length;
  const p: Prepared = {
    L,
    N,
    O,
    tc: inst.tcMs,
    ind: new Uint8Array(O * L),
    nOf: new Int32Array(O),
    g: new Float64Array(N),
    tau: new Float64Array(N),
    layerBytes: new Float64Array(N),
    jtc: new Float64Array(L),
  };
  for (let k = 0; k < O; k++) {
    p.ind.set(inst.options[k].ind, k * L);
    p.nOf[k] = inst.options[k].n;
  }
  for (let r = 0; r < N; r++) {
    const q = inst.requests[r];
    p.g[r] = q.growthBlocks;
    p.tau[r] = q.copyMs;
    p.layerBytes[r] = q.layerBytes;
  }
  for (let j = 0; j < L; j++) p.jtc[j] = j * inst.tcMs;
  prepared.set(inst, p);
  return p;
}

/**
 * Mutable search state over an assignment: per-layer copy time and staging blocks, kept
 * incrementally so one candidate move is evaluated in one O(L) pass with no allocation. Its
 * `evalMove` / `evalPair` are the closed form fused with the move (the search's inner loop); a
 * property test holds them to the kernel (src/cost/step-time.ts) on random instances.
 */
export class SearchState {
  readonly L: number;
  readonly N: number;
  readonly tc: number;
  readonly ind: Uint8Array;
  readonly nOf: Int32Array;
  readonly g: Float64Array;
  readonly tau: Float64Array;
  readonly layerBytes: Float64Array;
  readonly jtc: Float64Array;
  readonly assign: Int32Array;
  readonly comm: Float64Array;
  readonly stag: Float64Array;
  resident = 0;
  bytes = 0;
  stepMs = 0;
  memory = 0;
  staging = 0;
  /** Results of the last evalMove. */
  evT = 0;
  evMem = 0;

  constructor(readonly inst: Instance, start: ArrayLike<number>) {
    const p = prepare(inst);
    const L = (this.L = p.L);
    const N = (this.N = p.N);
    this.tc = p.tc;
    this.ind = p.ind;
    this.nOf = p.nOf;
    this.g = p.g;
    this.tau = p.tau;
    this.layerBytes = p.layerBytes;
    this.jtc = p.jtc;
    this.assign = Int32Array.from(start);
    this.comm = new Float64Array(L);
    this.stag = new Float64Array(L);
    for (let r = 0; r < N; r++) {
      const a = this.assign[r];
      this.resident += (L - this.nOf[a]) * this.g[r];
      this.bytes += this.nOf[a] * this.layerBytes[r];
      for (const l of inst.options[a].offloaded) {
        this.comm[l] += this.tau[r];
        this.stag[l] += this.g[r];
      }
    }
    this.refresh();
  }

  private refresh(): void {
    let smax = 0;
    for (let j = 0; j < this.L; j++) if (this.stag[j] > smax) smax = this.stag[j];
    this.stepMs = closedFormStep(this.comm, this.L, this.tc).stepMs;
    this.staging = smax;
    this.memory = this.resident + smax;
  }

  /** Step time and memory if request r moved to option b (into evT / evMem). */
  evalMove(r: number, b: number): void {
    const L = this.L;
    const a = this.assign[r];
    const baseA = a * L;
    const baseB = b * L;
    const tau = this.tau[r];
    const g = this.g[r];
    const ind = this.ind;
    const comm = this.comm;
    const stag = this.stag;
    const jtc = this.jtc;
    let cum = 0;
    let worst = 0;
    let smax = 0;
    for (let j = 0; j < L; j++) {
      const d = ind[baseB + j] - ind[baseA + j];
      cum += comm[j] + tau * d;
      const v = cum - jtc[j];
      if (v > worst) worst = v;
      const s = stag[j] + g * d;
      if (s > smax) smax = s;
    }
    this.evT = L * this.tc + worst;
    this.evMem = this.resident + (this.nOf[a] - this.nOf[b]) * g + smax;
  }

  /** Step time and memory if request r1 moved to b1 and r2 to b2 at once (into evT / evMem). */
  evalPair(r1: number, b1: number, r2: number, b2: number): void {
    const L = this.L;
    const a1 = this.assign[r1] * L;
    const c1 = b1 * L;
    const a2 = this.assign[r2] * L;
    const c2 = b2 * L;
    const t1 = this.tau[r1];
    const t2 = this.tau[r2];
    const g1 = this.g[r1];
    const g2 = this.g[r2];
    const ind = this.ind;
    let cum = 0;
    let worst = 0;
    let smax = 0;
    for (let j = 0; j < L; j++) {
      const d1 = ind[c1 + j] - ind[a1 + j];
      const d2 = ind[c2 + j] - ind[a2 + j];
      cum += this.comm[j] + t1 * d1 + t2 * d2;
      const v = cum - this.jtc[j];
      if (v > worst) worst = v;
      const st = this.stag[j] + g1 * d1 + g2 * d2;
      if (st > smax) smax = st;
    }
    this.evT = L * this.tc + worst;
    this.evMem = this.resident + (this.nOf[this.assign[r1]] - this.nOf[b1]) * g1 + (this.nOf[this.assign[r2]] - this.nOf[b2]) * g2 + smax;
  }

  apply(r: number, b: number): void {
    const L = this.L;
    const a = this.assign[r];
    const baseA = a * L;
    const baseB = b * L;
    for (let j = 0; j < L; j++) {
      const d = this.ind[baseB + j] - this.ind[baseA + j];
      if (d !== 0) {
        this.comm[j] += this.tau[r] * d;
        this.stag[j] += this.g[r] * d;
      }
    }
    this.resident += (this.nOf[a] - this.nOf[b]) * this.g[r];
    this.bytes += (this.nOf[b] - this.nOf[a]) * this.layerBytes[r];
    this.assign[r] = b;
    this.refresh();
  }
}

/**
 * Density greedy: repeatedly apply the move (one request, up to two offload levels further) that
 * frees the most memory per ms of added step time, until the plan fits. Scores are evaluated
 * lazily: a move's score only gets worse as the links fill up, so the best stale score is
 * re-evaluated and taken if it still beats every other stale score. Returns false when no move
 * frees anything (everything is already offloaded).
 */
function fillGreedy(s: SearchState, budget: number): boolean {
  const N = s.N;
  const O = s.inst.options.length;
  const score = new Float64Array(N);
  const target = new Int32Array(N);
  const freedOf = new Float64Array(N);
  const rescore = (r: number): void => {
    const a = s.assign[r];
    const last = Math.min(O - 1, a + LOOKAHEAD_LEVELS);
    score[r] = Infinity;
    target[r] = -1;
    for (let b = a + 1; b <= last; b++) {
      s.evalMove(r, b);
      const freed = s.memory - s.evMem;
      if (freed <= 0) continue;
      const sc = Math.max(0, s.evT - s.stepMs) / freed;
      if (sc < score[r] || (sc === score[r] && freed > freedOf[r])) {
        score[r] = sc;
        target[r] = b;
        freedOf[r] = freed;
      }
    }
  };
  for (let r = 0; r < N; r++) rescore(r);
  while (s.memory > budget) {
    if (completeFit(s, budget)) return true;
    let best = -1;
    for (;;) {
      best = -1;
      let second = Infinity;
      for (let r = 0; r < N; r++) {
        if (best < 0 || score[r] < score[best] || (score[r] === score[best] && freedOf[r] > freedOf[best])) {
          if (best >= 0) second = Math.min(second, score[best]);
          best = r;
        } else if (score[r] < second) second = score[r];
      }
      if (best < 0 || score[best] === Infinity) break;
      const stale = score[best];
      rescore(best);
      if (score[best] <= second || score[best] <= stale) break;
    }
    if (best < 0 || target[best] < 0 || score[best] === Infinity) {
      // Stale scores may hide a move that now frees memory: rescore everything once before giving up.
      for (let r = 0; r < N; r++) rescore(r);
      best = -1;
      for (let r = 0; r < N; r++) if (target[r] >= 0 && (best < 0 || score[r] < score[best])) best = r;
      if (best < 0) return false;
    }
    s.apply(best, target[best]);
    rescore(best);
  }
  return true;
}

/**
 * When one move can close the remaining shortfall, take the one that does so at the lowest step
 * time (then fewest bytes), over every request and every further level: the density order alone
 * would overshoot the budget with its last, largest move, and in a bandwidth-bound batch every
 * block freed beyond the need is paid for in T.
 */
function completeFit(s: SearchState, budget: number): boolean {
  const need = s.memory - budget;
  const O = s.inst.options.length;
  let reachable = false;
  for (let r = 0; r < s.N && !reachable; r++) if ((s.L - s.nOf[s.assign[r]]) * s.g[r] >= need) reachable = true;
  if (!reachable) return false;
  let bestR = -1;
  let bestB = -1;
  let bestT = Infinity;
  let bestBytes = Infinity;
  for (let r = 0; r < s.N; r++) {
    const a = s.assign[r];
    if ((s.L - s.nOf[a]) * s.g[r] < need) continue;
    for (let b = a + 1; b < O; b++) {
      s.evalMove(r, b);
      if (s.evMem > budget) continue;
      const bytes = s.bytes + (s.nOf[b] - s.nOf[a]) * s.layerBytes[r];
      if (s.evT < bestT * (1 - REL_TOL) || (s.evT <= bestT * (1 + REL_TOL) && bytes < bestBytes)) {
        bestT = s.evT;
        bestBytes = bytes;
        bestR = r;
        bestB = b;
      }
      // Further levels of this request only add copies.
      break;
    }
  }
  if (bestR < 0) return false;
  s.apply(bestR, bestB);
  return true;
}

/**
 * First-improvement local search. Only moves to fewer offloaded layers can lower T or bytes on
 * their own (with the widest distance per count, more offloaded layers never fetch later), so
 * only those are tried, and only when the memory they add could fit: a request's staging share
 * shrinks by at most its own per-layer blocks.
 */
function polish(s: SearchState, budget: number): void {
  for (let pass = 0; pass < MAX_POLISH_PASSES; pass++) {
    let improved = false;
    for (let r = 0; r < s.N; r++) {
      for (let b = s.assign[r] - 1; b >= 0; b--) {
        const a = s.assign[r];
        const grow = (s.nOf[a] - s.nOf[b]) * s.g[r] - Math.min(s.g[r], s.staging);
        if (grow > budget - s.memory) break;
        s.evalMove(r, b);
        if (s.evMem > budget) continue;
        // Fewer offloaded layers always means fewer bytes, so any move that keeps T is an improvement.
        if (s.evT <= s.stepMs * (1 + REL_TOL)) {
          s.apply(r, b);
          improved = true;
        }
      }
    }
    if (!improved) return;
  }
}

/** Pair moves are tried only for batches this small: their cost grows as N²·|O|². */
const PAIR_MOVES_MAX_N = 8;

/**
 * Pair moves for small batches, where one request's granularity decides the plan: bring one
 * request back toward the GPU while another offloads just enough more to pay for it. For each
 * such pair the least extra offload that fits is the only candidate (more only adds copies).
 */
function pairPolish(s: SearchState, budget: number): boolean {
  const O = s.inst.options.length;
  let improved = false;
  for (let down = 0; down < s.N; down++) {
    for (let b2 = s.assign[down] - 1; b2 >= 0; b2--) {
      const grow = (s.nOf[s.assign[down]] - s.nOf[b2]) * s.g[down];
      let applied = false;
      for (let up = 0; up < s.N && !applied; up++) {
        if (up === down) continue;
        const a1 = s.assign[up];
        for (let b1 = a1 + 1; b1 < O; b1++) {
          // Resident memory is exact; staging can shrink by at most both requests' blocks.
          const resident = s.resident + grow - (s.nOf[b1] - s.nOf[a1]) * s.g[up];
          if (resident + s.staging - s.g[up] - s.g[down] > budget) continue;
          s.evalPair(up, b1, down, b2);
          if (s.evMem > budget) continue;
          const bytes = s.bytes + (s.nOf[b1] - s.nOf[a1]) * s.layerBytes[up] + (s.nOf[b2] - s.nOf[s.assign[down]]) * s.layerBytes[down];
          if (compareValues({ stepMs: s.evT, bytes }, { stepMs: s.stepMs, bytes: s.bytes }, REL_TOL) < 0) {
            s.apply(up, b1);
            s.apply(down, b2);
            improved = applied = true;
          }
          break;
        }
      }
      if (applied) break;
    }
  }
  return improved;
}

/** The lowest uniform level (every request the same option) whose plan fits, or −1. */
function lowestUniformLevel(inst: Instance): number {
  const L = inst.layers;
  let gSum = 0;
  for (const q of inst.requests) gSum += q.growthBlocks;
  for (let k = 0; k < inst.options.length; k++) {
    const n = inst.options[k].n;
    // Uniform: every request offloads the same layers, so staging is Σ g wherever anything is offloaded.
    if ((L - n) * gSum + (n > 0 ? gSum : 0) <= inst.budgetBlocks) return k;
  }
  return -1;
}

/**
 * Whole-request start for bandwidth-bound batches (the last step row binds, so T ≈ t_c + every
 * copy, and every block freed beyond the need costs step time): first-fit decreasing over
 * "offload this request entirely", taking a request only if it does not overshoot the
 * shortfall, then closing the rest with the density greedy and its completing move.
 */
function wholeRequestStart(inst: Instance): Int32Array | null {
  const L = inst.layers;
  const N = inst.requests.length;
  const all = inst.options.length - 1;
  if (inst.options[all].n !== L) return null;
  const order = Array.from({ length: N }, (_, r) => r).sort((a, b) => {
    const qa = inst.requests[a];
    const qb = inst.requests[b];
    return qb.growthBlocks - qa.growthBlocks || qa.copyMs / qa.growthBlocks - qb.copyMs / qb.growthBlocks;
  });
  const assign = new Int32Array(N);
  let need = -inst.budgetBlocks;
  for (const q of inst.requests) need += L * q.growthBlocks;
  for (const r of order) {
    const freed = (L - 1) * inst.requests[r].growthBlocks;
    if (freed <= need) {
      assign[r] = all;
      need -= freed;
    }
  }
  const s = new SearchState(inst, assign);
  return fillGreedy(s, inst.budgetBlocks) ? s.assign : null;
}

function better(a: HeuristicResult | null, b: HeuristicResult | null): HeuristicResult | null {
  if (!a) return b;
  if (!b) return a;
  return compareValues(b.value, a.value) < 0 ? b : a;
}

/**
 * The fast placement heuristic that always runs before the ILP. Three starts, each polished by
 * local search (single-request moves, and pair moves for batches of up to 8), the best kept: (1) a density greedy from one level below the lowest uniform level
 * that fits, (2) the lowest uniform level itself (so the answer is never worse than a uniform
 * baseline that fits), (3) whole requests kept or offloaded by copy cost per block. Returns null
 * when even "all offloaded" does not fit.
 */
export function greedyPlacement(inst: Instance): HeuristicResult | null {
  const N = inst.requests.length;
  const budget = inst.budgetBlocks;
  const k = lowestUniformLevel(inst);
  if (k < 0) return null;
  let best: HeuristicResult | null = polishAssignment(inst, new Int32Array(N).fill(k));
  if (k > 0) {
    const s = new SearchState(inst, new Int32Array(N).fill(k - 1));
    if (fillGreedy(s, budget)) best = better(best, polishAssignment(inst, s.assign));
  }
  const whole = wholeRequestStart(inst);
  if (whole) best = better(best, polishAssignment(inst, whole));
  return best;
}

/**
 * Local search from a given assignment (the ILP's, a rounded LP's): repairs tie-breaking on bytes
 * at equal T and any improvement left. The input must fit the budget.
 */
export function polishAssignment(inst: Instance, start: ArrayLike<number>): HeuristicResult {
  const s = new SearchState(inst, start);
  polish(s, inst.budgetBlocks);
  if (s.N <= PAIR_MOVES_MAX_N) {
    for (let pass = 0; pass < MAX_POLISH_PASSES && pairPolish(s, inst.budgetBlocks); pass++) polish(s, inst.budgetBlocks);
  }
  const assign = Int32Array.from(s.assign);
  return { assign, value: evaluateAssignment(inst, assign) };
}

/**
 * Make an assignment fit by the same density greedy (used after rounding an LP solution), then
 * polish it. Returns null if it cannot be made to fit.
 */
export function repairAssignment(inst: Instance, start: ArrayLike<number>): HeuristicResult | null {
  const s = new SearchState(inst, start);
  if (!fillGreedy(s, inst.budgetBlocks)) return null;
  polish(s, inst.budgetBlocks);
  const assign = Int32Array.from(s.assign);
  return { assign, value: evaluateAssignment(inst, assign) };
}
