import { blocksPerLayer } from '../core/model-spec.js';
import type { CostModel } from '../cost/cost-model.js';
import { greedyPlacement } from './heuristic.js';
import { buildInstance } from './instance.js';
import type { PlanRequest } from './types.js';

/** A running request as the admission decision sees it at the step boundary the plan lands at. */
export interface RunningRequest extends PlanRequest {
  /** Tokens it will produce in all (max_tokens). */
  outputTokens: number;
  generatedTokens: number;
  /** Engine ms since its first token: the part of its TPOT budget already spent. */
  decodeElapsedMs: number;
}

/** A waiting request at the head of the queue, in admission order. */
export interface WaitingRequest {
  id: string;
  /** Tokens its prefill computes (the prompt, plus what a recompute preemption threw away). */
  prefillTokens: number;
  outputTokens: number;
  /** Engine ms it has waited so far. */
  waitedMs: number;
  sloTpotMs?: number;
  ttftSloMs?: number;
}

export interface AdmissionSettings {
  /**
   * What one decode slot left empty for one step costs, in SLO-violation units (one violated
   * token): the controller's price of the throughput a hold gives up (src/controller/hold-pacer.ts).
   */
  holdCost: number;
  /** Fixed cost of a prefill step (scheduling, launch), ms. */
  prefillOverheadMs: number;
  /** At most this many waiting requests are considered per decision. */
  maxCandidates: number;
  /** Share of engine time spent in prefill steps lately (0–1): how much prefills stretch decode gaps. */
  prefillShare: number;
  /** The run's output token rate now (all tokens), per ms: a request held alone must not yield less. */
  outputRatePerMs: number;
  /** Engine time the plan is made at, ms. */
  nowMs: number;
  /**
   * Requests beyond vLLM's capacity that would yield tokens slower than the run are deferred until
   * nothing else runs or waits, and served then, one at a time, when each finishes alone by this
   * engine time (the run's time so far, or when the first deferred one was served, plus a budget).
   */
  deferDeadlineMs: number;
  /** A deferred request has been served: the run's rate is now theirs, so every request beyond vLLM's capacity is deferred. */
  draining: boolean;
}

export interface AdmissionCandidate {
  /** The first k waiting requests (FCFS, refused ones skipped). */
  admitted: WaitingRequest[];
  /** Option distance per request: running first (in input order), then the admitted. */
  distances: number[];
  stepMs: number;
}

/** Why the decision came out as it did (kept in the plan for the timeline and the tests). */
export interface AdmissionVerdict {
  action: 'admit' | 'hold' | 'none';
  reason: string;
  /** Violation-equivalents the prefill would cost the running batch now. */
  interruptionCost: number;
  /** Violation-equivalents a hold until the next finish would cost (idle slots, TTFT). */
  holdCost: number;
  /** Steps until the next running request finishes (the hold's length). */
  holdSteps: number;
  /** Admissible requests a hold keeps waiting (0 unless holding). */
  held: number;
}

/**
 * How much prefills stretch a decode gap: the engine spends a share ρ of its time in prefill, so
 * over a request's remaining decode its gaps average T / (1 − ρ).
 */
export function prefillStretch(settings: Pick<AdmissionSettings, 'prefillShare'>): number {
  return 1 / Math.max(0.05, 1 - settings.prefillShare);
}

/** Prefill time of a group of prompts in one step. */
export function groupPrefillMs(cost: CostModel, group: readonly WaitingRequest[], overheadMs: number): number {
  let ms = overheadMs;
  for (const w of group) ms += cost.prefillMs(w.prefillTokens);
  return ms;
}

/** Best step time of one request alone under the budget (the heuristic is exact for N = 1), or null when it cannot fit even fully offloaded. */
export function soloStepMs(cost: CostModel, tokens: number, budgetBlocks: number, windowSteps: number): number | null {
  const h = greedyPlacement(buildInstance(cost, [{ id: 'solo', contextTokens: tokens }], budgetBlocks, windowSteps));
  return h ? h.value.stepMs : null;
}

/** True when every layer of a prompt fits the GPU budget at once (what vLLM without offloading would admit). */
export function fitsAllOnGpu(layers: number, tokens: number, budgetBlocks: number): boolean {
  return layers * (blocksPerLayer(tokens) + 1) <= budgetBlocks;
}

