import { OrbitflowError } from '../core/errors.js';
import { decideAdmission, fitsAllOnGpu, prefillStretch, soloStepMs, type AdmissionCandidate, type AdmissionSettings, type AdmissionVerdict, type RunningRequest, type WaitingRequest } from './admission.js';
import { violationThresholdMs } from './instance.js';
import { addWork, emptyWork, planBatch } from './plan-batch.js';
import type { BatchPlan, PlanInput, PlanRequest, SolveWork } from './types.js';

export interface WindowInput extends Omit<PlanInput, 'requests'> {
  /** The running batch as it will be at the step boundary the plan lands at. */
  running: readonly RunningRequest[];
  paused: readonly PlanRequest[];
  /** The head of the waiting queue, in admission order. */
  waiting: readonly WaitingRequest[];
  /** Sequences the engine can still take (max-num-seqs − running − paused). */
  freeSeqs: number;
  /** Admission control on (OrbitFlow); null leaves admissions to the engine (the ablation's "placement only" rung). */
  admission: AdmissionSettings | null;
}

export interface WindowPlan {
  /** Placements of the running (and, when admitting, the admitted) requests, pauses, certificate. */
  plan: BatchPlan;
  /** Waiting requests to admit now, with their placements. */
  admit: { id: string; distance: number }[];
  /** Steps every other waiting request waits while something runs (0: the engine's own rule may admit). */
  holdSteps: number;
  /** Waiting requests refused: they fit only offloaded and could not meet their SLO even alone, or no longer within the time deferred requests may add. */
  reject: string[];
  /** A request deferred to the end of the run is admitted. */
  servesDeferred: boolean;
  /** Waiting requests deferred to the end of the run (neither admitted nor refused). */
  deferred: string[];
  verdict: AdmissionVerdict | null;
  /** The work of every placement solve this decision made (base, candidates, the chosen group). */
  work: SolveWork;
  /** Some GLPK call hit its safety limit under a work limit (the answer may differ on another machine). */
  hitSafetyLimit: boolean;
}

/** What becomes of the waiting requests beyond vLLM's capacity this decision looked at. */
interface Triage {
  reject: string[];
  /** Kept waiting for the end of the run. */
  deferred: string[];
  servesDeferred: boolean;
}

function sloOf(input: WindowInput, r: { sloTpotMs?: number }): number | undefined {
  return r.sloTpotMs ?? input.defaultSloTpotMs;
}

/** θ without deposit credit, held to the margin: what a step must not exceed for this request. */
function stepLimitMs(input: WindowInput, r: { sloTpotMs?: number }): number {
  return violationThresholdMs(sloOf(input, r), 0, input.windowSteps ?? 16) / (input.sloMargin ?? 1);
}

/**
 * A plan for `requests` that pauses nothing, or null when they do not fit together (heuristic
 * only: the candidates are compared, the chosen one is solved in full).
 */
async function tryPlace(input: WindowInput, requests: PlanRequest[], timeLimitMs: number | undefined, tally: Tally): Promise<BatchPlan | null> {
  try {
    const plan = tally.count(await planBatch({ ...input, requests, timeLimitMs, pauseForSlo: false }));
    return plan.paused.length === 0 && !plan.overBudget ? plan : null;
  } catch (e) {
    if (e instanceof OrbitflowError && e.code === 'OF_PLAN_INFEASIBLE') return null;
    throw e;
  }
}

/** Sums the work of the solves one decision makes. */
class Tally {
  readonly work: SolveWork = emptyWork();
  hitSafetyLimit = false;
  count(plan: BatchPlan): BatchPlan {
    if (plan.certificate.work) addWork(this.work, plan.certificate.work);
    this.hitSafetyLimit ||= plan.certificate.hitSafetyLimit === true;
    return plan;
  }
}

function asPlanRequest(w: WaitingRequest): PlanRequest {
  return { id: w.id, contextTokens: w.prefillTokens, sloTpotMs: w.sloTpotMs, remainingSteps: Math.max(1, w.outputTokens - 1) };
}

/** Solo step times by prompt length, per cost model and budget: a deferred request is looked at in every decision until it runs. */
const SOLO_CACHE = new WeakMap<WindowInput['cost'], Map<string, number | null>>();

