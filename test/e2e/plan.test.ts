import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { PROFILES, REPO_ROOT } from '../helpers/paths.js';

const PROFILE = join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json');
const BATCH = join(REPO_ROOT, 'traces/batches/mooncake-16.json');
const BASE = ['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH];
const POLICIES = ['gpu-only', 'deepspeed', 'flexgen', 'flexgen-plus', 'dynamic', 'slo-aware'];

/** A bad-input run: exit 2, one `orbitflow:` line (and at most a hint), no stack trace. */
function assertBadInput(r: CliResult, message: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0], /^orbitflow: /, what);
  assert.match(lines[0], message, what);
  assert.ok(!/\n\s+at /.test(r.stderr), `${what}: no stack trace`);
  assert.ok(lines.length <= 2 || /run with --help/.test(r.stderr), `${what}: ${r.stderr}`);
}

test('plan prints the summary for the 16-request Mooncake batch, provenance line first', async () => {
  const r = await runCli([...BASE, '--tpot-slo-ms', '400']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^profile a6000-llama-3\.1-8b\.published-fit \(NOT MEASURED: published fit\)/);
  assert.match(r.stdout, /budget 131072 blocks \(8\.00 GiB\)/);
  for (let i = 1; i <= 16; i++) assert.match(r.stdout, new RegExp(`^mooncake-${i} `, 'm'));
  const step = /^step\s+([\d.]+) ms = compute ([\d.]+) ms \+ stall ([\d.]+) ms/m.exec(r.stdout);
  assert.ok(step, r.stdout);
  assert.ok(Math.abs(Number(step[1]) - Number(step[2]) - Number(step[3])) < 0.02);
  const mem = /^memory\s+(\d+) \/ (\d+) blocks/m.exec(r.stdout);
  assert.ok(mem && Number(mem[1]) <= Number(mem[2]));
  assert.match(r.stdout, /^solver\s+(optimal|feasible|heuristic) · objective [\d.]+ ms · bound [\d.]+ ms · gap [\d.]+% · ILP/m);
  assert.match(r.stdout, /^violations \d+ of 16 requests/m);
});

