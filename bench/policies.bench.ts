/**
 * The policy grid (`npm run bench:policies`): every trace in ../shared/traces (first 600 s) × GPU
 * KV {2, 4, 8, 16} GiB × SLO scale {1, 1.5, 2.5} × profile {A6000 published fit, H100 SXM
 * datasheet}, every policy, in virtual time on the reference engine (Llama-3.1-8B, max-num-seqs
 * 16, noise CV 0.05, seed 0). Per cell: TBT attainment with and without Token-Deposit, TPOT
 * attainment, mean and p99 TTFT, output throughput, makespan, pauses, preemptions, refusals. It
 * then lists every cell where `orbitflow` is not within one point of the best other policy's TBT
 * or TPOT attainment, or below 0.97 of the best output throughput, and by how much.
 *
 * A policy's simulation does not depend on the SLO scale except orbitflow's (it plans for the
 * SLO), so baselines run once per (profile, trace, budget) and are scored at each scale.
 * Cells run in parallel on worker threads (BENCH_JOBS, default the number of cores).
 * Env: BENCH_TRACES, BENCH_GIB, BENCH_SCALES, BENCH_PROFILES (comma lists) narrow the grid;
 * BENCH_OUT (default bench/results/policies.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { BASELINE_POLICIES } from '../src/cost/baselines.js';
import { findModel } from '../src/core/model-catalogue.js';
import { CostModel } from '../src/cost/cost-model.js';
import { rowFromRun, sloBaseMs, type PolicyRow } from '../src/engine/compare-policies.js';
import { runVirtual } from '../src/engine/virtual-run.js';
import { createInProcessDriver } from '../src/controller/variants.js';
import { loadProfile } from '../src/profile/load.js';
import { openTrace } from '../src/trace/open.js';
import type { TraceRequest } from '../src/trace/types.js';
import { PROFILES, REPO_ROOT, SHARED_TRACES } from '../test/helpers/paths.js';

const list = (k: string, d: string[]): string[] => (process.env[k] ? process.env[k]!.split(',') : d);
const TRACES: Record<string, string> = {
  'azure-2023 code': join(SHARED_TRACES, 'azure-2023/code.csv'),
  'azure-2023 conv': join(SHARED_TRACES, 'azure-2023/conv.csv'),
  'mooncake conversation': join(SHARED_TRACES, 'mooncake/conversation.jsonl'),
};
const PROFILE_FILES: Record<string, string> = {
  'A6000 fit': join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json'),
  'H100 datasheet': join(PROFILES, 'h100-sxm.datasheet.json'),
};
const GIBS = list('BENCH_GIB', ['2', '4', '8', '16']).map(Number);
const SCALES = list('BENCH_SCALES', ['1', '1.5', '2.5']).map(Number);
const MAX_NUM_SEQS = 16;

interface Task {
  profile: string;
  trace: string;
  gib: number;
  /** A baseline (scored at every scale) or orbitflow at one scale. */
  policy: string;
  scale?: number;
}

interface Scored {
  task: Task;
  /** One row per scale (baselines) or the one scale (orbitflow). */
  rows: { scale: number; row: PolicyRow; p99TtftMs: number; refused: number }[];
}

function p99Ttft(run: Awaited<ReturnType<typeof runVirtual>>): number {
  const ttfts = run.requests.filter((r) => r.decodedTokens > 0).map((r) => r.tokenTimesMs[0] - r.arrivalMs).sort((a, b) => a - b);
  return ttfts.length > 0 ? ttfts[Math.min(ttfts.length - 1, Math.floor(0.99 * ttfts.length))] : 0;
}

const traceCache = new Map<string, TraceRequest[]>();
async function traceOf(name: string): Promise<TraceRequest[]> {
  let t = traceCache.get(name);
  if (!t) {
    t = [];
    for await (const r of openTrace(TRACES[name], { window: { startS: 0, durationS: 600 } }).requests()) t.push(r);
    traceCache.set(name, t);
  }
  return t;
}

