import { mkdirSync, writeFileSync } from 'node:fs';
import { readInputFile } from '../core/input-file.js';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { OrbitflowError, usageError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { VERSION } from '../core/version.js';
import { buildProfile } from './build-profile.js';
import type { DecodeFitResult } from './fit.js';
import { findNvcc } from './find-nvcc.js';
import type { Profile } from '../core/profile-format.js';
import { queryGpu, type GpuCheck } from './gpu-query.js';
import { loadProfile } from './load.js';
import { archFromComputeCapability, buildProbe, FAT_ARCHS, nvccInfo, type BuildResult } from './probe-build.js';
import { parseProbeOutput, type ProbeOutput } from './probe-output.js';
import { runProbe, type ProbeProgress } from './probe-run.js';
import { probeSourceDir } from './probe-sources.js';

export interface ProfileOptions {
  model?: string;
  modelConfig?: string;
  /** Tensor-parallel degree measured (per-rank shapes); from the probe output when not given. */
  tp?: number;
  out?: string;
  device: number;
  quick: boolean;
  validate: boolean;
  upper: boolean;
  nvcc?: string;
  cacheDir?: string;
  rebuild: boolean;
  timeoutS?: number;
  /** Build the profile from a probe JSON captured elsewhere: no nvcc or GPU needed. */
  probeOutput?: string;
  /** Also write the probe's raw JSON here. */
  saveProbeOutput?: string;
}

/** The I/O shell's hooks: where progress goes and how the run is stopped. */
export interface ProfileHooks {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A coarse step: gpu, nvcc, build, probe, fit, write. */
  onStage: (stage: string, detail: string) => void;
  onProgress: (p: ProbeProgress) => void;
  onLog: (line: string) => void;
  /** Receives a function that stops the running probe (SIGINT). */
  onStop: (stop: () => void) => void;
}

export interface ProfileOutcome {
  profile: Profile;
  file: string;
  sha256: string;
  fit: DecodeFitResult;
  warnings: string[];
  probe: ProbeOutput;
  build: BuildResult | null;
  gpu: GpuCheck | null;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'orbitflow', 'probe');
}

/** The probe's command line for one model shape. */
export function probeArgs(model: ModelSpec, tp: number, o: Pick<ProfileOptions, 'device' | 'quick' | 'validate'>): string[] {
  return [
    'all',
    '--device', String(o.device),
    ...(o.quick ? ['--quick'] : []),
    ...(o.validate ? ['--validate'] : []),
    '--model-id', model.id,
    '--layers', String(model.layers),
    '--q-heads', String(model.attentionHeads),
    '--kv-heads', String(model.kvHeads),
    '--head-dim', String(model.headDim),
    '--hidden', String(model.hiddenSize),
    '--intermediate', String(model.intermediateSize),
    '--tp', String(tp),
    '--dtype', 'bf16',
  ];
}

/** A ModelSpec from the shape a probe output records, for models outside the catalogue. */
export function modelFromProbe(probe: ProbeOutput, file: string): ModelSpec {
  const m = probe.model;
  return {
    id: m.id,
    name: m.id,
    layers: m.layers,
    attentionHeads: m.q_heads,
    kvHeads: m.kv_heads,
    headDim: m.head_dim,
    hiddenSize: m.hidden,
    intermediateSize: m.intermediate,
    vocabSize: 0,
    kvDtypeBytes: m.dtype_bytes,
    weightDtypeBytes: m.dtype_bytes,
    maxContextTokens: 131072,
    source: `model shape recorded in probe output ${file}`,
  };
}

const noGpuHint = 'run on a machine with an NVIDIA GPU and driver, or build a profile from a probe JSON captured there: --probe-output FILE';

/** Turn the GPU check into the one message that helps most, or the GPU to use. */
function requireGpu(g: GpuCheck, device: number): Extract<GpuCheck, { kind: 'ok' }> | null {
  switch (g.kind) {
    case 'ok':
      return g;
    case 'no-smi':
      if (g.driverLoaded) return null; // driver without its tools: let the probe decide
      throw new OrbitflowError('OF_PROFILE_NO_DRIVER', `no NVIDIA driver: nvidia-smi not found (tried ${g.tried.length ? g.tried.join(', ') : 'an empty PATH'}) and ${g.driverFile} is absent`, {
        hint: noGpuHint,
      });
    case 'smi-failed':
      throw new OrbitflowError('OF_PROFILE_NO_DRIVER', `no working NVIDIA driver: ${g.smi} failed: ${g.message}`, { hint: noGpuHint });
    case 'no-device':
      throw new OrbitflowError('OF_PROFILE_NO_DEVICE', `no CUDA device${device > 0 ? ` with index ${device}` : ''}: ${g.smi} says: ${g.message}`, {
        hint: device > 0 ? 'check --device against nvidia-smi -L' : noGpuHint,
      });
  }
}

/** A probe output goes through the one gate for file inputs (a regular file, bounded in size). */
function readProbeFile(file: string): string {
  return readInputFile(file, { what: 'probe output', code: 'OF_PROFILE_PROBE_READ' });
}

/**
 * `orbitflow profile`: find the GPU and nvcc (in the order that gives the most useful message
 * when one is missing), build the probe once per source hash and architecture, run it, fit the
 * cost model and write the profile. With --probe-output, only the last two steps.
 */
