import { OrbitflowError } from '../core/errors.js';
import { kvBytesPerBlock, kvBytesPerTokenLayer, blocksPerLayer, weightBytesPerLayer, type ModelSpec } from '../core/model-spec.js';
import type { Placement } from '../core/placement.js';
import { GIB } from '../core/units.js';
import type { DecodeFit, Profile } from '../core/profile-format.js';
import { closedFormStep, layerStallMs } from './step-time.js';
import { TransferCurve } from './transfer-curve.js';

export interface CostModelOptions {
  /** Tensor-parallel degree: KV heads, weights and bytes per link are divided by it. */
  tp?: number;
  /** Use the profile's upper-envelope decode fit (tail-safe plans) when it has one. */
  upper?: boolean;
  /** Runtime correction from the controller: measured / predicted compute, and bandwidth. */
  computeScale?: number;
  bandwidthScale?: number;
}

/** One request of a decode batch as the cost model sees it. */
export interface StepRequest {
  contextTokens: number;
  placement: Placement;
}

/** A decode step's time as a breakdown (Vidur-style), not one number. */
export interface StepCost {
  totalMs: number;
  /** L · t_c: compute of every layer for the whole batch. */
  computeMs: number;
  /** Time compute waited on transfers: totalMs − computeMs. */
  stallMs: number;
  /** Copy-engine busy time for the step's H2D fetches. */
  transferMs: number;
  bytesMoved: number;
  layerComputeMs: number;
}

function sameLayerShape(a: ModelSpec, fitModel: string, lookup: (id: string) => ModelSpec | undefined): boolean {
  const b = lookup(fitModel);
  if (!b) return false;
  return a.layers === b.layers && a.kvHeads === b.kvHeads && a.headDim === b.headDim && a.hiddenSize === b.hiddenSize
    && a.intermediateSize === b.intermediateSize && a.attentionHeads === b.attentionHeads && a.kvDtypeBytes === b.kvDtypeBytes;
}

/**
 * The one cost model: per-layer decode compute from the profile's fit, per-request transfer time
 * from the transfer curve at that copy's size, prefetch overlapped with compute of the preceding
 * layers, GPU KV memory of a placement. Everything in orbitflow that estimates time calls this.
 */
export class CostModel {
  readonly layers: number;
  readonly tp: number;
  /** Bytes of one 16-token block of one layer, per TP rank. */
  readonly blockBytes: number;
  readonly tokenLayerBytes: number;
  private readonly h2d: TransferCurve;
  private readonly d2h: TransferCurve;
  private readonly fit: DecodeFit;
  private readonly computeScale: number;
  private readonly layerWeightBytes: number;

  constructor(
    readonly model: ModelSpec,
    readonly profile: Profile,
    opts: CostModelOptions & { modelLookup?: (id: string) => ModelSpec | undefined } = {},
  ) {
    this.tp = opts.tp ?? 1;
    if (!Number.isInteger(this.tp) || this.tp < 1 || model.kvHeads % this.tp !== 0) {
      throw new OrbitflowError('OF_COST_TP', `--tp: ${this.tp} does not divide ${model.id}'s ${model.kvHeads} KV heads`);
    }
    this.layers = model.layers;
    this.blockBytes = kvBytesPerBlock(model, this.tp);
    this.tokenLayerBytes = kvBytesPerTokenLayer(model, this.tp);
    this.layerWeightBytes = weightBytesPerLayer(model, this.tp);
    const bw = opts.bandwidthScale ?? 1;
    // KV-shaped copies are what a fetch really is; fall back to plain pinned copies.
    const kv = profile.transfer.kv_block_h2d;
    this.h2d = new TransferCurve(kv && kv.length > 0 ? kv : profile.transfer.h2d_pinned, bw);
    this.d2h = new TransferCurve(profile.transfer.d2h_pinned, bw);
    this.fit = (opts.upper && profile.decode.upper_fit) || profile.decode.fit;
    this.computeScale = opts.computeScale ?? 1;
    if (this.fit.form === 'linear' && this.fit.model !== model.id) {
      const ok = opts.modelLookup ? sameLayerShape(model, this.fit.model, opts.modelLookup) : false;
      if (!ok) {
        throw new OrbitflowError(
          'OF_COST_FIT_MODEL',
          `profile ${profile.id}: its decode fit was measured for ${this.fit.model}, not ${model.id}`,
          { hint: `use --model ${this.fit.model}, or a profile with a roofline fit (profiles/*-datasheet.json)` },
        );
      }
    }
  }

