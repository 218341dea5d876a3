import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../core/errors.js';
import { resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { startEngineServer, type EngineServer } from '../engine/server.js';
import type { EnginePolicy } from '../engine/types.js';
import { provenanceLine, type Profile } from '../profile/format.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';

/** The embedded default: what `replay` runs against when no --endpoint is given. */
export const EMBEDDED_DEFAULTS = {
  model: 'llama-3.1-8b',
  profile: 'h100-sxm.datasheet.json',
  /** Small enough that the sample traces need offloading, so the controller has work to do. */
  gpuKvGib: 0.5,
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
  server: EngineServer;
  model: ModelSpec;
  profile: LoadedProfile;
  description: string;
}

/** The shipped profiles folder, found from the compiled file (dist/src/cli → ../../../profiles). */
export function shippedProfile(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../profiles', '../../profiles', '../profiles']) {
    const p = resolve(here, up, name);
    if (existsSync(p)) return p;
  }
  throw usageError('--engine-profile', `the shipped profile ${name} was not found next to orbitflow; pass --engine-profile FILE`);
}

/** Start the reference engine on a free loopback port for one replay. */
export async function startEmbeddedEngine(o: EmbeddedEngineOptions, policy: EnginePolicy = 'external'): Promise<EmbeddedEngine> {
  const model = resolveModel({ model: o.engineModel ?? EMBEDDED_DEFAULTS.model, modelConfig: o.engineModelConfig });
  const profile = loadProfile(o.engineProfile ?? shippedProfile(EMBEDDED_DEFAULTS.profile));
  const gpuKvGib = o.engineGpuKvGib ?? EMBEDDED_DEFAULTS.gpuKvGib;
  const server = await startEngineServer({
    model,
    profile: profile.profile,
    gpuKvGib,
    policy,
    maxNumSeqs: o.engineMaxNumSeqs ?? EMBEDDED_DEFAULTS.maxNumSeqs,
    noiseCv: o.engineNoiseCv,
    seed: o.seed,
    timeScale: o.engineTimeScale,
    host: '127.0.0.1',
    port: 0,
  });
  const description =
    `embedded reference engine ${server.url}: ${model.id}, policy ${policy}, GPU KV ${gpuKvGib} GiB (${server.core.budgetBlocks} blocks), ` +
    `max-num-seqs ${server.core.maxNumSeqs}; ${provenanceLine(profile.profile as Profile)}`;
  return { server, model, profile, description };
}