async function runTask(task: Task): Promise<Scored> {
  const model = findModel('llama-3.1-8b')!;
  const profile = loadProfile(PROFILE_FILES[task.profile]).profile;
  const cost = new CostModel(model, profile, { modelLookup: findModel });
  const trace = await traceOf(task.trace);
  const budgetBlocks = cost.budgetBlocksFromGiB(task.gib);
  const base = sloBaseMs(cost, budgetBlocks, MAX_NUM_SEQS);
  const cfg = { cost, budgetBlocks, maxNumSeqs: MAX_NUM_SEQS, noiseCv: 0.05, seed: 0 };
  if (task.policy === 'orbitflow') {
    const sloMs = task.scale! * base;
    const driver = createInProcessDriver('orbitflow', { model, profile, tp: 1, budgetBlocks, sloMs, seed: 0 });
    const run = await runVirtual(trace, { ...cfg, policy: 'orbitflow' }, { driver });
    return { task, rows: [{ scale: task.scale!, row: rowFromRun('orbitflow', run, sloMs, null), p99TtftMs: p99Ttft(run), refused: driver.controller.summary().refused }] };
  }
  const run = await runVirtual(trace, { ...cfg, policy: task.policy as (typeof BASELINE_POLICIES)[number] });
  return { task, rows: SCALES.map((scale) => ({ scale, row: rowFromRun(task.policy, run, scale * base, null), p99TtftMs: p99Ttft(run), refused: run.counters.rejected })) };
}


async function main(): Promise<void> {
  const started = performance.now();
  const load = loadavg();
  const tasks: Task[] = [];
  for (const profile of list('BENCH_PROFILES', Object.keys(PROFILE_FILES))) {
    for (const trace of list('BENCH_TRACES', Object.keys(TRACES))) {
      for (const gib of GIBS) {
        for (const policy of BASELINE_POLICIES) tasks.push({ profile, trace, gib, policy });
        for (const scale of SCALES) tasks.push({ profile, trace, gib, policy: 'orbitflow', scale });
      }
    }
  }
  // The slow ones (orbitflow, Mooncake) first, so the pool ends together.
  tasks.sort((a, b) => Number(b.policy === 'orbitflow') - Number(a.policy === 'orbitflow') || Number(b.trace.startsWith('mooncake')) - Number(a.trace.startsWith('mooncake')));
  const jobs = Number(process.env.BENCH_JOBS ?? availableParallelism());
  const results: Scored[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      const w = new Worker(fileURLToPath(import.meta.url));
      try {
        while (next < tasks.length) {
          const task = tasks[next++];
          const res = await new Promise<{ ok: boolean; r?: Scored; error?: string }>((resolve) => {
            w.once('message', resolve);
            w.postMessage(task);
          });
          if (!res.ok) throw new Error(`${task.profile} ${task.trace} ${task.gib} GiB ${task.policy}: ${res.error}`);
          results.push(res.r!);
          process.stderr.write(`${results.length}/${tasks.length} ${task.profile} · ${task.trace} · ${task.gib} GiB · ${task.policy}${task.scale ? ` @${task.scale}` : ''}\n`);
        }
      } finally {
        await w.terminate();
      }
    }),
  );
  writeReport(results, (performance.now() - started) / 1000, load, jobs);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

