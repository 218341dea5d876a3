import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getModel } from '../../src/core/model-catalogue.js';
import { startEngineServer } from '../../src/engine/server.js';
import type { Profile } from '../../src/core/profile-format.js';
import { runCli } from '../helpers/cli.js';
import { MOONCAKE_CONV, PROFILES } from '../helpers/paths.js';

/**
 * The sim-to-real loop end to end, against the reference engine started with profiles the fit has
 * never seen (the A100 published fit with its decode base and per-token cost scaled apart), over
 * real HTTP in wall-clock time: replay a window of the Mooncake conversation trace, fit a profile
 * from the replay alone, and check the simulator's prediction against the measurement.
 *
 * The engine runs 3× faster than wall time (--time-scale 3) and the trace is sped up as much, so
 * the endpoint a client sees is the profile's engine at a third of its times: that is what the
 * fit must recover. The window keeps a run near 20 s (both profiles replay at once, each against
 * its own engine): prompts clamped to 6,000 tokens (their spread is what separates the per-token
 * cost from the per-sequence one), outputs to 256, 30 % of the arrivals; the engine's 16 sequences
 * fill, so it queues. A faster time scale shortens the test but lets CPU load on the box (timer
 * lateness is added to every step) weigh more against the shorter steps.
 */
const TIME_SCALE = 3;
const MODEL = getModel('llama-3.1-8b');
const TRACE = [MOONCAKE_CONV, '--window', '0:30', '--rate-scale', '0.3', '--max-input', '6000', '--max-output', '256', '--speedup', String(TIME_SCALE)];
const CASES: Array<{ name: string; base: number; token: number }> = [
  { name: 'a100 ×1.3 base, ×0.7 per-token', base: 1.3, token: 0.7 },
  { name: 'a100 ×0.7 base, ×1.3 per-token', base: 0.7, token: 1.3 },
];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-sim-to-real-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function truthProfile(scaleBase: number, scaleToken: number, id: string): Profile {
  const p = JSON.parse(readFileSync(join(PROFILES, 'a100-llama-3.1-8b.published-fit.json'), 'utf8')) as Profile;
  if (p.decode.fit.form !== 'linear') throw new Error('expected a linear fit');
  p.id = id;
  p.decode.fit.base_ms *= scaleBase;
  p.decode.fit.per_token_ms *= scaleToken;
  return p;
}

interface Measured {
  c: (typeof CASES)[number];
  k: number;
  truth: Profile;
  out: string;
  enginePeak: number;
  /** Median engine ms a decode step took beyond its planned time (timer lateness, the loop's own work), as the engine measured it. */
  lateMs: number;
}

