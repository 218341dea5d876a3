import { usageError } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';
import type { TraceRequest } from './types.js';

/** Inter-arrival processes. All have mean gap 1/ratePerS; `cv` is the gaps' coefficient of variation. */
export type ArrivalProcess =
  | { kind: 'poisson'; ratePerS: number }
  /** Gamma gaps with shape 1/cv² (vLLM's `--burstiness` is this shape). */
  | { kind: 'gamma'; ratePerS: number; cv: number }
  /** The OrbitFlow artifact's LognormalArrival: σ = √(ln(cv²+1)), μ = ln(1/λ) − σ²/2. */
  | { kind: 'lognormal'; ratePerS: number; cv: number };

/** Token-length distributions; results are integers clamped to [min, max] (min defaults to 1). */
export type LengthDist =
  | { kind: 'fixed'; tokens: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'lognormal'; mean: number; cv: number; min?: number; max?: number };

export interface LengthClass {
  weight: number;
  /** Becomes the request's `class` (the artifact's `category`). */
  class?: string;
  input: LengthDist;
  output: LengthDist;
  /** Per-request TPOT SLO for this class, ms. */
  tpotSloMs?: number;
}

export type LengthModel =
  | { kind: 'independent'; input: LengthDist; output: LengthDist }
  /** Input and output drawn together from another trace's rows (keeps their correlation). */
  | { kind: 'rows'; rows: readonly { inputTokens: number; outputTokens: number }[] }
  | { kind: 'mixture'; classes: readonly LengthClass[] };

/** Mooncake-style prefix hashes: one id per `blockTokens`; a request reuses an earlier one's leading blocks with `reuseProbability`. */
export interface HashIdSpec {
  blockTokens: number;
  reuseProbability: number;
}

export interface SyntheticSpec {
  requests: number;
  arrivals: ArrivalProcess;
  lengths: LengthModel;
  seed: number;
  /** Floor arrivals onto this grid (ms), as the Mooncake conversation trace is (~3,000 ms). */
  gridMs?: number;
  hashIds?: HashIdSpec;
}

function positive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw usageError(name, `expected a positive number, got ${v}`);
}

/** Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 through the Gamma(shape+1)·U^(1/shape) boost. */
export function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v0 = 1 + c * x;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Lognormal parameters for a given mean and CV (the paper's generator uses the same algebra). */
export function lognormalParams(mean: number, cv: number): { mu: number; sigma: number } {
  const sigma = Math.sqrt(Math.log(cv * cv + 1));
  return { mu: Math.log(mean) - (sigma * sigma) / 2, sigma };
}

/** A sampler of inter-arrival gaps in seconds. */
export function interArrivalSampler(p: ArrivalProcess, rng: Rng): () => number {
  positive('rate', p.ratePerS);
  const meanGapS = 1 / p.ratePerS;
  switch (p.kind) {
    case 'poisson':
      return () => -Math.log(1 - rng.next()) * meanGapS;
    case 'gamma': {
      positive('cv', p.cv);
      const shape = 1 / (p.cv * p.cv);
      const scale = meanGapS / shape;
      return () => sampleGamma(rng, shape) * scale;
    }
    case 'lognormal': {
      positive('cv', p.cv);
      const { mu, sigma } = lognormalParams(meanGapS, p.cv);
      return () => Math.exp(mu + sigma * rng.normal());
    }
  }
}

/** A sampler of integer token counts. */
export function lengthSampler(d: LengthDist, rng: Rng): () => number {
  switch (d.kind) {
    case 'fixed':
      return () => d.tokens;
    case 'uniform':
      if (!(Number.isInteger(d.min) && Number.isInteger(d.max) && d.min >= 0 && d.max >= d.min)) throw usageError('length', `uniform needs integers 0 <= min <= max, got ${d.min}..${d.max}`);
      return () => rng.int(d.min, d.max);
    case 'lognormal': {
      positive('mean', d.mean);
      positive('cv', d.cv);
      const { mu, sigma } = lognormalParams(d.mean, d.cv);
      const lo = d.min ?? 1;
      const hi = d.max ?? Infinity;
      return () => Math.min(hi, Math.max(lo, Math.round(Math.exp(mu + sigma * rng.normal()))));
    }
  }
}

type Lengths = () => { inputTokens: number; outputTokens: number; class?: string; tpotSloMs?: number };

function lengthsSampler(m: LengthModel, rng: Rng): Lengths {
  switch (m.kind) {
    case 'independent': {
      const input = lengthSampler(m.input, rng);
      const output = lengthSampler(m.output, rng);
      return () => ({ inputTokens: input(), outputTokens: output() });
    }
    case 'rows':
      if (m.rows.length === 0) throw usageError('lengths', 'no rows to sample lengths from');
      return () => {
        const r = m.rows[Math.floor(rng.next() * m.rows.length)];
        return { inputTokens: r.inputTokens, outputTokens: r.outputTokens };
      };
    case 'mixture': {
      const total = m.classes.reduce((a, c) => a + c.weight, 0);
      positive('mixture weights', total);
      const samplers = m.classes.map((c) => ({ c, input: lengthSampler(c.input, rng), output: lengthSampler(c.output, rng) }));
      return () => {
        let u = rng.next() * total;
        let pick = samplers[samplers.length - 1];
        for (const s of samplers) {
          if (u < s.c.weight) {
            pick = s;
            break;
          }
          u -= s.c.weight;
        }
        return { inputTokens: pick.input(), outputTokens: pick.output(), class: pick.c.class, tpotSloMs: pick.c.tpotSloMs };
      };
    }
  }
}

/**
 * A seeded synthetic trace: the first arrival at 0 s, then cumulative gaps. Arrivals, lengths and
 * hashes draw from separate streams of the one seed, so changing the length model keeps the
 * arrival times.
 */
export function generateTrace(spec: SyntheticSpec): TraceRequest[] {
  if (!(Number.isInteger(spec.requests) && spec.requests >= 0)) throw usageError('requests', `expected a non-negative integer, got ${spec.requests}`);
  const gap = interArrivalSampler(spec.arrivals, createRng(spec.seed ^ 0x1f83d9ab));
  const lengths = lengthsSampler(spec.lengths, createRng(spec.seed ^ 0x5be0cd19));
  const hashRng = createRng(spec.seed ^ 0x6a09e667);
  const out: TraceRequest[] = [];
  let t = 0;
  let nextHash = 0;
  for (let i = 0; i < spec.requests; i++) {
    if (i > 0) t += gap();
    const arrivalS = spec.gridMs === undefined ? t : (Math.floor((t * 1000) / spec.gridMs) * spec.gridMs) / 1000;
    const l = lengths();
    const req: TraceRequest = { index: i, id: `r${i}`, arrivalS, inputTokens: l.inputTokens, outputTokens: l.outputTokens, sourceLine: 0 };
    if (l.class !== undefined) req.class = l.class;
    if (l.tpotSloMs !== undefined) req.slo = { tpotMs: l.tpotSloMs };
    if (spec.hashIds !== undefined) {
      const blocks = Math.ceil(l.inputTokens / spec.hashIds.blockTokens);
      const ids: number[] = [];
      if (i > 0 && blocks > 1 && hashRng.next() < spec.hashIds.reuseProbability) {
        const earlier = out[Math.floor(hashRng.next() * out.length)];
        // Only the earlier request's full blocks can be a prefix of a longer prompt.
        const fullBlocks = Math.floor(earlier.inputTokens / spec.hashIds.blockTokens);
        const shared = Math.min(earlier.hashIds?.length ?? 0, fullBlocks, blocks - 1);
        if (shared > 0) ids.push(...earlier.hashIds!.slice(0, hashRng.int(1, shared)));
      }
      while (ids.length < blocks) ids.push(nextHash++);
      req.hashIds = ids;
    }
    out.push(req);
  }
  return out;
}
