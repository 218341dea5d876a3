import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTrace, type SyntheticSpec } from './generators.js';
import { formatAzureCsv, formatMooncakeJsonl, formatOrbitflowJson } from './writers.js';

export interface SampleTrace {
  /** File name inside traces/. */
  name: string;
  content: string;
  spec: SyntheticSpec;
}

/** Step length the artifact-format sample was written with: replay it with `--step-ms 25`. */
export const SAMPLE_ORBITFLOW_STEP_MS = 25;

/**
 * The sample traces shipped in traces/ (documented in traces/README.md). Synthetic, seeded and
 * small: outputs are capped at 256 tokens so a replay against the simulated engine finishes fast.
 */
export function sampleTraces(): SampleTrace[] {
  // Azure conv-like: gamma arrivals with the conv trace's inter-arrival CV (1.09) and its
  // input/output length CVs (0.96 / 0.77), at 2 req/s.
  const azure: SyntheticSpec = {
    requests: 60,
    seed: 1,
    arrivals: { kind: 'gamma', ratePerS: 2, cv: 1.09 },
    lengths: {
      kind: 'independent',
      input: { kind: 'lognormal', mean: 1000, cv: 0.96, min: 2, max: 8192 },
      output: { kind: 'lognormal', mean: 200, cv: 0.77, min: 1, max: 256 },
    },
  };
  // Mooncake-like: Poisson arrivals floored onto the conversation trace's 3 s grid, 512-token
  // prefix hashes with 40 % of requests reusing an earlier request's leading blocks.
  const mooncake: SyntheticSpec = {
    requests: 60,
    seed: 2,
    arrivals: { kind: 'poisson', ratePerS: 2 },
    gridMs: 3000,
    lengths: {
      kind: 'independent',
      input: { kind: 'lognormal', mean: 4000, cv: 1, min: 64, max: 16384 },
      output: { kind: 'lognormal', mean: 200, cv: 1, min: 1, max: 256 },
    },
    hashIds: { blockTokens: 512, reuseProbability: 0.4 },
  };
  // The paper's LognormalArrival (cv 2) with lengths uniform within ±20 % of 1024 in / 192 out.
  const lognormal: SyntheticSpec = {
    requests: 60,
    seed: 3,
    arrivals: { kind: 'lognormal', ratePerS: 2, cv: 2 },
    lengths: { kind: 'independent', input: { kind: 'uniform', min: 819, max: 1229 }, output: { kind: 'uniform', min: 154, max: 230 } },
    hashIds: { blockTokens: 512, reuseProbability: 0 },
  };
  // Artifact format: the memory-pressure traces' class mix (short-short 83 %, long-in short-out
  // 17 %), bins ±20 %, with per-request TPOT SLOs.
  const orbitflow: SyntheticSpec = {
    requests: 40,
    seed: 4,
    arrivals: { kind: 'lognormal', ratePerS: 1, cv: 1 },
    lengths: {
      kind: 'mixture',
      classes: [
        { weight: 83, class: 'SS_I192-304_O154-230', input: { kind: 'uniform', min: 192, max: 304 }, output: { kind: 'uniform', min: 154, max: 230 }, tpotSloMs: 100 },
        { weight: 17, class: 'LS_I3276-4915_O154-230', input: { kind: 'uniform', min: 3276, max: 4915 }, output: { kind: 'uniform', min: 154, max: 230 }, tpotSloMs: 200 },
      ],
    },
  };
  return [
    { name: 'sample-azure-conv.csv', spec: azure, content: formatAzureCsv(generateTrace(azure), Date.UTC(2024, 0, 1)) },
    { name: 'sample-mooncake.jsonl', spec: mooncake, content: formatMooncakeJsonl(generateTrace(mooncake)) },
    { name: 'sample-lognormal.jsonl', spec: lognormal, content: formatMooncakeJsonl(generateTrace(lognormal)) },
    {
      name: 'sample-orbitflow.json',
      spec: orbitflow,
      content: formatOrbitflowJson(generateTrace(orbitflow), {
        batchSize: 4,
        maxModelLen: 32384,
        budgetShare: 0.23,
        arrivalPattern: `LognormalArrival(lambda=${SAMPLE_ORBITFLOW_STEP_MS / 1000},cv=1)`,
        stepMs: SAMPLE_ORBITFLOW_STEP_MS,
      }),
    },
  ];
}

/** Writes the samples into `dir`; returns the paths written. */
export function writeSampleTraces(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return sampleTraces().map((s) => {
    const path = join(dir, s.name);
    writeFileSync(path, s.content);
    return path;
  });
}
