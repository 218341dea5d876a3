import { blocksPerLayer } from '../core/model-spec.js';
import { ALL_OFFLOADED, type Placement } from '../core/placement.js';
import { createRng } from '../core/rng.js';
import { BLOCK_TOKENS, GIB } from '../core/units.js';
import { baselineDistance, type BaselinePolicy } from '../cost/baselines.js';
import type { CostModel, StepRequest } from '../cost/cost-model.js';
import { BlockLedger } from './block-ledger.js';
import { createNoise } from './noise.js';
import { PlacementCache } from './placement-cache.js';
import type { EnginePolicy, PolicyHost } from './policies/engine-policy.js';
import { createEnginePolicy, type EnginePolicyName } from './policies/registry.js';
import { RequestQueue } from './request-queue.js';
import type {
  ActiveRequestView,
  DecisionRefusal,
  DecisionResult,
  EngineCounters,
  EngineSnapshot,
  EngineView,
  FinishReason,
  PlacementDecision,
  PlacementSpec,
  RequestPhase,
  RequestSnapshot,
  StepBreakdown,
  TimelineEntry,
  WaitingRequestView,
} from './types.js';

export interface EngineConfig {
  cost: CostModel;
  policy: EnginePolicyName;
  /** GPU KV budget in per-layer blocks (per TP rank). */
  budgetBlocks: number;
  /** Host KV capacity in per-layer blocks; default 512 GiB worth. */
  hostBlocks?: number;
  maxNumSeqs?: number;
  /** Prompt tokens one prefill step may batch (vLLM's max_num_batched_tokens without chunked prefill). */
  maxBatchedTokens?: number;
  /** Fixed cost of every step (scheduling, sampling, launch), ms. */
  stepOverheadMs?: number;
  /** Coefficient of variation of the multiplicative step-time noise. */
  noiseCv?: number;
  seed?: number;
  /** A placement decision based on a step older than this many steps is refused (409). */
  stalenessSteps?: number;
  /** FlexGen+'s floor on a request's length (`flexgen_tok_estimate`). */
  tokenEstimate?: number;
  maxContextTokens?: number;
  /** Keep every placement change (for `plan --trace --out`). */
  recordTimeline?: boolean;
  modelName?: string;
}

/** The engine's defaults, in one place (the CLI's option defaults read them). */
export const ENGINE_DEFAULTS = {
  maxNumSeqs: 16,
  stepOverheadMs: 0.3,
  noiseCv: 0.05,
  seed: 0,
  stalenessSteps: 16,
  hostKvGib: 512,
} as const;

/** A decision's hold ("not now" for every waiting request it does not admit) lasts at most this many stalenesses. */
const MAX_HOLD_STALENESS = 4;

export interface RequestListener {
  onToken(index: number, timeMs: number): void;
  onFinish(reason: FinishReason, timeMs: number): void;
}

export interface SubmitRequest {
  id: string;
  /** Engine time the request arrives at; the wall-clock server passes `now`. */
  arrivalMs: number;
  promptTokens: number;
  outputTokens: number;
  sloTpotMs?: number;
  listener?: RequestListener;
}

/** One request inside the engine. Its fields are the engine's own; read them, never write them. */
export class EngineRequest {
  phase: RequestPhase = 'pending';
  generated = 0;
  /** Tokens whose KV is cached; between steps of a running request: prompt + generated − 1. */
  kvTokens = 0;
  /** Set on admission; meaningless while pending or waiting. */
  placement: Placement;
  gpuBlocks = 0;
  hostBlocks = 0;
  /** Placement set by a decision (driver or control protocol) rather than by the policy. */
  decided = false;
  /**
   * Layers whose KV is only on the host: the offloaded ones, plus resident ones not yet copied back
   * (after a placement change or a resume). The next decode step fetches all of them on the
   * prefetch stream, overlapped with compute like any offloaded layer; then it equals the placement.
   */
  hostOnly: Placement;
  readonly tokenTimesMs: Float64Array;
  lastTokenMs = Number.NaN;
  firstScheduledMs = Number.NaN;
  finishedMs = Number.NaN;
  finishReason: FinishReason | null = null;
  preemptions = 0;

  constructor(
    readonly seq: number,
    readonly id: string,
    readonly arrivalMs: number,
    readonly promptTokens: number,
    readonly outputTarget: number,
    readonly sloTpotMs: number | undefined,
    readonly listener: RequestListener | undefined,
    private readonly layers: number,
    initial: Placement,
  ) {
    this.tokenTimesMs = new Float64Array(outputTarget);
    this.placement = initial;
    this.hostOnly = initial;
  }

  /** Layers whose KV is on the GPU: derived from the placement, never kept apart from it. */
  get gpuLayers(): number {
    return this.layers - this.placement.offloaded.length;
  }

  /** Tokens a prefill of this request computes (a recompute after preemption includes what it had generated). */
  get prefillTokens(): number {
    return this.promptTokens + this.generated;
  }
}

export interface StepPlan {
  step: number;
  kind: 'prefill' | 'decode';
  startMs: number;
  endMs: number;
  batch: EngineRequest[];
  breakdown: StepBreakdown;
}

