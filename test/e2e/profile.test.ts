import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../../src/profile/load.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { fakeNvidiaSmi } from '../profile/fake-tools.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/probe-output.json');
const dir = mkdtempSync(join(tmpdir(), 'of-e2e-profile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NO_PROC = join(dir, 'no-driver-proc');

test('no driver: exit 3 with one line naming nvidia-smi and where it was looked for', async () => {
  const smi = join(dir, 'absent', 'nvidia-smi');
  const r = await runCli(['profile', '--quick'], { env: { ORBITFLOW_NVIDIA_SMI: smi, ORBITFLOW_DRIVER_PROC: NO_PROC } });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('orbitflow:'));
  assert.deepEqual(lines, [`orbitflow: no NVIDIA driver: nvidia-smi not found (tried ${smi}) and ${NO_PROC} is absent`]);
  assert.match(r.stderr, /hint: .*--probe-output FILE/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('a failing driver and a machine without a GPU each get their own message, exit 3', async () => {
  const broken = fakeNvidiaSmi(join(dir, 'broken'), { kind: 'fail', code: 9, message: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." });
  const r1 = await runCli(['profile'], { env: { ORBITFLOW_NVIDIA_SMI: broken } });
  assert.equal(r1.code, 3);
  assert.match(r1.stderr, /^orbitflow: no working NVIDIA driver: .*nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\.$/m);
  const none = fakeNvidiaSmi(join(dir, 'none'), { kind: 'fail', code: 6, message: 'No devices were found' });
  const r2 = await runCli(['profile', '--device', '2'], { env: { ORBITFLOW_NVIDIA_SMI: none } });
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /^orbitflow: no CUDA device with index 2: .* says: No devices were found$/m);
});

test('a GPU but no nvcc: exit 3 listing the paths tried; a pre-Ampere GPU is refused before that', async () => {
  const smi = fakeNvidiaSmi(join(dir, 'ok'), { kind: 'ok' });
  const r = await runCli(['profile', '--nvcc', join(dir, 'no', 'nvcc')], { env: { ORBITFLOW_NVIDIA_SMI: smi } });
  assert.equal(r.code, 3);
  assert.match(r.stderr, new RegExp(`^orbitflow: no nvcc: the CUDA toolkit was not found \\(tried ${join(dir, 'no', 'nvcc').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)$`, 'm'));
  const volta = fakeNvidiaSmi(join(dir, 'volta'), { kind: 'ok', line: 'Tesla V100-SXM2-32GB, 32510 MiB, 535.00, 3, 16, 00000000:00:04.0', computeCap: '7.0' });
  const r2 = await runCli(['profile', '--nvcc', join(dir, 'no', 'nvcc')], { env: { ORBITFLOW_NVIDIA_SMI: volta } });
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /^orbitflow: Tesla V100-SXM2-32GB has compute capability 7\.0; the probe needs 8\.0 or newer/m);
});

test('--probe-output builds a valid profile from a captured probe JSON, no GPU or nvcc needed', async () => {
  const out = join(dir, 'from-fixture.json');
  const r = await runCli(['profile', '--probe-output', FIXTURE, '--out', out], { env: { ORBITFLOW_NVIDIA_SMI: join(dir, 'absent'), PATH: '/usr/bin:/bin' } });
  assert.equal(r.code, 0, r.stderr);
  const { profile } = loadProfile(out);
  assert.equal(profile.provenance.kind, 'synthetic');
  assert.equal(profile.decode.fit.form, 'linear');
  assert.equal(profile.validation?.length, 5);
  assert.match(r.stdout, /^profile synthetic-h100-like-gpu-llama-3\.1-8b \(NOT MEASURED: synthetic data\)/);
  assert.match(r.stdout, /h2d pinned +[▁▂▃▄▅▆▇█]{9} /);
  assert.match(r.stdout, /decode +per layer \(llama-3\.1-8b, tp 1\): [\d.]+ ms \+ /);
  assert.match(r.stdout, /R² (0\.99\d\d|1\.0000) over 12 points/);
  assert.match(r.stdout, /all-offloaded +8 +32768 +[\d.]+ +[\d.]+ +[-+][\d.]+ %/);
  assert.ok(r.stdout.includes(`written ${out}`));
  // --json: the result object alone on stdout; progress stays on stderr.
  const j = await runCli(['profile', '--probe-output', FIXTURE, '--out', join(dir, 'j.json'), '--json', '--upper']);
  assert.equal(j.code, 0, j.stderr);
  const parsed = JSON.parse(j.stdout) as { file: string; sha256: string; profile: { id: string; validation: { predicted_with: string }[] } };
  assert.equal(parsed.file, join(dir, 'j.json'));
  assert.equal(parsed.sha256, loadProfile(parsed.file).sha256);
  assert.ok(parsed.profile.validation.every((v) => v.predicted_with === 'upper_fit'));
  assert.match(j.stderr, /profile: fit:/);
});

test('--probe-output with bad input: exit 2 naming the file and the field', async () => {
  const bad = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, any>;
  bad.decode.grid[4].layer_ms = 'fast';
  const badFile = join(dir, 'bad-probe.json');
  writeFileSync(badFile, JSON.stringify(bad, null, 2));
  const r = await runCli(['profile', '--probe-output', badFile, '--out', join(dir, 'x.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^orbitflow: ${badFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: decode\\.grid\\[4\\]\\.layer_ms: expected a number, got "fast"$`, 'm'));
  assert.ok(!existsSync(join(dir, 'x.json')));
  const missing = await runCli(['profile', '--probe-output', join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.json: cannot read probe output: no such file$/m);
  const other = await runCli(['profile', '--probe-output', FIXTURE, '--model', 'llama-3.1-70b', '--out', join(dir, 'y.json')]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /probe-output\.json: model\.layers: the probe measured 32 \(llama-3\.1-8b\), but llama-3\.1-70b has 80/);
});
