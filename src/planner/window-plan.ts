import { OrbitflowError } from '../core/errors.js';
import { decideAdmission, fitsAllOnGpu, soloStepMs, type AdmissionCandidate, type AdmissionSettings, type AdmissionVerdict, type RunningRequest, type WaitingRequest } from './admission.js';
import { violationThresholdMs } from './instance.js';
import { planBatch } from './plan-batch.js';
import type { BatchPlan, PlanInput, PlanRequest } from './types.js';

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
  /** Waiting requests refused: they fit only offloaded and could not meet their SLO even alone. */
  reject: string[];
  verdict: AdmissionVerdict | null;
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
async function tryPlace(input: WindowInput, requests: PlanRequest[], timeLimitMs: number): Promise<BatchPlan | null> {
  try {
    const plan = await planBatch({ ...input, requests, timeLimitMs, pauseForSlo: false });
    return plan.paused.length === 0 && !plan.overBudget ? plan : null;
  } catch (e) {
    if (e instanceof OrbitflowError && e.code === 'OF_PLAN_INFEASIBLE') return null;
    throw e;
  }
}

function asPlanRequest(w: WaitingRequest): PlanRequest {
  return { id: w.id, contextTokens: w.prefillTokens, sloTpotMs: w.sloTpotMs, remainingSteps: Math.max(1, w.outputTokens - 1) };
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
 * or refused when they fit only offloaded and could not meet their SLO even alone (vLLM refuses a
 * prompt that does not fit its KV cache; OrbitFlow serves every one it can serve within the SLO).
 */
export async function planWindow(input: WindowInput): Promise<WindowPlan> {
  const W = input.windowSteps ?? 16;
  const active: PlanRequest[] = [...input.running, ...input.paused];
  const base = await planBatch({ ...input, requests: active });
  const none = (verdict: AdmissionVerdict | null, holdSteps = 0, reject: string[] = []): WindowPlan => ({ plan: base, admit: [], holdSteps, reject, verdict });
  const settings = input.admission;
  if (!settings || input.waiting.length === 0) return none(null);
  const L = input.cost.layers;
  const reject: string[] = [];
  const queue: WaitingRequest[] = [];
  for (const w of input.waiting) {
    if (queue.length >= settings.maxCandidates) break;
    if (!fitsAllOnGpu(L, w.prefillTokens, input.budgetBlocks)) {
      const solo = soloStepMs(input.cost, w.prefillTokens, input.budgetBlocks, W);
      if (solo === null || solo > stepLimitMs(input, w)) {
        reject.push(w.id);
        continue;
      }
    }
    queue.push(w);
  }
  const holdNext = stepsToNextFinish(input.running);
  if (base.paused.length > 0 || input.paused.length > 0) return none({ action: 'none', reason: 'requests are paused: they come back first', interruptionCost: 0, holdCost: 0, holdSteps: 0, held: 0 }, 0, reject);
  if (input.freeSeqs <= 0 || queue.length === 0) return none(null, queue.length > 0 ? holdNext : 0, reject);

  // Candidates: the first k waiting requests, as long as the batch still fits and nobody who meets
  // their SLO stops meeting it (the admitted included); nothing runs → the first one always may.
  const meets = new Map(base.placements.map((p) => [p.id, !p.violates]));
  const candidates: AdmissionCandidate[] = [];
  for (let k = 1; k <= Math.min(input.freeSeqs, queue.length); k++) {
    const admitted = queue.slice(0, k);
    const plan = await tryPlace(input, [...input.running, ...admitted.map(asPlanRequest)], 0);
    if (!plan) break;
    const sloSafe = plan.placements.every((p, i) => {
      const limit = i < input.running.length ? (meets.get(p.id) ? stepLimitMs(input, input.running[i]) : Infinity) : stepLimitMs(input, admitted[i - input.running.length]);
      return plan.step.totalMs <= limit * (1 + 1e-9);
    });
    if (!sloSafe && !(input.running.length === 0 && k === 1)) break;
    candidates.push({ admitted, distances: plan.placements.map((p) => p.distance), stepMs: plan.step.totalMs });
  }
  if (candidates.length === 0) return none({ action: 'hold', reason: 'no waiting request fits within the SLO beside the running batch', interruptionCost: 0, holdCost: 0, holdSteps: holdNext, held: 0 }, holdNext, reject);
  const best = candidates[candidates.length - 1];
  const k = best.admitted.length;

  // Could the group grow at the next finish? Those finishing leave; everyone else is that much longer.
  let canGrow = false;
  if (queue.length > k && input.running.length > 0) {
    const later = input.running
      .filter((r) => r.outputTokens - r.generatedTokens > holdNext)
      .map((r) => ({ ...r, contextTokens: r.contextTokens + holdNext }));
    canGrow = (await tryPlace(input, [...later, ...queue.slice(0, k + 1).map(asPlanRequest)], 0)) !== null;
  }
  const verdict = decideAdmission(input.cost, input.running, best, canGrow, queue, settings, (r) => sloOf(input, r), base.step.totalMs);
  if (verdict.action === 'hold') return none(verdict, verdict.holdSteps, reject);
  return admitGroup(input, best, reject, verdict, base);
}

/** Admit a group: it gets the full solve (the ILP); if that pauses anything, the heuristic's plan stands. */
async function admitGroup(input: WindowInput, group: AdmissionCandidate, reject: string[], verdict: AdmissionVerdict, base: BatchPlan): Promise<WindowPlan> {
  const final = await tryPlace(input, [...input.running, ...group.admitted.map(asPlanRequest)], input.timeLimitMs ?? 0);
  const plan = final ?? base;
  const distanceOf = new Map(plan.placements.map((p) => [p.id, p.distance]));
  const admit = group.admitted.map((w, i) => ({ id: w.id, distance: final ? distanceOf.get(w.id)! : group.distances[input.running.length + i] }));
  const after = [...input.running, ...group.admitted.map((w) => ({ outputTokens: w.outputTokens, generatedTokens: 1 }))];
  return { plan, admit, holdSteps: stepsToNextFinish(after), reject, verdict };
}
