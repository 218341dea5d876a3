/**
 * The capacity sweep (`npm run bench:sweep`): the issue's acceptance command
 *   plan --trace mooncake/conversation.jsonl --window 0:600 --sweep gpu-kv-gib=2,4,8,16
 *        --policy all --target 'tbt>=0.9' --jobs 2
 * through the built CLI, against the very same cells run one by one (--jobs 1) in the same run:
 * wall time of each, the speed-up, and a check that both printed the same report (apart from
 * the wall-clock fields). Then the same sweep on the Azure 2023 conv and code traces, for their
 * minimum-memory tables. Writes bench/results/sweep.md (BENCH_OUT).
 * The machine is shared (other jobs come and go), so the two runs alternate for BENCH_ROUNDS
 * rounds (default 3), the order flipping each round, and the speed-up is the ratio of the medians;
 * every round is listed with the load average before it.
 * Env: BENCH_TRACES (comma list of the names below), BENCH_JOBS (default 2), BENCH_ROUNDS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { SweepReport } from '../src/engine/sweep-report.js';
import { renderSweep } from '../src/ui/sweep-table.js';
import { BIN, PROFILES, REPO_ROOT, SHARED_TRACES } from '../test/helpers/paths.js';

const TRACES: Record<string, string> = {
  'mooncake conversation': join(SHARED_TRACES, 'mooncake/conversation.jsonl'),
  'azure-2023 conv': join(SHARED_TRACES, 'azure-2023/conv.csv'),
  'azure-2023 code': join(SHARED_TRACES, 'azure-2023/code.csv'),
};
const JOBS = Number(process.env.BENCH_JOBS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load1 = (): string => loadavg()[0].toFixed(1);

/** GNU time, where the machine has it: the CPU seconds a run got, next to its wall (how many cores it had). */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function sweep(trace: string, jobs: number): { report: SweepReport; wallS: number; cpuS: number | null; command: string } {
  const args = [
    'plan', '--trace', trace, '--window', '0:600', '--model', 'llama-3.1-8b', '--profile', join(PROFILES, 'a6000-llama-3.1-8b.published-fit.json'),
    '--sweep', 'gpu-kv-gib=2,4,8,16', '--policy', 'all', '--target', 'tbt>=0.9', '--jobs', String(jobs), '--json',
  ];
  const argv = GNU_TIME ? [GNU_TIME, '-f', 'bench-cpu-s %U %S', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`orbitflow ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const cpu = /^bench-cpu-s (\S+) (\S+)$/m.exec(r.stderr);
  return { report: JSON.parse(r.stdout) as SweepReport, wallS, cpuS: cpu ? Number(cpu[1]) + Number(cpu[2]) : null, command: `orbitflow ${args.map((a) => shown(a)).join(' ')}` };
}

/** An argument as a reader would type it: paths relative to the repository, quotes where the shell needs them. */
function shown(a: string): string {
  const rel = a.startsWith(`${SHARED_TRACES}/`) ? `../shared/traces/${a.slice(SHARED_TRACES.length + 1)}` : a.startsWith(`${REPO_ROOT}/`) ? a.slice(REPO_ROOT.length + 1) : a;
  return /[\s'>]/.test(rel) ? `'${rel}'` : rel;
}

function withoutWallClock(r: SweepReport): string {
  const drop = new Set(r.wall_clock_fields);
  return JSON.stringify(r, (k, v) => (drop.has(k) ? undefined : v));
}

function main(): void {
  const load = loadavg();
  const names = process.env.BENCH_TRACES ? process.env.BENCH_TRACES.split(',') : Object.keys(TRACES);
  const md: string[] = [
    '# Capacity sweep (`npm run bench:sweep`)',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; load average at start ${load.map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
  ];
  for (const [i, name] of names.entries()) {
    const file = TRACES[name];
    if (!file) throw new Error(`BENCH_TRACES: unknown trace '${name}' (known: ${Object.keys(TRACES).join(', ')})`);
    let parallel = sweep(file, JOBS);
    md.push(`## ${name}, first 600 s`, '', '```sh', parallel.command, '```', '');
    if (i === 0) {
      // The baseline in the same run: the same cells, one at a time, alternating with the pool.
      const rows: string[] = [];
      const seqWalls: number[] = [];
      const parWalls: number[] = [];
      let same = true;
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 === 1 ? [1, JOBS] : [JOBS, 1];
        for (const jobs of order) {
          const before = load1();
          const run = sweep(file, jobs);
          same &&= withoutWallClock(run.report) === withoutWallClock(parallel.report);
          (jobs === 1 ? seqWalls : parWalls).push(run.wallS);
          if (jobs === JOBS) parallel = run;
          const cores = run.cpuS !== null ? `${run.cpuS.toFixed(1)} s (${(run.cpuS / run.wallS).toFixed(2)} cores)` : 'n/a';
          rows.push(`| ${round} | --jobs ${jobs}${jobs === 1 ? ' (one by one)' : ''} | ${before} | ${run.wallS.toFixed(1)} | ${cores} | ${run.report.simulation_wall_s_total.toFixed(1)} |`);
          process.stderr.write(`${name} round ${round}: --jobs ${jobs} ${run.wallS.toFixed(1)} s (load ${before})\n`);
        }
      }
      const speedUp = median(seqWalls) / median(parWalls);
      md.push(
        '| round | run | load average (1 min) before | wall s | CPU (user + sys) | Σ simulation wall s |',
        '|---:|---|---:|---:|---:|---:|',
        ...rows,
        '',
        `Median wall: --jobs 1 ${median(seqWalls).toFixed(1)} s, --jobs ${JOBS} ${median(parWalls).toFixed(1)} s: speed-up ×${speedUp.toFixed(2)} (per round: ${seqWalls.map((w, k) => `×${(w / parWalls[k]).toFixed(2)}`).join(', ')}).`,
        '',
        `Every run printed the same report apart from the wall-clock fields: ${same ? 'yes' : 'NO'}.`,
        '',
      );
      if (!same) process.exitCode = 1;
      process.stderr.write(`${name}: speed-up ×${speedUp.toFixed(2)} (medians); same report: ${same}\n`);
    } else process.stderr.write(`${name}: --jobs ${JOBS} ${parallel.wallS.toFixed(1)} s\n`);
    md.push(`SLO S = ${parallel.report.slo.tpot_ms?.toFixed(1)} ms/token (${parallel.report.slo.source}; base at ${parallel.report.slo.reference}); ${parallel.report.trace.requests_at_rate_1} requests.`, '');
    md.push('```', renderSweep(parallel.report).trimEnd(), '```', '');
  }
  const out = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench/results/sweep.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${md.join('\n')}\n`);
  process.stderr.write(`wrote ${out}\n`);
}

main();
