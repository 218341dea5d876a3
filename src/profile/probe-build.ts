import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { OrbitflowError } from '../core/errors.js';
import { PROBE_MAIN, probeBuildHash, probeSources } from './probe-sources.js';

/** nvcc flags of every probe build; -O3 is for host code (device code is optimised by default). */
export const NVCC_FLAGS: readonly string[] = ['-O3', '-std=c++17', '--threads', '0'];
/** Built when the GPU's architecture is unknown: Ampere, Hopper, Blackwell. */
export const FAT_ARCHS: readonly string[] = ['80', '90', '100'];
export const PROBE_BINARY = 'orbitflow-probe';

/** "9.0" → "90", "12.0" → "120". */
export function archFromComputeCapability(cc: string): string {
  const m = /^(\d+)\.(\d+)$/.exec(cc.trim());
  if (!m) throw new RangeError(`not a compute capability: '${cc}'`);
  return `${m[1]}${m[2]}`;
}

/** SASS for each architecture, plus PTX of the newest so a newer GPU can still JIT it. */
export function gencodeFlags(archs: readonly string[]): string[] {
  const flags: string[] = [];
  for (const a of archs) flags.push('-gencode', `arch=compute_${a},code=sm_${a}`);
  const newest = [...archs].sort((a, b) => Number(a) - Number(b)).at(-1)!;
  flags.push('-gencode', `arch=compute_${newest},code=compute_${newest}`);
  return flags;
}

export interface NvccInfo {
  path: string;
  /** e.g. "Cuda compilation tools, release 13.0, V13.0.88". */
  release: string;
  /** Architectures it can compile for ("80", "90", …); empty when it cannot list them. */
  archs: string[];
}

export async function nvccInfo(nvcc: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<NvccInfo> {
  const v = await execa(nvcc, ['--version'], { reject: false, timeout: timeoutMs, env, extendEnv: false });
  if (v.failed) {
    throw new OrbitflowError('OF_PROFILE_NVCC', `${nvcc} --version failed: ${(v.stderr || v.shortMessage || '').split('\n')[0]}`, {
      hint: 'point --nvcc at a working CUDA toolkit',
    });
  }
  const release = String(v.stdout).split('\n').find((l) => /release/i.test(l))?.trim() ?? String(v.stdout).trim().split('\n').at(-1) ?? '';
  const l = await execa(nvcc, ['--list-gpu-arch'], { reject: false, timeout: timeoutMs, env, extendEnv: false });
  const archs = l.failed ? [] : [...String(l.stdout).matchAll(/compute_(\d+)/g)].map((m) => m[1]);
  return { path: nvcc, release, archs };
}

export interface BuildOptions {
  nvcc: NvccInfo;
  srcDir: string;
  archs: readonly string[];
  /** Builds live in <cacheDir>/<hash>-<archs>/. */
  cacheDir: string;
  rebuild: boolean;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export interface BuildResult {
  binary: string;
  dir: string;
  cached: boolean;
  hash: string;
  archs: string[];
  command: string[];
  buildMs: number;
}

/** The build directory of these sources, flags, toolkit and architectures. */
export function buildDir(o: Pick<BuildOptions, 'nvcc' | 'srcDir' | 'archs' | 'cacheDir'>): { dir: string; hash: string } {
  const hash = probeBuildHash(probeSources(o.srcDir), [...NVCC_FLAGS, ...gencodeFlags(o.archs), o.nvcc.release]);
  return { dir: join(o.cacheDir, `${hash.slice(0, 16)}-sm${o.archs.join('-sm')}`), hash };
}

/**
 * Build the probe once per (sources, flags, toolkit, architectures) into the cache; a later run
 * reuses the binary unless `rebuild`. The binary appears atomically (built under a temporary name
 * and renamed), so concurrent builds of the same key cannot leave a half-written file.
 */
export async function buildProbe(o: BuildOptions): Promise<BuildResult> {
  const unsupported = o.nvcc.archs.length > 0 ? o.archs.filter((a) => !o.nvcc.archs.includes(a)) : [];
  if (unsupported.length > 0) {
    throw new OrbitflowError('OF_PROFILE_ARCH', `${o.nvcc.path} (${o.nvcc.release}) cannot compile for sm_${unsupported.join(', sm_')}`, {
      hint: `it supports ${o.nvcc.archs.map((a) => `sm_${a}`).join(', ')}; use --nvcc with a toolkit that supports this GPU`,
    });
  }
  const { dir, hash } = buildDir(o);
  const binary = join(dir, PROBE_BINARY);
  const command = [o.nvcc.path, ...NVCC_FLAGS, ...gencodeFlags(o.archs), '-o', binary, join(o.srcDir, PROBE_MAIN), '-lpthread'];
  if (!o.rebuild && existsSync(binary)) return { binary, dir, cached: true, hash, archs: [...o.archs], command, buildMs: 0 };
  mkdirSync(dir, { recursive: true });
  const tmp = `${binary}.tmp-${process.pid}`;
  const args = [...command.slice(1)];
  args[args.indexOf(binary)] = tmp;
  const t0 = performance.now();
  const r = await execa(o.nvcc.path, args, { reject: false, timeout: o.timeoutMs, env: o.env, extendEnv: false, all: true });
  const buildMs = performance.now() - t0;
  writeFileSync(join(dir, 'build.log'), `${command.join(' ')}\n${r.all ?? ''}\n`);
  if (r.failed) {
    rmSync(tmp, { force: true });
    const tail = String(r.all ?? r.shortMessage ?? '').trim().split('\n').slice(-6).join(' | ');
    throw new OrbitflowError('OF_PROFILE_BUILD', r.timedOut
      ? `building the probe timed out after ${Math.round(o.timeoutMs / 1000)} s (${o.nvcc.path})`
      : `nvcc failed to build the probe for sm_${o.archs.join(', sm_')}: ${tail}`, {
      hint: `full log: ${join(dir, 'build.log')}`,
    });
  }
  renameSync(tmp, binary);
  writeFileSync(join(dir, 'build.json'), `${JSON.stringify({ hash, archs: o.archs, nvcc: o.nvcc.path, release: o.nvcc.release, flags: [...NVCC_FLAGS], command, build_ms: Math.round(buildMs) }, null, 2)}\n`);
  return { binary, dir, cached: false, hash, archs: [...o.archs], command, buildMs };
}