/**
 * What a prefill of `prefillMs` costs request r of the running batch, in violation units: its
 * next gap is prefill + step, one violated token when that exceeds its SLO; and when the prefill
 * eats the last of its TPOT budget (mean gap ≤ S over the whole request), every one of its tokens
 * stops counting, so that costs its whole output.
 */
export function interruptionCost(r: RunningRequest, sloMs: number | undefined, prefillMs: number, stepMs: number): number {
  if (sloMs === undefined) return 0;
  let c = prefillMs + stepMs > sloMs ? 1 : 0;
  const remaining = Math.max(0, r.outputTokens - r.generatedTokens);
  const slack = sloMs * Math.max(0, r.outputTokens - 1) - r.decodeElapsedMs - remaining * stepMs;
  if (slack >= 0 && slack < prefillMs) c += r.outputTokens;
  return c;
}

/**
 * The admission decision ("not now" is a decision). Admitting interrupts the running batch for a
 * prefill; holding leaves decode slots empty until the next request finishes, when the group can
 * grow by the slot that frees. So:
 *
 *   admit now  when nothing runs, when nothing more could join the group at the next finish, or
 *              when the hold (λ · slots · steps, plus waiting requests that would miss their TTFT)
 *              costs more than the interruption it saves: this prefill's cost to the running batch
 *              plus the cost of interrupting the admitted ones again at the next, separate prefill;
 *   hold       otherwise, until the next finish (the controller re-plans then).
 *
 * Only candidates whose plan keeps every request that meets its SLO meeting it are offered (an
 * admission never buys throughput with the running batch's SLO), so this is a pure timing choice.
 */
export function decideAdmission(
  cost: CostModel,
  running: readonly RunningRequest[],
  best: AdmissionCandidate,
  canGrow: boolean,
  waiting: readonly WaitingRequest[],
  settings: AdmissionSettings,
  sloFor: (r: { sloTpotMs?: number }) => number | undefined,
  stepNowMs: number,
): AdmissionVerdict {
  if (running.length === 0) return { action: 'admit', reason: 'nothing runs: no one to interrupt', interruptionCost: 0, holdCost: 0, holdSteps: 0, held: 0 };
  const prefill = groupPrefillMs(cost, best.admitted, settings.prefillOverheadMs);
  let now = 0;
  for (const r of running) now += interruptionCost(r, sloFor(r), prefill, best.stepMs);
  let holdSteps = Infinity;
  for (const r of running) holdSteps = Math.min(holdSteps, Math.max(1, r.outputTokens - r.generatedTokens));
  const k = best.admitted.length;
  let hold = settings.holdCost * k * holdSteps;
  // A waiting request whose TTFT SLO the hold would break loses all its tokens.
  const holdMs = holdSteps * stepNowMs;
  for (const w of best.admitted) {
    if (w.ttftSloMs === undefined) continue;
    const ttftNow = w.waitedMs + prefill;
    if (ttftNow <= w.ttftSloMs && ttftNow + holdMs > w.ttftSloMs) hold += w.outputTokens;
  }
  const verdict = (action: 'admit' | 'hold', reason: string): AdmissionVerdict => ({
    action,
    reason,
    interruptionCost: now,
    holdCost: hold,
    holdSteps: action === 'hold' ? holdSteps : 0,
    held: action === 'hold' ? k : 0,
  });
  // Nobody more could join at the next finish, but the batch that a prefill now would break may
  // have finished by then: hold exactly when that breakage costs more than the hold.
  if (!canGrow) return now > hold ? verdict('hold', 'the interruption costs more than a hold until the next finish') : verdict('admit', 'the next finish would let no one else join: waiting gains nothing');
  // Admitted now, they would be interrupted again by the next group's prefill.
  let again = 0;
  const nextPrefill = waiting.length > k ? groupPrefillMs(cost, [waiting[k]], settings.prefillOverheadMs) : prefill;
  for (const w of best.admitted) {
    const fresh: RunningRequest = { id: w.id, contextTokens: w.prefillTokens, outputTokens: w.outputTokens, generatedTokens: 1, decodeElapsedMs: 0 };
    again += interruptionCost(fresh, sloFor(w), nextPrefill, best.stepMs);
  }
  return now + again > hold ? verdict('hold', 'the hold costs less than the interruptions it saves') : verdict('admit', 'holding would cost more than interrupting');
}