function cachedSoloStepMs(input: WindowInput, tokens: number, windowSteps: number): number | null {
  let byKey = SOLO_CACHE.get(input.cost);
  if (!byKey) SOLO_CACHE.set(input.cost, (byKey = new Map()));
  const key = `${tokens}:${input.budgetBlocks}:${windowSteps}`;
  if (!byKey.has(key)) byKey.set(key, soloStepMs(input.cost, tokens, input.budgetBlocks, windowSteps));
  return byKey.get(key)!;
}

/** Steps until the first of these requests finishes. */
function stepsToNextFinish(running: readonly { outputTokens: number; generatedTokens: number }[]): number {
  let s = Infinity;
  for (const r of running) s = Math.min(s, Math.max(1, r.outputTokens - r.generatedTokens));
  return Number.isFinite(s) ? s : 0;
}

/**
 * One decision of the OrbitFlow controller for the next window: which layers of each running
 * request stay on the GPU (the ILP, with Pause-Resume), and whether waiting requests run this
 * window at all — admitted now with a placement, held ("not now", vLLM would simply queue them),
 * deferred to the end of the run when they fit only offloaded and would yield tokens slower than
 * the run does, or refused when they could not meet their SLO even alone, or when deferred would
 * not finish by the deadline (vLLM refuses a prompt that does not fit its KV cache; OrbitFlow
 * serves the ones worth serving).
 */
