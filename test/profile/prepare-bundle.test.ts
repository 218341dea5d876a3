import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { VERSION } from '../../src/core/version.js';
import { loadProfile } from '../../src/profile/load.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SCRIPT = join(REPO_ROOT, 'scripts/prepare-gpu-bundle.sh');
const work = mkdtempSync(join(tmpdir(), 'of-gpu-bundle-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('prepare-gpu-bundle.sh writes a self-contained bundle and the probe sources (Node fetch skipped)', async () => {
  const out = join(work, 'gpu');
  const r = await execa('bash', [SCRIPT, '--out', out, '--skip-node', '--skip-build'], { cwd: REPO_ROOT, reject: false, timeout: 120_000 });
  assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^prepared /m);
  const probeSrc = join(REPO_ROOT, 'src/profile/probe');
  const sources = readdirSync(probeSrc).filter((n) => n.endsWith('.cu') || n.endsWith('.cuh')).sort();
  assert.deepEqual(readdirSync(join(out, 'probe')).sort(), sources);
  for (const n of sources) assert.equal(readFileSync(join(out, 'probe', n), 'utf8'), readFileSync(join(probeSrc, n), 'utf8'), n);
  assert.ok(!readdirSync(out).some((n) => n.endsWith('.tgz')));

  // Where no node_modules can be found: the bundle and probe/ alone.
  const alone = join(work, 'alone');
  cpSync(out, alone, { recursive: true });
  assert.ok(!existsSync(join(alone, 'node_modules')));
  const v = await execa(process.execPath, [join(alone, 'orbitflow.mjs'), '--version'], { cwd: alone, reject: false, env: { CI: '1' } });
  assert.equal(v.exitCode, 0, v.stderr);
  assert.equal(v.stdout.trim(), VERSION);
  const p = await execa(process.execPath, [join(alone, 'orbitflow.mjs'), 'profile', '--probe-output', join(REPO_ROOT, 'test/fixtures/probe-output.json'), '--out', join(alone, 'p.json'), '--json'], {
    cwd: alone,
    reject: false,
    env: { CI: '1' },
  });
  assert.equal(p.exitCode, 0, p.stderr);
  assert.equal((JSON.parse(p.stdout) as { file: string }).file, join(alone, 'p.json'));
  assert.equal(loadProfile(join(alone, 'p.json')).profile.provenance.kind, 'synthetic');
  // Without nvidia-smi the bundled command reports the missing driver like the installed one.
  const g = await execa(process.execPath, [join(alone, 'orbitflow.mjs'), 'profile'], {
    cwd: alone,
    reject: false,
    env: { CI: '1', ORBITFLOW_NVIDIA_SMI: join(alone, 'none'), ORBITFLOW_DRIVER_PROC: join(alone, 'none') },
  });
  assert.equal(g.exitCode, 3);
  assert.match(g.stderr, /^orbitflow: no NVIDIA driver: /m);
});

test('prepare-gpu-bundle.sh rejects an unknown argument', async () => {
  const r = await execa('bash', [SCRIPT, '--frobnicate'], { cwd: REPO_ROOT, reject: false });
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /unknown argument '--frobnicate'/);
});