function writeReport(results: Scored[], wallS: number, load: number[], jobs: number): void {
  type Cell = { profile: string; trace: string; gib: number; scale: number; rows: { policy: string; row: PolicyRow; p99TtftMs: number; refused: number }[] };
  const cells = new Map<string, Cell>();
  for (const s of results) {
    for (const r of s.rows) {
      const key = `${s.task.profile}|${s.task.trace}|${s.task.gib}|${r.scale}`;
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { profile: s.task.profile, trace: s.task.trace, gib: s.task.gib, scale: r.scale, rows: [] }));
      c.rows.push({ policy: s.task.policy, row: r.row, p99TtftMs: r.p99TtftMs, refused: r.refused });
    }
  }
  const order = [...cells.values()].sort((a, b) => a.profile.localeCompare(b.profile) || a.trace.localeCompare(b.trace) || a.gib - b.gib || a.scale - b.scale);
  const lines: string[] = [];
  const misses: string[] = [];
  let met = 0;
  lines.push('# Policy grid (`npm run bench:policies`)', '');
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; load average at start ${load.map((x) => x.toFixed(1)).join(' / ')}; ${jobs} worker threads; wall ${wallS.toFixed(0)} s.`,
    'Reference engine in virtual time (not a GPU): Llama-3.1-8B, max-num-seqs 16, noise CV 0.05, seed 0, first 600 s of each trace. Profiles: the OrbitFlow artifact\'s A6000 published fit (NOT MEASURED: published fit, its assumed 25.19 GiB/s link) and the H100 SXM datasheet profile (NOT MEASURED: datasheet-derived). SLO S = scale × the all-on-GPU step at the budget\'s token capacity (batch 16). orbitflow charges its solves the modelled latency and limits the ILP in work, so every figure is reproducible.',
    '',
  );
  for (const c of order) {
    lines.push(`## ${c.profile} · ${c.trace} · ${c.gib} GiB · SLO scale ${c.scale}`, '');
    lines.push('| policy | TBT att | TBT att TD | TPOT att | mean TTFT s | p99 TTFT s | out tok/s | makespan s | pauses | preempt | refused |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const sorted = [...c.rows].sort((a, b) => Number(b.policy === 'orbitflow') - Number(a.policy === 'orbitflow') || a.policy.localeCompare(b.policy));
    for (const { policy, row: r, p99TtftMs, refused } of sorted) {
      lines.push(`| ${policy} | ${pct(r.tbt_attainment)} | ${pct(r.tbt_attainment_td)} | ${pct(r.tpot_attainment)} | ${(r.mean_ttft_ms / 1000).toFixed(1)} | ${(p99TtftMs / 1000).toFixed(1)} | ${r.output_throughput_tok_s.toFixed(1)} | ${r.makespan_s.toFixed(0)} | ${r.pauses} | ${r.preemptions} | ${refused} |`);
    }
    lines.push('');
    const of = c.rows.find((r) => r.policy === 'orbitflow')?.row;
    const others = c.rows.filter((r) => r.policy !== 'orbitflow');
    if (!of || others.length === 0) continue;
    const best = (k: 'tbt_attainment' | 'tpot_attainment' | 'output_throughput_tok_s') => others.reduce((a, b) => (b.row[k] > a.row[k] ? b : a));
    const why: string[] = [];
    const bt = best('tbt_attainment');
    const bp = best('tpot_attainment');
    const bo = best('output_throughput_tok_s');
    if (of.tbt_attainment < bt.row.tbt_attainment - 0.01) why.push(`TBT ${pct(of.tbt_attainment)} vs ${bt.policy} ${pct(bt.row.tbt_attainment)} (${(100 * (of.tbt_attainment - bt.row.tbt_attainment)).toFixed(1)} pt)`);
    if (of.tpot_attainment < bp.row.tpot_attainment - 0.01) why.push(`TPOT ${pct(of.tpot_attainment)} vs ${bp.policy} ${pct(bp.row.tpot_attainment)} (${(100 * (of.tpot_attainment - bp.row.tpot_attainment)).toFixed(1)} pt)`);
    if (of.output_throughput_tok_s < 0.97 * bo.row.output_throughput_tok_s) why.push(`throughput ${of.output_throughput_tok_s.toFixed(1)} vs ${bo.policy} ${bo.row.output_throughput_tok_s.toFixed(1)} tok/s (×${(of.output_throughput_tok_s / bo.row.output_throughput_tok_s).toFixed(3)})`);
    if (why.length === 0) met++;
    else misses.push(`- ${c.profile} · ${c.trace} · ${c.gib} GiB · scale ${c.scale}: ${why.join('; ')}`);
  }
  const summary = [
    `## Where orbitflow is not the best policy`,
    '',
    `Acceptance per cell: TBT and TPOT attainment each within 1 point of the best other policy, output throughput ≥ 0.97 × the best. Met in ${met} of ${order.length} cells.`,
    '',
    ...(misses.length > 0 ? misses : ['- none']),
    '',
  ];
  const md = [...lines.slice(0, 4), ...summary, ...lines.slice(4)].join('\n');
  const out = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench/results/policies.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${md}\n`);
  process.stdout.write(summary.join('\n'));
}

// Last, so every declaration above exists before the first task runs.
if (!isMainThread) {
  parentPort!.on('message', (task: Task) => {
    runTask(task).then(
      (r) => parentPort!.postMessage({ ok: true, r }),
      (e: Error) => parentPort!.postMessage({ ok: false, error: `${e.message}` }),
    );
  });
} else {
  await main();
}
