import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitflowError } from '../../src/core/errors.js';
import { parseProbeOutput, validateProbeOutput } from '../../src/profile/probe-output.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { syntheticProbeOutput } from './synthetic-probe.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/probe-output.json');

function rejects(raw: unknown, field: string, what: RegExp): void {
  assert.throws(
    () => validateProbeOutput(raw, 'probe.json'),
    (e: unknown) => {
      assert.ok(OrbitflowError.is(e));
      assert.equal(e.exitCode, 2);
      assert.equal(e.context.file, 'probe.json');
      assert.equal(e.context.field, field);
      assert.match(e.message, new RegExp(`^probe\\.json: ${field.replace(/[[\].]/g, '\\$&')}: `));
      assert.match(e.message, what);
      return true;
    },
  );
}

test('the fixture is exactly what the synthetic generator makes, and says it is synthetic', () => {
  const text = readFileSync(FIXTURE, 'utf8');
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(syntheticProbeOutput())));
  const probe = parseProbeOutput(text, FIXTURE);
  assert.equal(probe.synthetic, true);
  assert.match((JSON.parse(text) as { note: string }).note, /SYNTHETIC/);
});

test('each missing or bad field is named with its path', () => {
  const base = (): Record<string, any> => JSON.parse(JSON.stringify(syntheticProbeOutput()));
  let p = base();
  p.kv.points[2].memcpy_batch.gib_per_s = null;
  rejects(p, 'kv.points[2].memcpy_batch.gib_per_s', /could not measure/);
  p = base();
  delete p.decode.grid[1].layer_ms;
  rejects(p, 'decode.grid[1].layer_ms', /missing/);
  p = base();
  p.decode.grid[0].context_tokens += 1;
  rejects(p, 'decode.grid[0].context_tokens', /batch × context_per_seq/);
  p = base();
  p.bandwidth.h2d_pinned[3].bytes = p.bandwidth.h2d_pinned[2].bytes;
  rejects(p, 'bandwidth.h2d_pinned[3].bytes', /increase strictly/);
  p = base();
  p.schema = 'something/v9';
  rejects(p, 'schema', /orbitflow\.probe\/v1/);
  p = base();
  p.selfcheck.passed = false;
  rejects(p, 'selfcheck.passed', /not.*trustworthy/);
  p = base();
  p.decode.grid = p.decode.grid.slice(0, 2);
  rejects(p, 'decode.grid', /at least 3/);
  p = base();
  p.validate.layers = 80;
  rejects(p, 'validate.layers', /differs/);
  rejects({ error: { code: 'cudaErrorNoDevice', message: 'no CUDA-capable device is detected' } }, 'error', /probe failure.*cudaErrorNoDevice/);
});

test('JSON syntax errors name the line', () => {
  assert.throws(
    () => parseProbeOutput('{\n  "schema": "orbitflow.probe/v1",\n  "model": {,\n}', 'broken.json'),
    (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && /^broken\.json:3: \(json\): not valid JSON/.test(e.message),
  );
});
