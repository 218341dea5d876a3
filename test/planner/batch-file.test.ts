import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitflowError } from '../../src/core/errors.js';
import { createRng } from '../../src/core/rng.js';
import { parseBatchFile } from '../../src/planner/batch-file.js';
import { pickVictim } from '../../src/planner/pause.js';
import { MOONCAKE_CONV, REPO_ROOT } from '../helpers/paths.js';

const BATCHES = join(REPO_ROOT, 'traces/batches');

const fails = (file: string, text: string, message: RegExp): void => {
  assert.throws(() => parseBatchFile(file, text), (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && message.test(e.message), `${file}: ${message}`);
};

test('the shipped Mooncake batch: JSON and CSV agree, and the lengths are rows 1–16 of the real trace', () => {
  const json = parseBatchFile('mooncake-16.json', readFileSync(join(BATCHES, 'mooncake-16.json'), 'utf8'));
  const csv = parseBatchFile('mooncake-16.csv', readFileSync(join(BATCHES, 'mooncake-16.csv'), 'utf8'));
  assert.equal(json.length, 16);
  assert.deepEqual(csv, json);
  const rows = readFileSync(MOONCAKE_CONV, 'utf8').split('\n').slice(0, 16).map((l) => (JSON.parse(l) as { input_length: number }).input_length);
  assert.deepEqual(json.map((r) => r.contextTokens), rows);
  const slo = parseBatchFile('mooncake-16-slo.csv', readFileSync(join(BATCHES, 'mooncake-16-slo.csv'), 'utf8'));
  assert.deepEqual(slo.map((r) => r.contextTokens), rows);
  assert.ok(slo.every((r) => r.sloTpotMs !== undefined && r.depositTokens !== undefined));
});

test('JSON batch errors name the file, the line and the field', () => {
  const text = '{\n  "requests": [\n    {"id": "a", "context_tokens": 100},\n    {"id": "b",\n     "context_tokens": -5}\n  ]\n}\n';
  fails('b.json', text, /^b\.json:5: requests\[1\]\.context_tokens: must be a positive integer number of tokens, got -5$/);
  fails('b.json', text.replace('-5', '12.5'), /^b\.json:5: requests\[1\]\.context_tokens: .* got 12\.5$/);
  fails('b.json', text.replace('"-5"', '"x"').replace('-5', '"many"'), /^b\.json:5: requests\[1\]\.context_tokens: .* got "many"$/);
  fails('b.json', text.replace('"id": "b"', '"id": "a"'), /^b\.json:4: requests\[1\]\.id: duplicate id 'a' \(first on line 3\)$/);
  fails('b.json', text.replace('"id": "b",', '"name": "b",'), /^b\.json:4: requests\[1\]\.name: unknown field/);
  fails('b.json', text.replace('"id": "b",', ''), /^b\.json:4: requests\[1\]\.id: missing$/);
  fails('b.json', '{"requests": []}', /^b\.json: requests: the batch is empty/);
  fails('b.json', '{"requests": [}', /^b\.json:1: \(json\): not valid JSON/);
  fails('b.json', '{\n"reqs": []}', /^b\.json:1: requests: missing$/);
  fails('b.json', '{"requests": [{"id": "a", "context_tokens": 10, "slo_tpot_ms": 0}]}', /slo_tpot_ms: must be a positive number of ms, got 0/);
  fails('b.json', '{"requests": [{"id": "a", "context_tokens": 10, "deposit_tokens": -1}]}', /deposit_tokens: must be a non-negative integer/);
  const ok = parseBatchFile('b.json', '{"requests": [{"id": 7, "context_tokens": 10, "slo_tpot_ms": 40.5, "deposit_tokens": 3}]}');
  assert.deepEqual(ok, [{ id: '7', contextTokens: 10, sloTpotMs: 40.5, depositTokens: 3 }]);
});

test('CSV batch errors name the file, the line and the column', () => {
  fails('b.csv', 'id,context_tokens\na,100\n\nb,-5\n', /^b\.csv:4: context_tokens: must be a positive integer number of tokens, got -5$/);
  fails('b.csv', 'id,context_tokens\na,1e3x\n', /^b\.csv:2: context_tokens: .* got "1e3x"$/);
  fails('b.csv', 'id,tokens\na,100\n', /^b\.csv:1: tokens: unknown column/);
  fails('b.csv', 'id,slo_tpot_ms\na,100\n', /^b\.csv:1: context_tokens: missing column in the header$/);
  fails('b.csv', 'id,context_tokens\n', /^b\.csv: requests: the batch is empty/);
  fails('b.csv', 'id,context_tokens\na,1,2\n', /^b\.csv:2: /);
  const ok = parseBatchFile('b.csv', '# a comment\nid,context_tokens,slo_tpot_ms\na,100,\nb,200,50\n');
  assert.deepEqual(ok, [
    { id: 'a', contextTokens: 100 },
    { id: 'b', contextTokens: 200, sloTpotMs: 50 },
  ]);
});

test('pause victims: longest, shortest, seeded random, and the artifact\'s slo-loose / slo-strict order', () => {
  const c = [
    { id: 'a', contextTokens: 500, sloTpotMs: 100 },
    { id: 'b', contextTokens: 900, sloTpotMs: 50 },
    { id: 'c', contextTokens: 100, sloTpotMs: 50 },
    { id: 'd', contextTokens: 300 },
  ];
  const rng = createRng(1);
  assert.equal(c[pickVictim('longest', c, rng)].id, 'b');
  assert.equal(c[pickVictim('shortest', c, rng)].id, 'c');
  // Smallest (SLO, length): the 50 ms pair, shorter first.
  assert.equal(c[pickVictim('slo-loose', c, rng)].id, 'c');
  // Largest (SLO, length): no SLO counts as the loosest.
  assert.equal(c[pickVictim('slo-strict', c, rng)].id, 'd');
  const picks = (seed: number): number[] => {
    const r = createRng(seed);
    return Array.from({ length: 8 }, () => pickVictim('random', c, r));
  };
  assert.deepEqual(picks(3), picks(3));
  assert.ok(new Set(picks(3)).size > 1);
});