test('plan --json prints one orbitflow.plan/v1 object; --out writes the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-plan-'));
  try {
    const out = join(dir, 'plan.json');
    const r = await runCli([...BASE, '--json', '--out', out, '--slo-scale', '2']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.schema, 'orbitflow.plan/v1');
    assert.ok(!Number.isNaN(Date.parse(j.created)));
    assert.equal(j.inputs.model.id, 'llama-3.1-8b');
    assert.equal(j.inputs.tp, 1);
    assert.equal(j.inputs.profile.id, 'a6000-llama-3.1-8b.published-fit');
    assert.equal(j.inputs.profile.provenance_kind, 'published-fit');
    assert.equal(j.inputs.profile.sha256, createHash('sha256').update(readFileSync(PROFILE)).digest('hex'));
    assert.equal(j.inputs.budget_blocks, 131072);
    assert.equal(j.inputs.budget_gib, 8);
    assert.equal(j.inputs.window_steps, 16);
    assert.equal(j.inputs.slo.source, '--slo-scale');
    assert.ok(Math.abs(j.inputs.slo.tpot_ms - 2 * j.inputs.slo.base_ms) < 1e-9);
    assert.equal(j.inputs.requests.length, 16);
    assert.equal(j.policy, 'orbitflow');
    const p = j.plan;
    assert.equal(p.placements.length, 16);
    assert.ok(p.memory_blocks <= j.inputs.budget_blocks);
    for (const x of p.placements) {
      assert.ok(Number.isInteger(x.distance) && x.distance >= -1);
      assert.equal(x.offloaded_layers.length, x.offloaded_count);
      assert.equal(typeof x.violates, 'boolean');
    }
    assert.ok(Math.abs(p.step.total_ms - p.step.compute_ms - p.step.stall_ms) < 1e-9);
    for (const k of ['transfer_ms', 'bytes_moved']) assert.equal(typeof p.step[k], 'number');
    assert.equal(p.violations, p.placements.filter((x: { violates: boolean }) => x.violates).length);
    const c = p.certificate;
    assert.ok(['optimal', 'feasible', 'heuristic'].includes(c.status));
    assert.equal(c.objective_ms, p.step.total_ms);
    assert.ok(c.best_bound_ms <= c.objective_ms && c.gap >= 0);
    for (const k of ['solve_ms', 'heuristic_ms']) assert.equal(typeof c[k], 'number');
    assert.ok(Array.isArray(c.binding));
    assert.deepEqual(j.baselines, []);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual({ ...written, created: null }, { ...j, created: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan --policy all adds every baseline; a CSV batch plans like its JSON twin; a baseline alone is a plan too', async () => {
  const [all, allJson, csv, flex] = await Promise.all([
    runCli([...BASE, '--policy', 'all']),
    runCli([...BASE, '--policy', 'all', '--json', '--time-limit-ms', '0']),
    runCli([...BASE.slice(0, -1), join(REPO_ROOT, 'traces/batches/mooncake-16.csv'), '--json', '--time-limit-ms', '0']),
    runCli([...BASE, '--policy', 'flexgen', '--json']),
  ]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^policy\s+distance\s+step ms\s+stall ms\s+violations\s+GiB moved\s+memory blocks\s+budget$/m);
  for (const p of ['orbitflow', ...POLICIES]) assert.match(all.stdout, new RegExp(`^${p}\\s`, 'm'));
  assert.match(all.stdout, /^gpu-only\s+all GPU\s.*OVER BUDGET$/m);
  const j = JSON.parse(allJson.stdout);
  assert.deepEqual(j.baselines.map((b: { policy: string }) => b.policy), POLICIES);
  for (const b of j.baselines) {
    assert.equal(b.over_budget, b.memory_blocks > j.inputs.budget_blocks);
    // The planner is never worse than a baseline that fits.
    if (!b.over_budget) assert.ok(j.plan.step.total_ms <= b.step.total_ms * (1 + 1e-9), b.policy);
  }
  const c = JSON.parse(csv.stdout);
  assert.deepEqual(c.plan.placements, j.plan.placements);
  const f = JSON.parse(flex.stdout);
  assert.equal(f.policy, 'flexgen');
  assert.equal(f.plan.certificate.status, 'rule');
  assert.ok(f.plan.placements.every((x: { distance: number }) => x.distance === 1));
});

test('bad input: one clear line on stderr and exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-plan-bad-'));
  try {
    const file = (name: string, text: string): string => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const badProfile = JSON.parse(readFileSync(PROFILE, 'utf8'));
    delete badProfile.decode.fit.base_ms;
    const cases: [string, string[], RegExp][] = [
      ['unknown model', ['plan', '--model', 'gpt-9', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH], /--model: unknown model 'gpt-9'/],
      ['malformed profile', ['plan', '--model', 'llama-3.1-8b', '--profile', file('p.json', JSON.stringify(badProfile)), '--gpu-kv-gib', '8', '--batch', BATCH], /p\.json: decode\.fit\.base_ms: missing/],
      ['negative tokens', [...BASE.slice(0, -1), file('neg.json', '{"requests": [\n {"id": "a", "context_tokens": -3}\n]}')], /neg\.json:2: requests\[0\]\.context_tokens: must be a positive integer number of tokens, got -3$/],
      ['non-integer tokens', [...BASE.slice(0, -1), file('frac.csv', 'id,context_tokens\na,10\nb,2.5\n')], /frac\.csv:3: context_tokens: must be a positive integer number of tokens, got 2\.5$/],
      ['empty batch', [...BASE.slice(0, -1), file('empty.json', '{"requests": []}')], /empty\.json: requests: the batch is empty/],
      ['budget below any placement', ['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-blocks', '1000', '--batch', BATCH], /^orbitflow: budget 1000 blocks is below the 5450 blocks the smallest placement of request mooncake-12 needs$/],
      ['no batch or trace', ['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--gpu-kv-gib', '8'], /--batch: one of --batch FILE or --trace FILE is required/],
      ['batch and trace', [...BASE, '--trace', BATCH], /cannot be used with/],
      ['no budget', ['plan', '--model', 'llama-3.1-8b', '--profile', PROFILE, '--batch', BATCH], /a GPU KV budget is required/],
      ['missing batch file', [...BASE.slice(0, -1), join(dir, 'nope.json')], /nope\.json: cannot read batch file: no such file/],
      ['bad number', [...BASE, '--window-steps', '0'], /--window-steps.*expected a positive integer, got '0'/],
      ['fit for another model', ['plan', '--model', 'llama-3.1-70b', '--profile', PROFILE, '--gpu-kv-gib', '8', '--batch', BATCH], /its decode fit was measured for llama-3\.1-8b, not llama-3\.1-70b/],
    ];
    const results = await Promise.all(cases.map(([, args]) => runCli(args)));
    results.forEach((r, i) => assertBadInput(r, cases[i][2], cases[i][0]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan --help lists every option with its unit or default', async () => {
  const r = await runCli(['plan', '--help']);
  assert.equal(r.code, 0);
  for (const o of ['--gpu-kv-gib <GiB>', '--gpu-kv-blocks <n>', '--batch <file>', '--trace <file>', '--tpot-slo-ms <ms>', '--slo-scale <x>', '--policy <p>', '--tp <n>', '--time-limit-ms <ms>', '--window-steps <n>', '--pause-policy <p>', '--out <path>', '--max-num-seqs <n>', '--noise-cv <f>', '--json']) {
    assert.ok(r.stdout.includes(o), o);
  }
  const flat = r.stdout.replace(/\s+/g, ' ');
  assert.ok(flat.includes('--time-limit-ms <ms> time limit of the ILP stage, ms; 0 = heuristic only (default: 50)'), flat);
  assert.ok(flat.includes('deposits are spread over W (default: 16)'));
  assert.ok(flat.includes('GPU KV budget per GPU (per TP rank), GiB'));
});