/** Start the engine with the unseen profile in this process and replay the window against it from the CLI. */
async function replayAgainstUnseen(c: (typeof CASES)[number], k: number): Promise<Measured> {
  const truth = truthProfile(c.base, c.token, `unseen-${k}`);
  const server = await startEngineServer({ model: MODEL, profile: truth, gpuKvGib: 32, policy: 'gpu-only', timeScale: TIME_SCALE, seed: 11 + k });
  let enginePeak = 0;
  let prev: { start: number; planned: number; decode: boolean } | null = null;
  const late: number[] = [];
  server.core.onStep((b) => {
    enginePeak = Math.max(enginePeak, server.core.runningCount);
    // A decode step's period: from its start to the next step's start (when one follows at once).
    if (prev?.decode && b.startMs - prev.start < 2 * prev.planned + 5) {
      late.push(b.startMs - prev.start - prev.planned);
    }
    prev = { start: b.startMs, planned: b.plannedMs, decode: b.kind === 'decode' };
  });
  const out = join(dir, `run-${k}`);
  try {
    const r = await runCli(['replay', ...TRACE, '--endpoint', server.url, '--controller', 'off', '--out', out, '--max-schedule-lag-ms', '5000'], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await server.close();
  }
  late.sort((a, b) => a - b);
  return { c, k, truth, out, enginePeak, lateMs: late.length > 0 ? late[late.length >> 1] : 0 };
}

test('sim-to-real: the fit recovers unseen decode coefficients within 10 %, the simulator predicts p50 TPOT within 5 % and p99 within 15 %, telemetry sees the engine\'s own peak', async (t) => {
  const runs = await Promise.all(CASES.map((c, k) => replayAgainstUnseen(c, k)));
  for (const { c, k, truth, out, enginePeak, lateMs } of runs) {
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    assert.equal(result.completed, result.issued, c.name);
    // Telemetry: a timeline, whose peak running count is the engine's own (16 sequences, held for seconds).
    assert.equal(result.telemetry.engine, 'orbitflow');
    assert.ok(result.telemetry.timeline.length >= 5, `${result.telemetry.timeline.length} samples`);
    assert.equal(result.telemetry.summary.peak_running, enginePeak, `${c.name}: telemetry peak vs the engine's`);
    assert.equal(result.telemetry.summary.ever_queued, true);

    // Fit from the replay alone (the base profile only lends its host link and dense TFLOPs).
    const fitted = join(dir, `fitted-${k}.json`);
    const f = await runCli(['profile', '--from-run', out, '--model', MODEL.id, '--base', join(PROFILES, 'a100-llama-3.1-8b.published-fit.json'), '--out', fitted]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /^profile fitted-llama-3\.1-8b-127\.0\.0\.1-\d+ \(fitted from a replay of http:\/\/127\.0\.0\.1:\d+\)/);
    const p = JSON.parse(readFileSync(fitted, 'utf8')) as Profile;
    assert.equal(p.provenance.kind, 'fitted');
    const fit = p.decode.fit;
    const tf = truth.decode.fit;
    assert.ok(fit.form === 'linear' && tf.form === 'linear');
    // The endpoint's truth: the profile's per-layer cost, plus what the engine adds to every step (its fixed
    // 0.3 ms overhead, and the typical (median) lateness of its wall-clock loop, which it measures itself:
    // small on a quiet box, larger when the CPU is shared), at the time scale. The per-token cost is the
    // profile's alone.
    const trueBase = (tf.base_ms + (0.3 + lateMs) / MODEL.layers) / TIME_SCALE;
    const nominalBase = (tf.base_ms + 0.3 / MODEL.layers) / TIME_SCALE;
    const trueToken = tf.per_token_ms / TIME_SCALE;
    const baseErr = (fit.base_ms - trueBase) / trueBase;
    const tokenErr = (fit.per_token_ms - trueToken) / trueToken;
    assert.ok(Math.abs(baseErr) <= 0.1, `${c.name}: base ${fit.base_ms} vs ${trueBase} (${(100 * baseErr).toFixed(1)} %)`);
    assert.ok(Math.abs(tokenErr) <= 0.1, `${c.name}: per-token ${fit.per_token_ms} vs ${trueToken} (${(100 * tokenErr).toFixed(1)} %)`);

    // Simulate the very requests of the replay with the fitted profile; the CI gate is --assert.
    const v = await runCli(['plan', '--trace', ...TRACE, '--profile', fitted, '--against', out, '--json', '--assert', 'tpot_p50_error<=0.05', '--assert', 'tpot_p99_error<=0.15']);
    assert.equal(v.code, 0, `${c.name}: ${v.stderr}`);
    const rep = JSON.parse(v.stdout);
    assert.equal(rep.schema, 'orbitflow.validation/v1');
    assert.match(rep.profile.provenance, /fitted from a replay of http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(rep.simulation.policy, 'gpu-only');
    assert.equal(rep.simulation.max_num_seqs, 16, rep.simulation.max_num_seqs_source);
    assert.equal(rep.simulation.budget_blocks, 32 * 2 ** 30 / (16 * 2 * 8 * 128 * 2), rep.simulation.budget_source);
    assert.deepEqual(rep.assertions.map((a: { passed: boolean }) => a.passed), [true, true]);
    t.diagnostic(`${c.name}: engine lateness ${lateMs.toFixed(3)} ms/step; base ${(100 * baseErr).toFixed(1)} % (${(100 * (fit.base_ms - nominalBase) / nominalBase).toFixed(1)} % of the profile's alone), per-token ${(100 * tokenErr).toFixed(1)} %, TPOT p50 ${(100 * rep.metrics.tpot_p50.signed_error).toFixed(1)} %, p99 ${(100 * rep.metrics.tpot_p99.signed_error).toFixed(1)} %, TTFT MAPE ${(100 * rep.ttft_mape).toFixed(1)} %`);
    if (k > 0) continue;
    // The validation refuses a trace read with other options, and a gate that fails exits 1.
    const wrong = await runCli(['plan', '--trace', ...TRACE.slice(0, -2), '--profile', fitted, '--against', out]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /^orbitflow: --against .*: request \d+ of .* is not the one replayed .*give the replay's trace options/m);
    const gate = await runCli(['plan', '--trace', ...TRACE, '--profile', fitted, '--against', out, '--assert', 'ttft_mape<=0.0000001']);
    assert.equal(gate.code, 1, gate.stderr);
    assert.match(gate.stdout, /^profile fitted-.* \(fitted from a replay of /);
    assert.match(gate.stdout, /TPOT p50 \(ms\)\s+[\d.]+\s+[\d.]+\s+[-+][\d.]+ %/);
    assert.match(gate.stderr, /assertion failed: ttft_mape<=0.0000001/);
    // The what-if on the user's own engine: every policy, on the fitted profile, says where it comes from.
    const all = await runCli(['plan', '--trace', ...TRACE, '--model', MODEL.id, '--profile', fitted, '--gpu-kv-gib', '4', '--policy', 'gpu-only,flexgen,dynamic']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout.split('\n')[0], /\(fitted from a replay of http:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(all.stdout, /^dynamic\s/m);
  }
});
