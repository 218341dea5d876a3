import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { findNvcc } from '../../src/profile/find-nvcc.js';
import { buildProbe, FAT_ARCHS, nvccInfo, type BuildResult } from '../../src/profile/probe-build.js';
import { probeSourceDir } from '../../src/profile/probe-sources.js';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmi } from './fake-tools.js';

// One fat build (sm_80, sm_90, sm_100) per run of this file, reused by every test below.
const nvcc = findNvcc(undefined, process.env).found;
const skip = nvcc ? false : 'nvcc not found';
const cacheDir = mkdtempSync(join(tmpdir(), 'of-probe-cache-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));
// No NVIDIA kernel module here: the probe must fail cleanly (a GPU machine takes the other branch).
const noDriver = !existsSync('/proc/driver/nvidia/version');
let built: BuildResult | null = null;

async function fatBuild(): Promise<BuildResult> {
  if (!built) {
    const info = await nvccInfo(nvcc!, process.env);
    built = await buildProbe({ nvcc: info, srcDir: probeSourceDir(process.env), archs: FAT_ARCHS, cacheDir, rebuild: true, timeoutMs: 600_000, env: process.env });
  }
  return built;
}

test('the probe compiles and links for sm_80, sm_90 and sm_100 with the local nvcc, once per source hash', { skip }, async () => {
  const b = await fatBuild();
  assert.equal(b.cached, false);
  assert.ok(statSync(b.binary).size > 100_000);
  assert.deepEqual(b.archs, ['80', '90', '100']);
  for (const a of ['80', '90', '100']) assert.ok(b.command.includes(`arch=compute_${a},code=sm_${a}`), a);
  const record = JSON.parse(readFileSync(join(b.dir, 'build.json'), 'utf8')) as { hash: string; archs: string[] };
  assert.equal(record.hash, b.hash);
  assert.ok(b.dir.endsWith(`${b.hash.slice(0, 16)}-sm80-sm90-sm100`));
  // Same sources, toolkit and architectures: the cached binary is reused, not rebuilt.
  const again = await buildProbe({ nvcc: await nvccInfo(nvcc!, process.env), srcDir: probeSourceDir(process.env), archs: FAT_ARCHS, cacheDir, rebuild: false, timeoutMs: 60_000, env: process.env });
  assert.equal(again.cached, true);
  assert.equal(again.binary, b.binary);
});

test('run here, the probe fails cleanly: one JSON error object and a non-zero exit', { skip }, async () => {
  const b = await fatBuild();
  for (const sub of ['info', 'bandwidth', 'all']) {
    const r = await execa(b.binary, [sub, '--quick'], { reject: false, timeout: 30_000 });
    if (!noDriver) continue;
    assert.equal(r.exitCode, 3, `${sub}: ${r.stdout}`);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; call: string; hint: string; runtime_version: number; driver_version: number } };
    assert.equal(doc.error.code, 'cudaErrorInsufficientDriver');
    assert.match(doc.error.call, /^cudaGetDeviceCount/);
    assert.match(doc.error.hint, /driver/);
    assert.ok(doc.error.runtime_version >= 13000);
    assert.equal(doc.error.driver_version, 0);
  }
  const bad = await execa(b.binary, ['frobnicate'], { reject: false });
  assert.equal(bad.exitCode, 2);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'usage');
  const badOpt = await execa(b.binary, ['info', '--nonsense', '1'], { reject: false });
  assert.equal(badOpt.exitCode, 2);
  assert.match((JSON.parse(badOpt.stdout) as { error: { message: string } }).error.message, /unknown option --nonsense/);
  const shape = await execa(b.binary, ['info', '--head-dim', '96'], { reject: false });
  assert.equal(shape.exitCode, 2);
  const help = await execa(b.binary, ['--help'], { reject: false });
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /usage: probe <subcommand>/);
});

test('`orbitflow profile` on a GPU-less machine with a driverless CUDA stack exits 3 naming the driver', { skip: skip || (noDriver ? false : 'an NVIDIA driver is present') }, async () => {
  const b = await fatBuild();
  // nvidia-smi stands in for a driver that cannot report compute_cap, so the fat build is used.
  const smi = fakeNvidiaSmi(join(cacheDir, 'smi'), { kind: 'ok', computeCap: null });
  const r = await runCli(['profile', '--quick', '--cache-dir', cacheDir, '--out', join(cacheDir, 'never.json')], {
    env: { ORBITFLOW_NVIDIA_SMI: smi, ORBITFLOW_DRIVER_PROC: join(cacheDir, 'none') },
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^orbitflow: no usable NVIDIA driver for the probe: cudaErrorInsufficientDriver \(CUDA driver version is insufficient for CUDA runtime version\); the probe's runtime is CUDA 13\.\d, no CUDA driver library \(libcuda\.so\) could be loaded$/m);
  assert.match(r.stderr, new RegExp(`profile: build: cached ${b.binary.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  assert.ok(!existsSync(join(cacheDir, 'never.json')));
});