/** What the last decision said about admissions, until the next decision replaces it. */
interface AdmissionDirective {
  grants: { id: string; placement: Placement }[];
  /** While something runs, requests without a grant wait until this step. */
  holdUntilStep: number;
  /** Waiting requests only a grant admits while anything runs: one at the head stops the engine's own admission. */
  deferred: ReadonlySet<string>;
}

type Refusal = { ok: false; reason: string; code: DecisionRefusal };

/**
 * The reference engine's state machine: continuous batching over a GPU KV budget in per-layer
 * blocks, a host tier holding every layer (write-through), per-request layer placements, prefill
 * that stalls decode, admission by memory, recompute preemption on out-of-memory, pause/resume.
 * Where layers go is its policy's business (src/engine/policies); memory is the ledger's. It knows
 * no clock: the run loop calls `prepareStep(now)`, waits the step's duration on its Clock, then
 * `commitStep(plan, now)`. Step times come from the CostModel plus what the planner does not see
 * (reloads, write-through, a fixed overhead, seeded noise).
 */
export class EngineCore implements EngineView, PolicyHost {
  readonly cost: CostModel;
  readonly policy: EnginePolicyName;
  readonly budgetBlocks: number;
  readonly hostBlocksTotal: number;
  readonly maxNumSeqs: number;
  readonly stepOverheadMs: number;
  readonly stalenessSteps: number;
  readonly layers: number;
  readonly modelName: string;
  /** gpu-only is vLLM without a host tier: no write-through, no pause. */
  readonly hostTier: boolean;

  step = 0;
  nowMs = 0;
  membershipVersion = 0;
  lastStep: StepBreakdown | null = null;
  readonly counters: EngineCounters = {
    steps: 0, decodeSteps: 0, prefillSteps: 0, preemptions: 0, pauses: 0, resumes: 0, fallbacks: 0,
    decisionsApplied: 0, decisionsRejected: 0, bytesFetched: 0, bytesReloaded: 0, bytesWrittenBack: 0,
    finished: 0, aborted: 0, rejected: 0,
  };
  /** Σ over steps of used/total GPU blocks (for the mean GPU KV use). */
  gpuUseSum = 0;
  readonly timeline: TimelineEntry[] = [];

  private readonly rules: EnginePolicy;
  private readonly ledger: BlockLedger;
  private readonly placements: PlacementCache;
  private readonly noise: () => number;
  private readonly tokenEstimate: number;
  private readonly maxContextTokens: number;
  private readonly maxBatchedTokens: number;
  private readonly recordTimeline: boolean;
  private readonly running: EngineRequest[] = [];
  private readonly paused: EngineRequest[] = [];
  private readonly waiting = new RequestQueue<EngineRequest>((r) => r.phase === 'waiting');
  private pending: EngineRequest[] = [];
  private pendingHead = 0;
  private readonly byId = new Map<string, EngineRequest>();
  private seq = 0;
  private inFlight: StepPlan | null = null;
  private directive: AdmissionDirective | null = null;
  private placementsChanged = false;
  private readonly stepReqs: StepRequest[] = [];
  private readonly ctxScratch: number[] = [];
  private readonly stepListeners = new Set<(b: StepBreakdown) => void>();

  constructor(cfg: EngineConfig) {
    this.cost = cfg.cost;
    this.policy = cfg.policy;
    this.rules = createEnginePolicy(cfg.policy);
    this.layers = cfg.cost.layers;
    if (!Number.isInteger(cfg.budgetBlocks) || cfg.budgetBlocks < 0) throw new RangeError(`GPU KV budget must be a whole number of blocks ≥ 0, got ${cfg.budgetBlocks}`);
    this.budgetBlocks = cfg.budgetBlocks;
    this.hostBlocksTotal = cfg.hostBlocks ?? Math.floor((ENGINE_DEFAULTS.hostKvGib * GIB) / cfg.cost.blockBytes);
    this.ledger = new BlockLedger(this.budgetBlocks, this.hostBlocksTotal);
    this.maxNumSeqs = cfg.maxNumSeqs ?? ENGINE_DEFAULTS.maxNumSeqs;
    this.stepOverheadMs = cfg.stepOverheadMs ?? ENGINE_DEFAULTS.stepOverheadMs;
    this.stalenessSteps = cfg.stalenessSteps ?? ENGINE_DEFAULTS.stalenessSteps;
    this.tokenEstimate = cfg.tokenEstimate ?? 0;
    this.maxContextTokens = cfg.maxContextTokens ?? cfg.cost.model.maxContextTokens;
    this.maxBatchedTokens = cfg.maxBatchedTokens ?? Math.max(this.maxContextTokens, 2048);
    this.recordTimeline = cfg.recordTimeline ?? false;
    this.modelName = cfg.modelName ?? cfg.cost.model.name;
    this.hostTier = this.rules.hostTier;
    this.placements = new PlacementCache(this.layers);
    this.noise = createNoise(cfg.noiseCv ?? ENGINE_DEFAULTS.noiseCv, createRng(cfg.seed ?? ENGINE_DEFAULTS.seed));
  }

  // ── requests in ───────────────────────────────────────────────────────────────────────────