export async function runProfile(o: ProfileOptions, hooks: ProfileHooks): Promise<ProfileOutcome> {
  const modelGiven = Boolean(o.model || o.modelConfig);
  let model: ModelSpec | null = modelGiven ? resolveModel({ model: o.model, modelConfig: o.modelConfig }) : null;
  let probe: ProbeOutput;
  let probeFile: string;
  let text: string;
  let build: BuildResult | null = null;
  let gpu: GpuCheck | null = null;
  let smiGpu: Extract<GpuCheck, { kind: 'ok' }> | null = null;

  if (o.probeOutput) {
    probeFile = o.probeOutput;
    hooks.onStage('read', probeFile);
    text = readProbeFile(resolve(hooks.cwd, probeFile));
    probe = parseProbeOutput(text, probeFile);
    model ??= findModel(probe.model.id) ?? modelFromProbe(probe, probeFile);
  } else {
    model ??= resolveModel({});
    if (model.kvDtypeBytes !== 2) throw usageError('--model', `${model.id} has a ${model.kvDtypeBytes}-byte KV cache; the probe measures 16-bit KV caches only`);
    hooks.onStage('gpu', 'looking for the NVIDIA driver and GPU');
    gpu = await queryGpu({ device: o.device, env: hooks.env });
    smiGpu = requireGpu(gpu, o.device);
    const cc = smiGpu?.gpu.computeCapability ?? null;
    if (cc && Number(cc.split('.')[0]) < 8) {
      throw new OrbitflowError('OF_PROFILE_GPU_TOO_OLD', `${smiGpu!.gpu.name} has compute capability ${cc}; the probe needs 8.0 or newer (bf16 tensor cores)`, {
        hint: 'use a datasheet profile (profiles/*.datasheet.json) for this GPU',
      });
    }
    hooks.onStage('nvcc', 'looking for nvcc');
    const nvccPath = findNvcc(o.nvcc, hooks.env);
    if (!nvccPath.found) {
      throw new OrbitflowError('OF_PROFILE_NO_NVCC', `no nvcc: the CUDA toolkit was not found (tried ${nvccPath.tried.join(', ')})`, {
        hint: 'install the CUDA toolkit, pass --nvcc PATH or set CUDA_HOME; or build the profile from a probe JSON captured elsewhere: --probe-output FILE',
      });
    }
    const nvcc = await nvccInfo(nvccPath.found, hooks.env);
    const archs = cc ? [archFromComputeCapability(cc)] : FAT_ARCHS.filter((a) => nvcc.archs.length === 0 || nvcc.archs.includes(a));
    hooks.onStage('build', `nvcc ${nvcc.release.replace(/^.*release\s*/i, '')} for sm_${archs.join(', sm_')}`);
    build = await buildProbe({
      nvcc,
      srcDir: probeSourceDir(hooks.env),
      archs,
      cacheDir: o.cacheDir ? resolve(hooks.cwd, o.cacheDir) : defaultCacheDir(hooks.env),
      rebuild: o.rebuild,
      timeoutMs: 600_000,
      env: hooks.env,
    });
    hooks.onStage('build', build.cached ? `cached ${build.binary}` : `built ${build.binary} in ${(build.buildMs / 1000).toFixed(1)} s`);
    const tp = o.tp ?? 1;
    const timeoutMs = (o.timeoutS ?? (o.quick ? 300 : 900)) * 1000;
    hooks.onStage('probe', `${o.quick ? 'quick' : 'full'} run${o.validate ? ' with validation' : ''} (timeout ${timeoutMs / 1000} s)`);
    text = await runProbe({
      binary: build.binary,
      args: probeArgs(model, tp, o),
      timeoutMs,
      env: hooks.env,
      onProgress: hooks.onProgress,
      onLog: hooks.onLog,
      onStart: hooks.onStop,
      driverRelease: smiGpu?.gpu.driverVersion ?? null,
    });
    probeFile = 'probe output';
    if (o.saveProbeOutput) writeText(resolve(hooks.cwd, o.saveProbeOutput), text);
    try {
      probe = parseProbeOutput(text, probeFile);
    } catch (e) {
      if (!OrbitflowError.is(e)) throw e;
      throw new OrbitflowError('OF_PROFILE_PROBE_OUTPUT', `the probe's result is unusable: ${e.message}`, {
        hint: o.saveProbeOutput ? `raw output: ${o.saveProbeOutput}` : 'rerun with --save-probe-output FILE to inspect it',
      });
    }
  }

  hooks.onStage('fit', 'fitting the decode cost');
  const built = buildProfile({
    probe,
    probeFile,
    probeSha256: sha256Hex(text),
    model,
    tp: o.tp ?? probe.model.tp,
    smi: smiGpu?.gpu ?? null,
    numaNode: smiGpu?.numaNode ?? null,
    toolVersion: VERSION,
    upper: o.upper,
  });
  const file = resolve(hooks.cwd, o.out ?? join('profiles', `${built.profile.id}.json`));
  hooks.onStage('write', file);
  writeText(file, `${JSON.stringify(built.profile, null, 2)}\n`);
  // Read back through the one validator every consumer uses: a profile we cannot load is a bug.
  const loaded = loadProfile(file);
  return { profile: loaded.profile, file, sha256: loaded.sha256, fit: built.fit, warnings: built.warnings, probe, build, gpu };
}

function writeText(file: string, text: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    throw new OrbitflowError('OF_PROFILE_WRITE', `${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      context: { file },
    });
  }
}