export async function planWindow(input: WindowInput): Promise<WindowPlan> {
  const W = input.windowSteps ?? 16;
  const active: PlanRequest[] = [...input.running, ...input.paused];
  const tally = new Tally();
  const base = tally.count(await planBatch({ ...input, requests: active }));
  const triage: Triage = { reject: [], deferred: [], servesDeferred: false };
  const { reject } = triage;
  const none = (verdict: AdmissionVerdict | null, holdSteps = 0): WindowPlan => ({ plan: base, admit: [], holdSteps, ...triage, servesDeferred: false, verdict, work: tally.work, hitSafetyLimit: tally.hitSafetyLimit });
  const settings = input.admission;
  if (!settings || input.waiting.length === 0) return none(null);
  const L = input.cost.layers;
  const queue: WaitingRequest[] = [];
  const deferred: Array<{ w: WaitingRequest; soloMs: number }> = [];
  /** Deferred requests this decision serves or refuses at the end of the run. */
  const settled = new Set<string>();
  for (const w of input.waiting) {
    if (queue.length >= settings.maxCandidates) break;
    if (!fitsAllOnGpu(L, w.prefillTokens, input.budgetBlocks)) {
      // Beyond vLLM's capacity a request is served only offloaded, and alone it holds the whole
      // budget: never when it cannot meet its SLO even so; at once when it yields tokens no slower
      // than the run does now; otherwise at the end of the run, when nothing else is left.
      const solo = cachedSoloStepMs(input, w.prefillTokens, W);
      if (solo === null || solo > stepLimitMs(input, w)) reject.push(w.id);
      else if (settings.draining || 1 / solo < settings.outputRatePerMs) deferred.push({ w, soloMs: solo });
      else queue.push(w);
      continue;
    }
    queue.push(w);
  }
  if (queue.length === 0 && input.running.length === 0 && input.paused.length === 0) {
    // Nothing else is left: the deferred, one at a time, those yielding the most tokens per ms
    // first, each when it finishes alone by the deadline (a longer run would give up throughput that
    // vLLM, refusing them, keeps).
    for (const d of [...deferred].sort((a, b) => a.soloMs - b.soloMs)) {
      if (queue.length > 0) break;
      settled.add(d.w.id);
      if (settings.nowMs + d.soloMs * d.w.outputTokens <= settings.deferDeadlineMs) {
        queue.push(d.w);
        triage.servesDeferred = true;
      } else reject.push(d.w.id);
    }
  }
  for (const d of deferred) if (!settled.has(d.w.id)) triage.deferred.push(d.w.id);
  const holdNext = stepsToNextFinish(input.running);
  if (base.paused.length > 0 || input.paused.length > 0) return none({ action: 'none', reason: 'requests are paused: they come back first', interruptionCost: 0, holdCost: 0, holdSteps: 0, held: 0 }, 0);
  if (input.freeSeqs <= 0 || queue.length === 0) return none(null, queue.length + deferred.length > 0 ? holdNext : 0);

  // Candidates: the first k waiting requests, as long as the batch still fits and nobody who meets
  // their SLO stops meeting it (the admitted included); nothing runs → the first one always may.
  // A request meets its SLO under a step time T when each step is within θ (TBT) and its TPOT
  // budget still holds: every remaining gap is T stretched by the prefills that will interrupt it
  // (the engine spends a share ρ of its time in prefill, so a decode gap averages T / (1 − ρ)).
  const stretch = prefillStretch(settings);
  const tpotHolds = (r: RunningRequest, T: number): boolean => {
    const slo = sloOf(input, r);
    if (slo === undefined) return true;
    const remaining = Math.max(0, r.outputTokens - r.generatedTokens);
    return r.decodeElapsedMs + remaining * T * stretch <= slo * Math.max(1, r.outputTokens - 1);
  };
  const meetsAt = (r: RunningRequest, T: number): { tbt: boolean; tpot: boolean } => ({ tbt: T <= stepLimitMs(input, r) * (1 + 1e-9), tpot: tpotHolds(r, T) });
  const before = input.running.map((r) => meetsAt(r, base.step.totalMs));
  const candidates: AdmissionCandidate[] = [];
  for (let k = 1; k <= Math.min(input.freeSeqs, queue.length); k++) {
    const admitted = queue.slice(0, k);
    const plan = await tryPlace(input, [...input.running, ...admitted.map(asPlanRequest)], 0, tally);
    if (!plan) break;
    const T = plan.step.totalMs;
    // Nobody who met a part of their SLO stops meeting it; the admitted must meet theirs.
    const sloSafe =
      input.running.every((r, i) => {
        const now = meetsAt(r, T);
        return (!before[i].tbt || now.tbt) && (!before[i].tpot || now.tpot);
      }) &&
      admitted.every((w) => {
        const fresh: RunningRequest = { id: w.id, contextTokens: w.prefillTokens, outputTokens: w.outputTokens, generatedTokens: 1, decodeElapsedMs: 0, sloTpotMs: w.sloTpotMs };
        const m = meetsAt(fresh, T);
        return m.tbt && m.tpot;
      });
    const distances = plan.placements.map((p) => p.distance);
    // What vLLM would admit (newcomers with every layer on the GPU, the batch as it is) is always
    // allowed: OrbitFlow never takes less work on than vLLM would, only more, or at another time.
    const vllmWould = input.running.every((r, i) => distances[i] === (r.currentDistance ?? -1)) && distances.slice(input.running.length).every((d) => d === -1);
    if (!sloSafe && !vllmWould && !(input.running.length === 0 && k === 1)) break;
    candidates.push({ admitted, distances, stepMs: plan.step.totalMs });
  }
  if (candidates.length === 0) return none({ action: 'hold', reason: 'no waiting request fits within the SLO beside the running batch', interruptionCost: 0, holdCost: 0, holdSteps: holdNext, held: 0 }, holdNext);
  const best = candidates[candidates.length - 1];
  const k = best.admitted.length;

  // Could the group grow at the next finish? Those finishing leave; everyone else is that much longer.
  let canGrow = false;
  if (queue.length > k && input.running.length > 0) {
    const later = input.running
      .filter((r) => r.outputTokens - r.generatedTokens > holdNext)
      .map((r) => ({ ...r, contextTokens: r.contextTokens + holdNext }));
    canGrow = (await tryPlace(input, [...later, ...queue.slice(0, k + 1).map(asPlanRequest)], 0, tally)) !== null;
  }
  const verdict = decideAdmission(input.cost, input.running, best, canGrow, queue, settings, (r) => sloOf(input, r), base.step.totalMs);
  if (verdict.action === 'hold') return none(verdict, verdict.holdSteps);
  return admitGroup(input, best, triage, verdict, base, tally);
}

/** Admit a group: it gets the full solve (the ILP); if that pauses anything, the heuristic's plan stands. */
async function admitGroup(input: WindowInput, group: AdmissionCandidate, triage: Triage, verdict: AdmissionVerdict, base: BatchPlan, tally: Tally): Promise<WindowPlan> {
  const final = await tryPlace(input, [...input.running, ...group.admitted.map(asPlanRequest)], input.timeLimitMs, tally);
  const plan = final ?? base;
  const distanceOf = new Map(plan.placements.map((p) => [p.id, p.distance]));
  const admit = group.admitted.map((w, i) => ({ id: w.id, distance: final ? distanceOf.get(w.id)! : group.distances[input.running.length + i] }));
  const after = [...input.running, ...group.admitted.map((w) => ({ outputTokens: w.outputTokens, generatedTokens: 1 }))];
  return { plan, admit, holdSteps: stepsToNextFinish(after), ...triage, verdict, work: tally.work, hitSafetyLimit: tally.hitSafetyLimit };
}