  /** Add a request. Arrivals in the future wait in the pending list until `releaseArrivals` reaches them. */
  submit(s: SubmitRequest): EngineRequest {
    if (this.byId.has(s.id)) throw new RangeError(`duplicate request id '${s.id}'`);
    const r = new EngineRequest(this.seq++, s.id, s.arrivalMs, s.promptTokens, Math.max(1, s.outputTokens), s.sloTpotMs, s.listener, this.layers, this.placements.distance(-1));
    this.byId.set(r.id, r);
    if (s.promptTokens < 1 || s.promptTokens + r.outputTarget > this.maxContextTokens) {
      this.finish(r, 'rejected', Math.max(this.nowMs, s.arrivalMs));
      return r;
    }
    if (s.arrivalMs <= this.nowMs) this.enqueue(r);
    else {
      // Keep pending sorted by arrival; submissions come in time order, so this is an append.
      let i = this.pending.length;
      while (i > this.pendingHead && this.pending[i - 1].arrivalMs > s.arrivalMs) i--;
      this.pending.splice(i, 0, r);
    }
    return r;
  }

  private enqueue(r: EngineRequest): void {
    r.phase = 'waiting';
    this.waiting.push(r);
  }

  /** Move every pending request that has arrived by `now` into the waiting queue. */
  releaseArrivals(now: number): void {
    this.nowMs = Math.max(this.nowMs, now);
    const p = this.pending;
    while (this.pendingHead < p.length && p[this.pendingHead].arrivalMs <= now) {
      const r = p[this.pendingHead++];
      if (r.phase === 'pending') this.enqueue(r);
    }
    if (this.pendingHead > 4096 && this.pendingHead * 2 > p.length) {
      this.pending = p.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** Arrival time of the next pending request, or undefined. */
  nextArrivalMs(): number | undefined {
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead].phase !== 'pending') this.pendingHead++;
    return this.pendingHead < this.pending.length ? this.pending[this.pendingHead].arrivalMs : undefined;
  }

  hasWork(): boolean {
    return this.running.length > 0 || this.paused.length > 0 || this.waiting.size > 0;
  }

  get runningCount(): number {
    return this.running.length;
  }
  get pausedCount(): number {
    return this.paused.length;
  }
  get waitingCount(): number {
    return this.waiting.size;
  }
  get gpuUsed(): number {
    return this.ledger.gpuUsed;
  }
  get hostUsed(): number {
    return this.ledger.hostUsed;
  }

  get(id: string): EngineRequest | undefined {
    return this.byId.get(id);
  }

  /** Client went away: drop the request and free its KV. Returns false when it had already finished. */
  cancel(id: string): boolean {
    const r = this.byId.get(id);
    if (!r || r.phase === 'finished') return false;
    this.finish(r, 'abort', this.nowMs);
    return true;
  }

  /** A request with this id is known (not yet released). */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Forget finished requests (the wall-clock server calls it so memory stays bounded). */
  release(id: string): void {
    const r = this.byId.get(id);
    if (r && r.phase === 'finished') this.byId.delete(id);
  }

  onStep(fn: (b: StepBreakdown) => void): () => void {
    this.stepListeners.add(fn);
    return () => this.stepListeners.delete(fn);
  }

  // ── placements (PolicyHost) ───────────────────────────────────────────────────────────────

  placement(distance: number): Placement {
    return this.placements.distance(distance);
  }

  uniformDistance(rule: BaselinePolicy, extraTokens?: number): number {
    const ctx = this.ctxScratch;
    ctx.length = 0;
    for (const r of this.running) ctx.push(r.kvTokens);
    if (extraTokens !== undefined) ctx.push(extraTokens);
    return baselineDistance(rule, { contextTokens: ctx, budgetBlocks: this.budgetBlocks, tokenEstimate: this.tokenEstimate }, this.cost);
  }

  placeRunning(p: Placement, keepDecided: boolean): void {
    for (const r of this.running) if (!keepDecided || !r.decided) this.setPlacement(r, p, false);
  }

  private setPlacement(r: EngineRequest, p: Placement, decided: boolean): void {
    r.decided = decided;
    if (r.placement === p) return;
    r.hostOnly = this.placements.union(r.hostOnly, p);
    r.placement = p;
    if (r.phase === 'running') this.ledger.setGpu(r, r.gpuLayers * blocksPerLayer(r.kvTokens));
    this.placementsChanged = true;
  }

  private placementOf(s: PlacementSpec): Placement {
    return s.layers !== undefined ? this.placements.layersList(s.layers) : this.placements.distance(s.distance!);
  }

  // ── admission ─────────────────────────────────────────────────────────────────────────────

  /** GPU blocks a request of `tokens` needs under `p`, with one block of headroom per resident layer. */
  private admissionBlocks(p: Placement, tokens: number): number {
    return (this.layers - p.offloaded.length) * (blocksPerLayer(tokens) + 1);
  }

  /**
   * Admission keeps one block of headroom per GPU-resident layer of every running request (the
   * artifact's "+ B·L" rule), so a new prefill does not force a preemption at the very next
   * decode step. A uniform admission re-places the whole batch, so it is counted from scratch.
   */
  private fits(p: Placement, tokens: number, uniform: boolean): boolean {
    if (this.hostTier && this.ledger.hostUsed + this.layers * blocksPerLayer(tokens) > this.hostBlocksTotal) return false;
    let need = this.admissionBlocks(p, tokens);
    if (uniform) {
      for (const r of this.running) need += this.admissionBlocks(p, r.kvTokens);
      return need <= this.budgetBlocks;
    }
    for (const r of this.running) need += r.gpuLayers;
    return this.ledger.gpuUsed + need <= this.budgetBlocks;
  }