  /** t_c: one layer's decode compute for the whole batch, in ms. */
  layerComputeMs(batchSize: number, totalContextTokens: number): number {
    if (batchSize === 0) return 0;
    const f = this.fit;
    let ms: number;
    if (f.form === 'linear') {
      // A fit measured at another TP degree: weights and KV per rank scale by fit.tp / tp.
      const s = f.tp / this.tp;
      ms = f.base_ms * s + f.per_seq_ms * batchSize + f.per_token_ms * totalContextTokens * s;
    } else {
      const bytesPerMs = (f.hbm_gib_per_s * GIB * f.efficiency) / 1000;
      ms = f.overhead_ms + (this.layerWeightBytes + totalContextTokens * this.tokenLayerBytes) / bytesPerMs + f.per_seq_ms * batchSize;
    }
    return ms * this.computeScale;
  }

  /** Bytes of one layer of a request with `contextTokens` of KV. */
  requestLayerBytes(contextTokens: number): number {
    return blocksPerLayer(contextTokens) * this.blockBytes;
  }

  /** Time to fetch one layer of one request (one KV-shaped copy of all its blocks). */
  requestLayerTransferMs(contextTokens: number): number {
    return this.h2d.timeMs(this.requestLayerBytes(contextTokens));
  }

  h2dMs(bytes: number): number {
    return this.h2d.timeMs(bytes);
  }

  d2hMs(bytes: number): number {
    return this.d2h.timeMs(bytes);
  }

  /** Per-layer H2D time of the batch: comm[j] = Σ over requests offloading layer j of their copy time. */
  layerTransferMs(reqs: readonly StepRequest[]): { comm: Float64Array; bytes: number } {
    const comm = new Float64Array(this.layers);
    let bytes = 0;
    for (const r of reqs) {
      if (r.placement.offloaded.length === 0) continue;
      const t = this.requestLayerTransferMs(r.contextTokens);
      const b = this.requestLayerBytes(r.contextTokens);
      for (const l of r.placement.offloaded) comm[l] += t;
      bytes += b * r.placement.offloaded.length;
    }
    return { comm, bytes };
  }

  /**
   * Closed form (orbitflow-method.md §4.5): with copies issued in layer order from the start of
   * the step and an unbounded staging area, T = L·t_c + max_j (D_j − j·t_c)⁺ over 0-based j,
   * D_j the copy time of layers 0..j.
   */
  stepTime(reqs: readonly StepRequest[]): StepCost {
    const tc = this.layerComputeMs(reqs.length, totalContext(reqs));
    const { comm, bytes } = this.layerTransferMs(reqs);
    const k = closedFormStep(comm, this.layers, tc);
    return { totalMs: k.stepMs, computeMs: this.layers * tc, stallMs: k.stallMs, transferMs: k.transferMs, bytesMoved: bytes, layerComputeMs: tc };
  }

  /** The closed-form step split per layer: compute t_c of every layer, and what each layer waited on copies. */
  layerSplit(reqs: readonly StepRequest[]): { layerComputeMs: number; layerStallMs: Float64Array } {
    const tc = this.layerComputeMs(reqs.length, totalContext(reqs));
    return { layerComputeMs: tc, layerStallMs: layerStallMs(this.layerTransferMs(reqs).comm, this.layers, tc) };
  }

