import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNvcc } from '../../src/profile/find-nvcc.js';
import { parseSmiLine, queryGpu, sysfsDevicePath } from '../../src/profile/gpu-query.js';
import { archFromComputeCapability, gencodeFlags } from '../../src/profile/probe-build.js';
import { fakeExecutable, fakeNvidiaSmi, H100_SMI_LINE } from './fake-tools.js';

const dir = mkdtempSync(join(tmpdir(), 'of-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NO_PROC = join(dir, 'no-such-proc-file');

test('nvidia-smi CSV lines parse, with units and missing values', () => {
  const g = parseSmiLine(H100_SMI_LINE);
  assert.deepEqual(g, {
    name: 'NVIDIA H100 80GB HBM3',
    memoryBytes: 81559 * 2 ** 20,
    driverVersion: '580.65.06',
    pcieGenMax: 5,
    pcieWidthMax: 16,
    pciBusId: '00000000:19:00.0',
    computeCapability: null,
  });
  const odd = parseSmiLine('NVIDIA A10G, 23028, [N/A], [Not Supported], 8, 00000000:00:1E.0');
  assert.equal(odd.memoryBytes, 23028 * 2 ** 20);
  assert.equal(odd.driverVersion, null);
  assert.equal(odd.pcieGenMax, null);
  assert.equal(odd.pcieWidthMax, 8);
  assert.throws(() => parseSmiLine('just a name'), RangeError);
});

test('a PCI bus id maps to its sysfs directory', () => {
  assert.equal(sysfsDevicePath('00000000:19:00.0'), '/sys/bus/pci/devices/0000:19:00.0');
  assert.equal(sysfsDevicePath('0000:AF:00.0'), '/sys/bus/pci/devices/0000:af:00.0');
  assert.equal(sysfsDevicePath('garbage'), null);
});

test('queryGpu tells a missing nvidia-smi, a failing driver, no device and a working GPU apart', async () => {
  const env = (smi: string): NodeJS.ProcessEnv => ({ PATH: '/usr/bin:/bin', ORBITFLOW_NVIDIA_SMI: smi, ORBITFLOW_DRIVER_PROC: NO_PROC });
  assert.deepEqual(await queryGpu({ device: 0, env: env(join(dir, 'absent', 'nvidia-smi')) }), {
    kind: 'no-smi', tried: [join(dir, 'absent', 'nvidia-smi')], driverLoaded: false, driverFile: NO_PROC,
  });
  const failing = fakeNvidiaSmi(join(dir, 'failing'), { kind: 'fail', code: 9, message: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." });
  const f = await queryGpu({ device: 0, env: env(failing) });
  assert.equal(f.kind, 'smi-failed');
  assert.match(f.kind === 'smi-failed' ? f.message : '', /couldn't communicate/);
  const none = fakeNvidiaSmi(join(dir, 'none'), { kind: 'fail', code: 6, message: 'No devices were found' });
  assert.equal((await queryGpu({ device: 0, env: env(none) })).kind, 'no-device');
  const ok = fakeNvidiaSmi(join(dir, 'ok'), { kind: 'ok' });
  const g = await queryGpu({ device: 0, env: env(ok) });
  assert.equal(g.kind, 'ok');
  if (g.kind === 'ok') {
    assert.equal(g.gpu.name, 'NVIDIA H100 80GB HBM3');
    assert.equal(g.gpu.computeCapability, '9.0');
  }
  const old = fakeNvidiaSmi(join(dir, 'old'), { kind: 'ok', computeCap: null });
  const o = await queryGpu({ device: 0, env: env(old) });
  assert.ok(o.kind === 'ok' && o.gpu.computeCapability === null);
  // Without the override, nvidia-smi is looked up on PATH and every directory is reported.
  const p = await queryGpu({ device: 0, env: { PATH: `${join(dir, 'empty1')}:${join(dir, 'empty2')}`, ORBITFLOW_DRIVER_PROC: NO_PROC } });
  assert.deepEqual(p, { kind: 'no-smi', tried: [join(dir, 'empty1', 'nvidia-smi'), join(dir, 'empty2', 'nvidia-smi')], driverLoaded: false, driverFile: NO_PROC });
});

test('nvcc is searched in --nvcc, CUDA_HOME, PATH, then /usr/local/cuda, and every path tried is reported', () => {
  const home = join(dir, 'cuda-home');
  const onPath = fakeExecutable(join(dir, 'path-bin'), 'nvcc');
  assert.deepEqual(findNvcc('/nope/nvcc', { PATH: join(dir, 'path-bin') }), { found: null, tried: ['/nope/nvcc'] });
  assert.deepEqual(findNvcc(onPath, {}), { found: onPath, tried: [onPath] });
  const viaPath = findNvcc(undefined, { CUDA_HOME: home, PATH: join(dir, 'path-bin') });
  assert.equal(viaPath.found, onPath);
  assert.deepEqual(viaPath.tried, [join(home, 'bin', 'nvcc'), onPath]);
  const inHome = fakeExecutable(join(home, 'bin'), 'nvcc');
  assert.equal(findNvcc(undefined, { CUDA_HOME: home, PATH: join(dir, 'path-bin') }).found, inHome);
  const none = findNvcc(undefined, { CUDA_HOME: join(dir, 'x'), PATH: join(dir, 'y') });
  assert.deepEqual(none.tried.slice(0, 2), [join(dir, 'x', 'bin', 'nvcc'), join(dir, 'y', 'nvcc')]);
  assert.equal(none.tried.at(-1), '/usr/local/cuda/bin/nvcc');
});

test('architectures: compute capability → sm, SASS per arch plus PTX of the newest', () => {
  assert.equal(archFromComputeCapability('9.0'), '90');
  assert.equal(archFromComputeCapability('12.0'), '120');
  assert.throws(() => archFromComputeCapability('nine'), RangeError);
  assert.deepEqual(gencodeFlags(['100', '80', '90']), [
    '-gencode', 'arch=compute_100,code=sm_100',
    '-gencode', 'arch=compute_80,code=sm_80',
    '-gencode', 'arch=compute_90,code=sm_90',
    '-gencode', 'arch=compute_100,code=compute_100',
  ]);
});