  /** False when a prompt of this many tokens could never be admitted, even into an empty engine. */
  canEverAdmit(promptTokens: number): boolean {
    return !this.neverFits(promptTokens);
  }

  private neverFits(tokens: number): boolean {
    const blocks = blocksPerLayer(tokens);
    if (this.hostTier && this.layers * blocks > this.hostBlocksTotal) return true;
    return this.rules.minAdmissionGpuLayers(this.layers) * (blocks + 1) > this.budgetBlocks;
  }

  private get seqsFull(): boolean {
    return this.running.length + this.paused.length >= this.maxNumSeqs;
  }

  private start(r: EngineRequest, p: Placement, decided: boolean, now: number): void {
    // Prefill computes the KV fresh: nothing to reload, whatever the request held before a preemption.
    const tokens = r.prefillTokens;
    r.kvTokens = tokens;
    r.phase = 'running';
    r.placement = p;
    r.hostOnly = p;
    r.decided = decided;
    this.placementsChanged = true;
    this.ledger.setGpu(r, r.gpuLayers * blocksPerLayer(tokens));
    if (this.hostTier) this.ledger.setHost(r, this.layers * blocksPerLayer(tokens));
    if (Number.isNaN(r.firstScheduledMs)) r.firstScheduledMs = now;
    this.running.push(r);
    this.membershipVersion++;
  }

  /** The decision's grants, in order; a grant that does not fit stops the rest (they stay for later). */
  private admitGranted(now: number, out: EngineRequest[]): number {
    const d = this.directive;
    if (!d || d.grants.length === 0) return 0;
    let batched = 0;
    let used = 0;
    for (const g of d.grants) {
      const r = this.byId.get(g.id);
      if (!r || r.phase !== 'waiting') {
        used++;
        continue;
      }
      if (this.seqsFull || (out.length > 0 && batched + r.prefillTokens > this.maxBatchedTokens)) break;
      if (!this.fits(g.placement, r.prefillTokens, false)) break;
      this.waiting.forget();
      this.start(r, g.placement, true, now);
      out.push(r);
      batched += r.prefillTokens;
      used++;
    }
    d.grants.splice(0, used);
    return batched;
  }

  private holding(): boolean {
    return this.directive !== null && this.directive.holdUntilStep > this.step && this.running.length > 0;
  }

  private admit(now: number): EngineRequest[] {
    const out: EngineRequest[] = [];
    let batchedTokens = this.admitGranted(now, out);
    if (this.holding()) return out;
    while (this.waiting.size > 0) {
      if (this.seqsFull) break;
      // A driven engine admits on its own only when nothing is paused: paused requests come back first.
      if (this.rules.driven && this.paused.length > 0) break;
      const r = this.waiting.peek()!;
      // A deferred head waits for its grant while anything runs; an idle engine has no one to keep it from.
      if (this.directive?.deferred.has(r.id) && (this.running.length > 0 || this.paused.length > 0)) break;
      const tokens = r.prefillTokens;
      if (this.neverFits(tokens)) {
        // finish() takes it out of the queue (lazily, as a dead head entry).
        this.finish(r, r.generated > 0 ? 'abort' : 'rejected', now);
        continue;
      }
      if (out.length > 0 && batchedTokens + tokens > this.maxBatchedTokens) break;
      const adm = this.rules.admission(this, tokens);
      if (!this.fits(adm.placement, tokens, adm.uniform)) {
        // An empty engine is as good as it gets: a request that does not fit now never will.
        if (this.running.length === 0 && this.paused.length === 0) {
          this.finish(r, r.generated > 0 ? 'abort' : 'rejected', now);
          continue;
        }
        break;
      }
      this.waiting.pop();
      if (adm.uniform) this.placeRunning(adm.placement, false);
      this.start(r, adm.placement, false, now);
      out.push(r);
      batchedTokens += tokens;
    }
    return out;
  }

  /** Nothing runs but requests are paused: bring them back (the artifact's resume case (b)). */
  private autoResume(): void {
    if (this.running.length > 0 || this.paused.length === 0) return;
    const order = [...this.paused].sort((a, b) => a.seq - b.seq);
    for (const r of order) {
      const blocks = blocksPerLayer(r.kvTokens + 1);
      const fits = (p: Placement): boolean => this.ledger.gpuUsed + (this.layers - p.offloaded.length) * blocks <= this.budgetBlocks;
      if (!fits(r.placement)) {
        const half = this.placements.distance(1);
        this.setPlacement(r, fits(half) ? half : this.placements.distance(0), false);
      }
      this.resume(r);
    }
  }

  // ── pause / resume / preempt / finish ─────────────────────────────────────────────────────

  private pause(r: EngineRequest): void {
    removeFrom(this.running, r);
    this.paused.push(r);
    r.phase = 'paused';
    r.hostOnly = this.placements.distance(ALL_OFFLOADED);
    this.ledger.setGpu(r, 0);
    this.counters.pauses++;
  }