  /**
   * Layer-by-layer event evaluation of the same step: one copy engine runs each request's fetch of
   * each offloaded layer in layer order (at most `lookaheadLayers` layers ahead of compute, since
   * the staging area holds that many); layer j computes once layer j−1 is done and all its copies
   * have landed. With an unbounded lookahead it must equal `stepTime`.
   */
  stepTimeEvents(reqs: readonly StepRequest[], lookaheadLayers = Infinity): StepCost {
    const tc = this.layerComputeMs(reqs.length, totalContext(reqs));
    const copies: { layer: number; ms: number; bytes: number }[] = [];
    for (const r of reqs) {
      const ms = this.requestLayerTransferMs(r.contextTokens);
      const b = this.requestLayerBytes(r.contextTokens);
      for (const l of r.placement.offloaded) copies.push({ layer: l, ms, bytes: b });
    }
    copies.sort((a, b) => a.layer - b.layer);
    const computeStart = new Float64Array(this.layers);
    let engineFree = 0;
    let next = 0;
    let prevEnd = 0;
    let busy = 0;
    let bytes = 0;
    for (let j = 0; j < this.layers; j++) {
      let landed = 0;
      while (next < copies.length && copies[next].layer === j) {
        const gate = j - lookaheadLayers >= 0 ? computeStart[j - lookaheadLayers] : 0;
        const start = Math.max(engineFree, gate);
        engineFree = start + copies[next].ms;
        busy += copies[next].ms;
        bytes += copies[next].bytes;
        landed = engineFree;
        next++;
      }
      computeStart[j] = Math.max(prevEnd, landed);
      prevEnd = computeStart[j] + tc;
    }
    const computeMs = this.layers * tc;
    const totalMs = reqs.length === 0 ? 0 : prevEnd;
    return { totalMs, computeMs, stallMs: totalMs - computeMs, transferMs: busy, bytesMoved: bytes, layerComputeMs: tc };
  }

  /** GPU per-layer blocks a request holds under a placement, with room for `growthTokens` more tokens. */
  gpuBlocks(contextTokens: number, placement: Placement, growthTokens = 0): number {
    return (this.layers - placement.offloaded.length) * blocksPerLayer(contextTokens + growthTokens);
  }

  /** Per-layer blocks that fit in `gib` GiB of GPU KV memory (per TP rank). */
  budgetBlocksFromGiB(gib: number): number {
    return Math.floor((gib * GIB) / this.blockBytes);
  }

  blocksToGiB(blocks: number): number {
    return (blocks * this.blockBytes) / GIB;
  }

  /**
   * Prefill of `tokens` prompt tokens (one request): dense GEMMs at the profile's prefill
   * efficiency of the GPU's dense throughput, plus causal attention (2·T²·heads·head_dim FLOPs per layer).
   */
  prefillMs(tokens: number): number {
    const tflops = this.profile.provenance.gpu.dense_tflops;
    if (!tflops) {
      throw new OrbitflowError('OF_COST_PREFILL', `profile ${this.profile.id}: provenance.gpu.dense_tflops is needed for prefill time`);
    }
    const m = this.model;
    const weightParams = this.layerWeightBytes / m.weightDtypeBytes;
    const flopsPerLayer = 2 * weightParams * tokens + (2 * tokens * tokens * m.attentionHeads * m.headDim) / this.tp;
    const flopsPerMs = (tflops * 1e12 * this.profile.decode.prefill_efficiency) / 1000;
    // Reading the layer's weights once bounds short prompts from below.
    const floor = this.layerComputeMs(1, tokens);
    return this.layers * Math.max(flopsPerLayer / flopsPerMs, floor) * this.computeScale;
  }

  /** Decode step time with every layer on the GPU (the SLO base in the paper). */
  allOnGpuStepMs(batchSize: number, totalContextTokens: number): number {
    return this.layers * this.layerComputeMs(batchSize, totalContextTokens);
  }
}

export function totalContext(reqs: readonly StepRequest[]): number {
  let x = 0;
  for (const r of reqs) x += r.contextTokens;
  return x;
}
