import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrbitflowError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';

/** The probe's unity translation unit: the one file nvcc is given (it includes the others). */
export const PROBE_MAIN = 'probe.cu';

/**
 * The probe sources ship next to the code: src/profile/probe/ of the package (seen from
 * dist/src/profile/), or probe/ beside a bundled single-file CLI (the GPU bundle).
 */
export function probeSourceDir(env: NodeJS.ProcessEnv): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [
    env.ORBITFLOW_PROBE_SRC,
    resolve(here, '../../../src/profile/probe'),
    resolve(here, 'probe'),
    resolve(here, '../src/profile/probe'),
  ].filter((d): d is string => Boolean(d));
  for (const dir of candidates) if (existsSync(join(dir, PROBE_MAIN))) return dir;
  throw new OrbitflowError('OF_PROFILE_PROBE_SOURCES', `the probe's CUDA sources are missing (looked in ${candidates.join(', ')})`, {
    hint: 'reinstall orbitflow, or point ORBITFLOW_PROBE_SRC at a src/profile/probe directory',
  });
}

/** The source files (.cu, .cuh) of the probe, sorted, with their text. */
export function probeSources(dir: string): { name: string; text: string }[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.cu') || n.endsWith('.cuh'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** Hash of the sources and everything else that changes the binary. */
export function probeBuildHash(sources: { name: string; text: string }[], extra: readonly string[]): string {
  const parts: string[] = [];
  for (const s of sources) parts.push(s.name, s.text);
  parts.push(...extra);
  return sha256Hex(parts.join('\u0000'));
}