  private resume(r: EngineRequest): void {
    removeFrom(this.paused, r);
    this.running.push(r);
    r.phase = 'running';
    this.ledger.setGpu(r, r.gpuLayers * blocksPerLayer(r.kvTokens));
    this.counters.resumes++;
  }

  /** vLLM's recompute preemption: drop the KV, requeue at the head, re-prefill prompt + generated later. */
  private preempt(r: EngineRequest): void {
    removeFrom(this.running, r);
    this.ledger.release(r);
    r.kvTokens = 0;
    r.decided = false;
    r.phase = 'waiting';
    r.preemptions++;
    this.waiting.pushFront(r);
    this.membershipVersion++;
    this.counters.preemptions++;
  }

  private finish(r: EngineRequest, reason: FinishReason, now: number): void {
    const was = r.phase;
    if (was === 'finished') return;
    if (was === 'running') removeFrom(this.running, r);
    else if (was === 'paused') removeFrom(this.paused, r);
    else if (was === 'waiting') this.waiting.forget();
    if (was === 'running' || was === 'paused') this.membershipVersion++;
    this.ledger.release(r);
    r.phase = 'finished';
    r.finishReason = reason;
    r.finishedMs = now;
    if (reason === 'length') this.counters.finished++;
    else if (reason === 'abort') this.counters.aborted++;
    else this.counters.rejected++;
    r.listener?.onFinish(reason, now);
  }

  // ── steps ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Decide and cost the next step at engine time `now`: a prefill of newly admitted requests if
   * any can be admitted (decode waits), else one decode step of the running batch. Memory is
   * allocated here; tokens appear at `commitStep`. Returns null when there is nothing to run.
   */
  prepareStep(now: number): StepPlan | null {
    this.nowMs = Math.max(this.nowMs, now);
    this.autoResume();
    const admitted = this.admit(now);
    let plan: StepPlan | null = null;
    if (admitted.length > 0) plan = this.preparePrefill(now, admitted);
    else if (this.running.length > 0) plan = this.prepareDecode(now);
    this.inFlight = plan;
    return plan;
  }

  private newestRunning(): EngineRequest {
    let v = this.running[0];
    for (const r of this.running) if (r.seq > v.seq) v = r;
    return v;
  }

  /** Growth must fit: every running request adds one token to each of its GPU-resident layers. */
  private growthFits(): boolean {
    let gpuNeed = 0;
    let hostNeed = 0;
    for (const r of this.running) {
      const b = blocksPerLayer(r.kvTokens + 1);
      gpuNeed += r.gpuLayers * b;
      if (this.hostTier) hostNeed += this.layers * b;
    }
    if (this.hostTier) for (const r of this.paused) hostNeed += r.hostBlocks;
    return gpuNeed <= this.budgetBlocks && hostNeed <= this.hostBlocksTotal;
  }

  private prepareDecode(now: number): StepPlan | null {
    const L = this.layers;
    const preempted: string[] = [];
    let fallback = false;
    this.placementsChanged = false;
    this.rules.beforeDecode(this);
    while (this.running.length > 0 && !this.growthFits()) {
      if (this.rules.relieveMemory && !fallback) {
        fallback = true;
        this.rules.relieveMemory(this);
        continue;
      }
      const victim = this.newestRunning();
      preempted.push(victim.id);
      // A request that cannot grow even alone would be preempted forever: end it.
      if (this.running.length === 1) this.finish(victim, 'abort', now);
      else this.preempt(victim);
      if (fallback) this.rules.relieveMemory?.(this);
      else this.rules.beforeDecode(this);
    }
    if (fallback) this.counters.fallbacks++;
    if (this.running.length === 0) return null;

    const cost = this.cost;
    let bytesReloaded = 0;
    const B = this.running.length;
    const reqs = this.stepReqs;
    reqs.length = B;
    for (let i = 0; i < B; i++) {
      const r = this.running[i];
      if (r.hostOnly !== r.placement) bytesReloaded += (r.hostOnly.offloaded.length - r.placement.offloaded.length) * cost.requestLayerBytes(r.kvTokens);
      r.kvTokens++;
      const blocks = blocksPerLayer(r.kvTokens);
      this.ledger.setGpu(r, r.gpuLayers * blocks);
      if (this.hostTier) this.ledger.setHost(r, L * blocks);
      const sr = reqs[i];
      if (sr === undefined) reqs[i] = { contextTokens: r.kvTokens, placement: r.hostOnly };
      else {
        sr.contextTokens = r.kvTokens;
        sr.placement = r.hostOnly;
      }
    }
    const sc = cost.stepTime(reqs);
    // What the reloads added: the same step with every layer already where its placement wants it.
    let reloadMs = 0;
    if (bytesReloaded > 0) {
      for (let i = 0; i < B; i++) {
        const r = this.running[i];
        reqs[i].placement = r.placement;
        r.hostOnly = r.placement;
      }
      reloadMs = sc.totalMs - cost.stepTime(reqs).totalMs;
    }
    // Each layer's forward writes the batch's new K/V to the host copy: L small D2H copies.
    const wbBytes = this.hostTier ? B * cost.tokenLayerBytes : 0;
    const writeThroughMs = this.hostTier ? L * cost.d2hMs(wbBytes) : 0;
    const noise = this.noise();
    // The write-through runs on the device-to-host copy engine, beside the layers' compute (as the
    // prefill's does): only what outlasts the compute lengthens the step.
    const durationMs = (sc.totalMs + Math.max(0, writeThroughMs - sc.computeMs) + this.stepOverheadMs) * noise;
    if (this.placementsChanged && this.recordTimeline) this.pushTimeline(fallback ? 'fallback' : 'policy', undefined, [], []);
    return this.makePlan('decode', now, durationMs, this.running.slice(), {
      predictedMs: sc.totalMs - reloadMs, computeMs: sc.computeMs, transferMs: sc.transferMs, stallMs: sc.stallMs,
      reloadMs, writeThroughMs, noise, bytesFetched: sc.bytesMoved - bytesReloaded, bytesReloaded, bytesWrittenBack: L * wbBytes, fallback, preempted,
    });
  }

