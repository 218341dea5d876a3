/**
 * Reference-engine benchmark (`npm run bench:engine`):
 *  1. virtual time — the whole Mooncake conversation trace (12,031 requests, ~4.1 M output tokens)
 *     under each policy: CPU seconds, steps, tokens, and the comparison row;
 *  2. wall clock — the HTTP engine under N concurrent streaming requests from a loopback client
 *     in the same process: completions, errors, and the engine's step-time drift (timer lag of the
 *     step ends vs the durations it planned).
 * Sizes come from the environment: ENGINE_BENCH_POLICIES (comma list, default all), ENGINE_BENCH_GIB
 * (GPU KV, default 16), ENGINE_BENCH_SEQS (max-num-seqs, default 16), ENGINE_BENCH_STREAMS (default
 * 1000), ENGINE_BENCH_STREAM_TOKENS (max_tokens per stream, default 64), ENGINE_BENCH_TIME_SCALE
 * (default 5). Results go to bench/results/engine.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { getModel, findModel } from '../src/core/model-catalogue.js';
import { CostModel } from '../src/cost/cost-model.js';
import { comparePolicies, sloBaseMs, type ComparedPolicy, type PolicyRow } from '../src/engine/compare-policies.js';
import { startEngineServer } from '../src/engine/server.js';
import { BASELINE_POLICIES } from '../src/cost/baselines.js';
import { driverFactory } from '../src/controller/variants.js';
import { loadProfile } from '../src/profile/load.js';
import { openTrace } from '../src/trace/open.js';
import { DEFAULT_TRACE_OPTIONS } from '../src/trace/options.js';
import type { TraceRequest } from '../src/trace/types.js';
import { MOONCAKE_CONV, PROFILES, REPO_ROOT } from '../test/helpers/paths.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const PROFILE = join(PROFILES, 'a100-llama-3.1-8b.published-fit.json');

async function virtualBench(): Promise<{ lines: string[]; rows: { row: PolicyRow; cpuS: number }[] }> {
  const loaded = loadProfile(PROFILE);
  const cost = new CostModel(getModel('llama-3.1-8b'), loaded.profile, { modelLookup: findModel });
  const t = openTrace(MOONCAKE_CONV, DEFAULT_TRACE_OPTIONS);
  const trace: TraceRequest[] = [];
  for await (const r of t.requests()) trace.push(r);
  const gib = env('ENGINE_BENCH_GIB', 16);
  const seqs = env('ENGINE_BENCH_SEQS', 16);
  const budgetBlocks = cost.budgetBlocksFromGiB(gib);
  const sloMs = 1.5 * sloBaseMs(cost, budgetBlocks, seqs);
  const policies = (process.env.ENGINE_BENCH_POLICIES?.split(',') ?? ['orbitflow', ...BASELINE_POLICIES]) as ComparedPolicy[];
  const rows: { row: PolicyRow; cpuS: number }[] = [];
  for (const policy of policies) {
    const c0 = process.cpuUsage();
    const res = await comparePolicies(trace, { cost, budgetBlocks, maxNumSeqs: seqs, noiseCv: 0.05, seed: 0, stepOverheadMs: 0.3, sloMs, policies: [policy], driverFor: driverFactory({ model: getModel('llama-3.1-8b'), profile: loaded.profile, tp: 1, budgetBlocks, sloMs }), clockMs: () => performance.now() });
    const c = process.cpuUsage(c0);
    const cpuS = (c.user + c.system) / 1e6;
    rows.push({ row: res.rows[0], cpuS });
    process.stderr.write(`virtual ${policy}: ${cpuS.toFixed(2)} s CPU, ${res.rows[0].steps} steps\n`);
  }
  const tokens = trace.reduce((s, r) => s + r.outputTokens, 0);
  const traceS = trace.reduce((m, r) => Math.max(m, r.arrivalS), 0);
  const lines = [
    `Trace: Mooncake conversation (${trace.length} requests, ${tokens} output tokens); profile ${loaded.profile.id}; llama-3.1-8b; GPU KV ${gib} GiB (${budgetBlocks} blocks); max-num-seqs ${seqs}; noise CV 0.05; seed 0; SLO S = ${sloMs.toFixed(1)} ms (1.5 × all-on-GPU step at capacity).`,
    '',
    '| policy | CPU s | sim wall s | steps | decoded tokens | re-plans | solver ms | TBT att | TBT att (TD) | TPOT att | P95 TBT/S | makespan s | preemptions | pauses |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ row: r, cpuS }) => `| ${r.policy} | ${cpuS.toFixed(2)} | ${r.simulation_wall_s?.toFixed(2)} | ${r.steps} | ${r.decoded_tokens} | ${r.replans} | ${r.solver_ms_total.toFixed(0)} | ${(100 * r.tbt_attainment).toFixed(1)}% | ${(100 * r.tbt_attainment_td).toFixed(1)}% | ${(100 * r.tpot_attainment).toFixed(1)}% | ${r.p95_tbt_over_slo?.toFixed(2) ?? 'n/a'} | ${r.makespan_s.toFixed(0)} | ${r.preemptions} | ${r.pauses} |`),
    '',
    `CPU s is process CPU (user + system) for the whole simulation, trace already in memory; sim wall s is its wall time. The trace's arrivals span ${traceS.toFixed(0)} s; a makespan far beyond that means this one-GPU setting is overloaded (prefill alone of ~12 k-token prompts is ~1 s each on this profile), so the queue is never empty: the table measures the simulator's cost, not a fair policy comparison. Use \`plan --trace --window\` or \`--rate-scale\` for that.`,
  ];
  return { lines, rows };
}

interface StreamOutcome {
  ok: boolean;
  tokens: number;
  ttftMs: number;
  doneMs: number;
}

function stream(agent: Agent, base: string, promptIds: number[], maxTokens: number): Promise<StreamOutcome> {
  const t0 = performance.now();
  const body = JSON.stringify({ prompt: promptIds, max_tokens: maxTokens, stream: true, ignore_eos: true, stream_options: { include_usage: true } });
  return new Promise((resolve) => {
    let tokens = 0;
    let ttft = -1;
    let buf = '';
    let done = false;
    const req = request(`${base}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (ev === 'data: [DONE]') done = true;
          else if (ev.includes('"text"')) {
            if (ttft < 0) ttft = performance.now() - t0;
            tokens++;
          }
        }
      });
      res.on('end', () => resolve({ ok: res.statusCode === 200 && done && tokens === maxTokens, tokens, ttftMs: ttft, doneMs: performance.now() - t0 }));
      res.on('error', () => resolve({ ok: false, tokens, ttftMs: ttft, doneMs: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ ok: false, tokens, ttftMs: ttft, doneMs: performance.now() - t0 }));
    req.end(body);
  });
}

async function httpBench(): Promise<string[]> {
  const n = env('ENGINE_BENCH_STREAMS', 1000);
  const maxTokens = env('ENGINE_BENCH_STREAM_TOKENS', 64);
  const timeScale = env('ENGINE_BENCH_TIME_SCALE', 5);
  const seqs = env('ENGINE_BENCH_HTTP_SEQS', 256);
  const loaded = loadProfile(PROFILE);
  const server = await startEngineServer({ model: getModel('llama-3.1-8b'), profile: loaded.profile, gpuKvGib: 40, policy: 'gpu-only', maxNumSeqs: seqs, timeScale, seed: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: n + 16 });
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => stream(agent, server.url, Array.from({ length: 256 + (i % 512) }, (_, k) => 1000 + k), maxTokens)));
  const wallS = (performance.now() - w0) / 1000;
  const c = process.cpuUsage(c0);
  const drift = server.drift();
  const counters = server.core.counters;
  await server.close();
  agent.destroy();
  const ok = outcomes.filter((o) => o.ok).length;
  const tokens = outcomes.reduce((s, o) => s + o.tokens, 0);
  const ttfts = outcomes.filter((o) => o.ttftMs >= 0).map((o) => o.ttftMs).sort((a, b) => a - b);
  process.stderr.write(`http: ${ok}/${n} streams complete in ${wallS.toFixed(1)} s, drift mean ${drift.meanMs.toFixed(3)} ms max ${drift.maxMs.toFixed(2)} ms (engine time)\n`);
  return [
    `Reference engine over HTTP on 127.0.0.1 (policy gpu-only, GPU KV 40 GiB, max-num-seqs ${seqs}, time scale ${timeScale}), loopback client in the same process: ${n} concurrent streaming completions, prompts of 256–767 token IDs, max_tokens ${maxTokens}.`,
    '',
    '| streams | completed | errors | tokens received | wall s | CPU s | engine steps | step drift mean (engine ms) | step drift max (engine ms) | drift mean (wall ms) | TTFT p50 / p99 (wall ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${n} | ${ok} | ${n - ok} | ${tokens} | ${wallS.toFixed(1)} | ${((c.user + c.system) / 1e6).toFixed(1)} | ${counters.steps} | ${drift.meanMs.toFixed(3)} | ${drift.maxMs.toFixed(2)} | ${(drift.meanMs / timeScale).toFixed(3)} | ${ttfts[Math.floor(0.5 * (ttfts.length - 1))]?.toFixed(0)} / ${ttfts[Math.floor(0.99 * (ttfts.length - 1))]?.toFixed(0)} |`,
    '',
    'Drift is the engine\'s own timer lag: how much later than planned each step ended (the step time it computed vs the one it took on the wall clock), in engine milliseconds; divide by the time scale for wall milliseconds.',
  ];
}

async function main(): Promise<void> {
  const cpu = cpus();
  const header = [
    '# Reference engine benchmark',
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench:engine\`.`,
    '',
  ];
  const v = process.env.ENGINE_BENCH_SKIP_VIRTUAL ? { lines: ['(skipped)'] } : await virtualBench();
  const h = process.env.ENGINE_BENCH_SKIP_HTTP ? ['(skipped)'] : await httpBench();
  const md = [...header, '## Virtual time: the whole Mooncake conversation trace per policy', '', ...v.lines, '', '## Wall clock: concurrent streams over HTTP', '', ...h, ''].join('\n');
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'engine.md'), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
