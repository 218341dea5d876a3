import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../core/errors.js';
import { resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { Worker } from 'node:worker_threads';
import { startEngineServer, type EngineServer } from '../engine/server.js';
import type { EnginePolicyName } from '../engine/types.js';
import { provenanceLine, type Profile } from '../core/profile-format.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';

/** The embedded default: what `replay` runs against when no --endpoint is given. */
export const EMBEDDED_DEFAULTS = {
  model: 'llama-3.1-8b',
  profile: 'h100-sxm.datasheet.json',
  /**
   * Serves every request of the shipped samples (the largest, 16,607 tokens in sample-mooncake,
   * needs 1.02 GiB even at the widest offload; test/e2e/embedded-samples.test.ts checks them all),
   * yet small enough that they need offloading, so the controller has work to do.
   */
  gpuKvGib: 2,
  maxNumSeqs: 16,
} as const;

export interface EmbeddedEngineOptions {
  engineModel?: string;
  engineModelConfig?: string;
  engineProfile?: string;
  engineGpuKvGib?: number;
  engineMaxNumSeqs?: number;
  engineNoiseCv?: number;
  engineTimeScale?: number;
  seed?: number;
}

export interface EmbeddedEngine {
  server: { url: string; close(): Promise<void> };
  model: ModelSpec;
  profile: LoadedProfile;
  description: string;
}

/** The shipped profiles folder, found from the compiled file (dist/src/cli → ../../../profiles). */
export function shippedProfile(name: string, option = '--engine-profile'): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../profiles', '../../profiles', '../profiles']) {
    const p = resolve(here, up, name);
    if (existsSync(p)) return p;
  }
  throw usageError(option, `the shipped profile ${name} was not found next to orbitflow; pass ${option} FILE`);
}

/** What the worker thread needs to start the engine. */
export interface EngineWorkerInput {
  model: ModelSpec;
  profile: Profile;
  gpuKvGib: number;
  policy: EnginePolicyName;
  maxNumSeqs: number;
  noiseCv?: number;
  seed?: number;
  timeScale?: number;
}

/** Inside the worker: start the engine server. */
export function startEngineFromInput(i: EngineWorkerInput): Promise<EngineServer> {
  return startEngineServer({
    model: i.model,
    profile: i.profile,
    gpuKvGib: i.gpuKvGib,
    policy: i.policy,
    maxNumSeqs: i.maxNumSeqs,
    noiseCv: i.noiseCv,
    seed: i.seed,
    timeScale: i.timeScale,
    host: '127.0.0.1',
    port: 0,
  });
}

/**
 * Start the reference engine on a free loopback port for one replay, in a worker thread of this
 * process: its event loop (steps, thousands of stream writes) then never delays the replay's
 * pacer or token timestamps, which run on the main thread.
 */
export async function startEmbeddedEngine(o: EmbeddedEngineOptions, policy: EnginePolicyName = 'external'): Promise<EmbeddedEngine> {
  const model = resolveModel({ model: o.engineModel ?? EMBEDDED_DEFAULTS.model, modelConfig: o.engineModelConfig });
  const profile = loadProfile(o.engineProfile ?? shippedProfile(EMBEDDED_DEFAULTS.profile));
  const input: EngineWorkerInput = {
    model,
    profile: profile.profile,
    gpuKvGib: o.engineGpuKvGib ?? EMBEDDED_DEFAULTS.gpuKvGib,
    policy,
    maxNumSeqs: o.engineMaxNumSeqs ?? EMBEDDED_DEFAULTS.maxNumSeqs,
    noiseCv: o.engineNoiseCv,
    seed: o.seed,
    timeScale: o.engineTimeScale,
  };
  const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: input });
  const started = await new Promise<{ url: string; budgetBlocks: number; maxNumSeqs: number }>((resolvePromise, reject) => {
    worker.once('message', (m: { url?: string; budgetBlocks: number; maxNumSeqs: number; error?: string }) => {
      if (m.error !== undefined) reject(new Error(`embedded engine: ${m.error}`));
      else resolvePromise({ url: m.url!, budgetBlocks: m.budgetBlocks, maxNumSeqs: m.maxNumSeqs });
    });
    worker.once('error', reject);
  });
  const description =
    `embedded reference engine ${started.url}: ${model.id}, policy ${policy}, GPU KV ${input.gpuKvGib} GiB (${started.budgetBlocks} blocks), ` +
    `max-num-seqs ${started.maxNumSeqs}; ${provenanceLine(profile.profile)}`;
  const close = async (): Promise<void> => {
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.postMessage('close');
    await exited;
  };
  return { server: { url: started.url, close }, model, profile, description };
}