  private preparePrefill(now: number, admitted: EngineRequest[]): StepPlan {
    const cost = this.cost;
    let computeMs = 0;
    let kvBytes = 0;
    for (const r of admitted) {
      computeMs += cost.prefillMs(r.kvTokens);
      kvBytes += r.kvTokens * cost.tokenLayerBytes * this.layers;
    }
    // The host copy is written layer by layer while later layers compute: it overlaps.
    const writeThroughMs = this.hostTier ? cost.d2hMs(kvBytes) : 0;
    const base = Math.max(computeMs, writeThroughMs);
    const noise = this.noise();
    const durationMs = (base + this.stepOverheadMs) * noise;
    if (this.recordTimeline && this.placementsChanged) this.pushTimeline('policy', undefined, [], []);
    this.placementsChanged = false;
    return this.makePlan('prefill', now, durationMs, admitted, {
      predictedMs: computeMs, computeMs, transferMs: 0, stallMs: base - computeMs, reloadMs: 0, writeThroughMs, noise,
      bytesFetched: 0, bytesReloaded: 0, bytesWrittenBack: this.hostTier ? kvBytes : 0, fallback: false, preempted: [],
    });
  }

  private makePlan(
    kind: 'prefill' | 'decode', now: number, durationMs: number, batch: EngineRequest[],
    x: { predictedMs: number; computeMs: number; transferMs: number; stallMs: number; reloadMs: number; writeThroughMs: number; noise: number;
      bytesFetched: number; bytesReloaded: number; bytesWrittenBack: number; fallback: boolean; preempted: string[] },
  ): StepPlan {
    const step = this.step + 1;
    const breakdown: StepBreakdown = {
      step, kind, startMs: now, endMs: now + durationMs, durationMs, plannedMs: durationMs, predictedMs: x.predictedMs,
      computeMs: x.computeMs, transferMs: x.transferMs, stallMs: x.stallMs, reloadMs: x.reloadMs,
      writeThroughMs: x.writeThroughMs, overheadMs: this.stepOverheadMs, noiseFactor: x.noise,
      bytesFetched: x.bytesFetched, bytesReloaded: x.bytesReloaded, bytesWrittenBack: x.bytesWrittenBack,
      batchIds: batch.map((r) => r.id),
      gpuBlocksUsed: this.ledger.gpuUsed, fallback: x.fallback, preempted: x.preempted,
    };
    return { step, kind, startMs: now, endMs: now + durationMs, batch, breakdown };
  }

  /** Finish the step at engine time `now` (≥ its planned end): stamp one token per batch request. */
  commitStep(plan: StepPlan, now: number): void {
    this.nowMs = Math.max(this.nowMs, now);
    for (const r of plan.batch) {
      if (r.phase !== 'running' && r.phase !== 'paused') continue;
      const i = r.generated++;
      r.tokenTimesMs[i] = now;
      r.lastTokenMs = now;
      r.listener?.onToken(i, now);
      if (r.generated >= r.outputTarget) this.finish(r, 'length', now);
    }
    const b = plan.breakdown;
    b.endMs = now;
    b.durationMs = now - plan.startMs;
    this.step = plan.step;
    this.lastStep = b;
    this.inFlight = null;
    const c = this.counters;
    c.steps++;
    if (plan.kind === 'decode') c.decodeSteps++;
    else c.prefillSteps++;
    c.bytesFetched += b.bytesFetched;
    c.bytesReloaded += b.bytesReloaded;
    c.bytesWrittenBack += b.bytesWrittenBack;
    this.gpuUseSum += this.budgetBlocks > 0 ? b.gpuBlocksUsed / this.budgetBlocks : 0;
    for (const fn of this.stepListeners) fn(b);
  }

  // ── decisions (control protocol and drivers) ──────────────────────────────────────────────

  /** Validate and apply a plan all-or-nothing; effects (frees, reload costs, admissions) land on the next step. */
  applyDecision(d: PlacementDecision, source: 'driver' | 'control'): DecisionResult {
    const res = this.checkDecision(d);
    if (!res.ok) {
      this.counters.decisionsRejected++;
      return res;
    }
    for (const s of d.placements) this.setPlacement(this.byId.get(s.id)!, this.placementOf(s), true);
    for (const id of d.pause ?? []) this.pause(this.byId.get(id)!);
    for (const id of d.resume ?? []) if (this.byId.get(id)!.phase === 'paused') this.resume(this.byId.get(id)!);
    for (const id of d.reject ?? []) this.finish(this.byId.get(id)!, 'rejected', this.nowMs);
    if (d.admit !== undefined || d.holdSteps !== undefined || d.defer !== undefined) {
      const hold = Math.min(d.holdSteps ?? 0, MAX_HOLD_STALENESS * this.stalenessSteps);
      this.directive = { grants: (d.admit ?? []).map((s) => ({ id: s.id, placement: this.placementOf(s) })), holdUntilStep: this.step + hold, deferred: new Set(d.defer ?? []) };
    }
    this.counters.decisionsApplied++;
    if (this.recordTimeline) this.pushTimeline(source, d.note, [...(d.pause ?? [])], [...(d.resume ?? [])]);
    return { ok: true, appliedAtStep: res.appliedAtStep };
  }

  /** The request behind an id of a decision, if it is in one of `phases`; otherwise why not. */
  private requestIn(id: string, phases: readonly RequestPhase[], what: string): EngineRequest | Refusal {
    const r = this.byId.get(id);
    if (!r || r.phase === 'finished' || r.phase === 'pending') return { ok: false, code: 'unknown-id', reason: `unknown or inactive request '${id}'` };
    if (!phases.includes(r.phase)) return { ok: false, code: 'wrong-state', reason: `request '${id}' is ${r.phase}, cannot ${what}` };
    return r;
  }

  private checkSpec(s: PlacementSpec, where: string): Placement | Refusal {
    const L = this.layers;
    const invalid = (reason: string): Refusal => ({ ok: false, code: 'invalid', reason });
    if ((s.distance === undefined) === (s.layers === undefined)) return invalid(`${where} of '${s.id}' needs exactly one of distance or layers`);
    if (s.distance !== undefined) {
      if (!Number.isInteger(s.distance) || s.distance < -1 || s.distance > L) return invalid(`distance of '${s.id}' must be an integer in −1..${L}, got ${s.distance}`);
      return this.placements.distance(s.distance);
    }
    for (const l of s.layers!) if (!Number.isInteger(l) || l < 0 || l >= L) return invalid(`layers of '${s.id}': ${l} is outside 0..${L - 1}`);
    return this.placements.layersList(s.layers!);
  }

  private checkDecision(d: PlacementDecision): DecisionResult {
    const invalid = (reason: string): Refusal => ({ ok: false, code: 'invalid', reason });
    if (d.basedOnStep !== undefined) {
      if (!Number.isInteger(d.basedOnStep) || d.basedOnStep < 0) return invalid(`based_on_step must be an integer ≥ 0, got ${d.basedOnStep}`);
      if (d.basedOnStep > this.step) return invalid(`based_on_step ${d.basedOnStep} is ahead of the engine (step ${this.step})`);
      if (d.basedOnStep < this.step - this.stalenessSteps) {
        return { ok: false, code: 'stale', reason: `stale plan: based on step ${d.basedOnStep}, engine is at step ${this.step} (bound ${this.stalenessSteps} steps)` };
      }
    }
    if (d.holdSteps !== undefined && !(Number.isInteger(d.holdSteps) && d.holdSteps >= 0)) return invalid(`hold_steps must be an integer ≥ 0, got ${d.holdSteps}`);
    const seen = new Set<string>();
    const newPlacement = new Map<EngineRequest, Placement>();
    for (const s of d.placements) {
      if (seen.has(s.id)) return invalid(`request '${s.id}' appears twice in placements`);
      seen.add(s.id);
      const r = this.requestIn(s.id, ['running', 'paused'], 'place it');
      if (!(r instanceof EngineRequest)) return r;
      const p = this.checkSpec(s, 'placement');
      if ('ok' in p) return p;
      newPlacement.set(r, p);
    }
    const listed = (ids: readonly string[] | undefined, phase: RequestPhase, what: string): Set<EngineRequest> | Refusal => {
      const set = new Set<EngineRequest>();
      for (const id of ids ?? []) {
        const r = this.requestIn(id, [phase], what);
        if (!(r instanceof EngineRequest)) return r;
        if (set.has(r)) return invalid(`request '${id}' appears twice in ${what}`);
        set.add(r);
      }
      return set;
    };
    const pause = listed(d.pause, 'running', 'pause');
    if (!(pause instanceof Set)) return pause;
    // A resume of a request the engine already brought back (it resumes on its own when nothing runs) is void.
    const resume = listed(d.resume?.filter((id) => this.byId.get(id)?.phase !== 'running'), 'paused', 'resume');
    if (!(resume instanceof Set)) return resume;
    const rejected = listed(d.reject, 'waiting', 'reject');
    if (!(rejected instanceof Set)) return rejected;
    const admitted = new Set<string>();
    // A grant for a request that is no longer waiting (admitted meanwhile, cancelled) is void, not an
    // error: admission plans are made a step ahead of an engine that keeps moving.
    for (const s of d.admit ?? []) {
      if (admitted.has(s.id)) return invalid(`request '${s.id}' appears twice in admit`);
      const r = this.byId.get(s.id);
      if (r && rejected.has(r)) return invalid(`request '${s.id}' is both admitted and rejected`);
      admitted.add(s.id);
      const p = this.checkSpec(s, 'admission');
      if ('ok' in p) return p;
    }
    if (pause.size > 0 && !this.hostTier) return { ok: false, code: 'not-pausable', reason: `policy ${this.policy} keeps no host copy, so it cannot pause` };
    // The plan must hold the next step's growth of everything that will be running.
    let need = 0;
    const count = (r: EngineRequest): void => {
      const p = newPlacement.get(r) ?? r.placement;
      need += (this.layers - p.offloaded.length) * blocksPerLayer(r.kvTokens + 1);
    };
    for (const r of this.running) if (!pause.has(r)) count(r);
    for (const r of resume) count(r);
    if (need > this.budgetBlocks) {
      return { ok: false, code: 'over-budget', reason: `over budget: the plan needs ${need} GPU blocks for the next step, the budget is ${this.budgetBlocks}` };
    }
    return { ok: true, appliedAtStep: this.step + (this.inFlight ? 2 : 1) };
  }

  private pushTimeline(source: TimelineEntry['source'], note: PlacementDecision['note'] | undefined, pause: string[], resume: string[]): void {
    const placements: TimelineEntry['placements'] = [];
    for (const r of this.running) placements.push({ id: r.id, distance: r.placement.distance, offloaded: r.placement.offloaded.length });
    for (const r of this.paused) placements.push({ id: r.id, distance: r.placement.distance, offloaded: r.placement.offloaded.length });
    this.timeline.push({ step: this.step + 1, timeMs: this.nowMs, source, placements, pause, resume, ...(note ? { note } : {}) });
  }

  // ── views ─────────────────────────────────────────────────────────────────────────────────

  forEachActive(fn: (r: ActiveRequestView) => void): void {
    const one = (r: EngineRequest, paused: boolean): ActiveRequestView => ({
      id: r.id,
      contextTokens: r.kvTokens,
      generatedTokens: r.generated,
      outputTokens: r.outputTarget,
      lastTokenMs: r.lastTokenMs,
      firstTokenMs: r.generated > 0 ? r.tokenTimesMs[0] : Number.NaN,
      paused,
      distance: r.placement.distance,
      offloaded: r.placement.offloaded,
      sloTpotMs: r.sloTpotMs,
    });
    for (const r of this.running) fn(one(r, false));
    for (const r of this.paused) fn(one(r, true));
  }

  forEachWaiting(limit: number, fn: (r: WaitingRequestView) => void): void {
    let n = 0;
    for (const r of this.waiting) {
      if (n++ >= limit) return;
      fn({ id: r.id, prefillTokens: r.prefillTokens, generatedTokens: r.generated, outputTokens: r.outputTarget, arrivalMs: r.arrivalMs, sloTpotMs: r.sloTpotMs });
    }
  }

  stagingBlocks(): number {
    let s = 0;
    for (const r of this.running) if (r.placement.offloaded.length > 0) s += blocksPerLayer(r.kvTokens);
    return s;
  }

  snapshot(): EngineSnapshot {
    const reqs: RequestSnapshot[] = [];
    const one = (r: EngineRequest): RequestSnapshot => ({
      id: r.id,
      state: r.phase === 'running' ? 'running' : r.phase === 'paused' ? 'paused' : 'waiting',
      promptTokens: r.promptTokens,
      contextTokens: r.kvTokens,
      generatedTokens: r.generated,
      outputTokens: r.outputTarget,
      distance: r.phase === 'waiting' ? null : r.placement.distance,
      offloadedLayers: r.phase === 'waiting' ? [] : [...r.placement.offloaded],
      gpuLayers: r.phase === 'waiting' ? 0 : r.gpuLayers,
      gpuBlocks: r.gpuBlocks,
      paused: r.phase === 'paused',
      lastTokenMs: Number.isNaN(r.lastTokenMs) ? null : r.lastTokenMs,
      firstTokenMs: r.generated > 0 ? r.tokenTimesMs[0] : null,
      arrivalMs: r.arrivalMs,
      preemptions: r.preemptions,
    });
    for (const r of this.running) reqs.push(one(r));
    for (const r of this.paused) reqs.push(one(r));
    for (const r of this.waiting) reqs.push(one(r));
    return {
      model: this.modelName,
      policy: this.policy,
      layers: this.layers,
      blockTokens: BLOCK_TOKENS,
      blockBytes: this.cost.blockBytes,
      step: this.step,
      timeMs: this.nowMs,
      maxNumSeqs: this.maxNumSeqs,
      stalenessSteps: this.stalenessSteps,
      gpuBlocks: { total: this.budgetBlocks, used: this.ledger.gpuUsed, free: this.budgetBlocks - this.ledger.gpuUsed },
      hostBlocks: { total: this.hostBlocksTotal, used: this.ledger.hostUsed, free: this.hostBlocksTotal - this.ledger.hostUsed },
      stagingBlocks: this.stagingBlocks(),
      requests: reqs,
      lastStep: this.lastStep,
      counters: { ...this.counters },
    };
  }

  /** The ledger's invariants (src/engine/block-ledger.ts) over every known request, plus max-num-seqs. For tests. */
  checkInvariants(): void {
    this.ledger.audit(this.byId.values());
    if (this.running.length + this.paused.length > this.maxNumSeqs) throw new Error('more sequences than max-num-seqs');
  }
}

function removeFrom(xs: EngineRequest[], r: EngineRequest): void {
  const i = xs.indexOf(r);
  if (i >= 0) xs.splice(i, 1);
}
