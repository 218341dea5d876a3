/**
 * Sim-to-real validation benchmark (`npm run bench:validate`): the three-step loop a user runs,
 * with the built CLI as a child process each time, against the reference engine in wall-clock time:
 *
 *   replay TRACE --endpoint URL --out DIR  →  profile --from-run DIR  →  plan --trace TRACE --against DIR
 *
 * Two endpoints, both the embedded default's engine (llama-3.1-8b on the H100 SXM datasheet
 * profile, 16 sequences, noise CV 0.05), replaying the shipped sample trace:
 *  1. served like a stock vLLM (policy gpu-only, 16 GiB of GPU KV), validated with gpu-only;
 *  2. exactly as `replay` starts it (policy external, 1.25 GiB, so it offloads; no controller),
 *     validated with the same policy (the dynamic rule's distances, as the engine uses them).
 * Results go to bench/results/validation.md. BENCH_VALIDATE_TRACE overrides the trace.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { getModel, findModel } from '../src/core/model-catalogue.js';
import { GIB } from '../src/core/units.js';
import { CostModel } from '../src/cost/cost-model.js';
import { startEngineServer } from '../src/engine/server.js';
import type { Profile } from '../src/core/profile-format.js';
import { loadProfile } from '../src/profile/load.js';
import { BIN, PROFILES, REPO_ROOT } from '../test/helpers/paths.js';

const TRACE = process.env.BENCH_VALIDATE_TRACE ?? join(REPO_ROOT, 'traces/sample-azure-conv.csv');
const MODEL = getModel('llama-3.1-8b');
const BASE = join(PROFILES, 'h100-sxm.datasheet.json');

const run = promisify(execFile);

/** The CLI as a child process (asynchronously: the engine may be serving from this process). */
async function cli(args: string[], allowFail = false): Promise<string> {
  try {
    return (await run(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    if (allowFail) return String((e as { stdout?: string }).stdout ?? '');
    throw e;
  }
}

/** The datasheet's roofline as the linear model's three per-layer coefficients (exact: both are linear in B and X). */
function truthOf(p: Profile): { base: number; perSeq: number; perToken: number } {
  const cost = new CostModel(MODEL, p, { modelLookup: findModel });
  const at = (b: number, x: number): number => cost.layerComputeMs(b, x);
  const base0 = at(1, 0) - (at(2, 0) - at(1, 0));
  return { base: base0, perSeq: at(2, 0) - at(1, 0), perToken: (at(1, 100_000) - at(1, 0)) / 100_000 };
}

interface Case {
  name: string;
  run: string;
  fitted: Profile;
  validation: Record<string, any>;
}

async function oneCase(name: string, dir: string, start: () => Promise<{ url: string; close(): Promise<void> } | null>, validatePolicy: string): Promise<Case> {
  const run = join(dir, name.replace(/\W+/g, '-'));
  const server = await start();
  const t0 = performance.now();
  try {
    await cli(['replay', TRACE, ...(server ? ['--endpoint', server.url] : []), '--controller', 'off', '--out', run, '--max-schedule-lag-ms', '5000'], true);
  } finally {
    await server?.close();
  }
  process.stderr.write(`${name}: replay ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const fittedFile = join(run, 'fitted.json');
  await cli(['profile', '--from-run', run, '--model', MODEL.id, '--base', BASE, '--out', fittedFile]);
  const v = await cli(['plan', '--trace', TRACE, '--profile', fittedFile, '--against', run, '--policy', validatePolicy, '--json']);
  return { name, run, fitted: JSON.parse(readFileSync(fittedFile, 'utf8')) as Profile, validation: JSON.parse(v) };
}

function fmt(x: number | null | undefined, d = 2): string {
  return typeof x === 'number' && Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(d)) : 'n/a';
}

function table(c: Case): string[] {
  const m = c.validation.metrics as Record<string, { predicted: number; measured: number; signed_error: number | null }>;
  const rows = Object.entries(m).map(([k, v]) => `| ${k} | ${fmt(v.predicted)} | ${fmt(v.measured)} | ${v.signed_error === null ? 'n/a' : `${(100 * v.signed_error).toFixed(1)} %`} |`);
  const s = c.validation.simulation;
  return [
    `### ${c.name}`,
    '',
    `Simulated with policy ${s.policy}, GPU KV ${s.budget_blocks} blocks (${s.budget_source}), max-num-seqs ${s.max_num_seqs} (${s.max_num_seqs_source}), noise CV ${s.noise_cv}.`,
    '',
    '| metric | predicted | measured | error |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    `Per-request MAPE over ${c.validation.requests_compared} requests: TTFT ${(100 * c.validation.ttft_mape).toFixed(1)} %, TPOT ${(100 * c.validation.tpot_mape).toFixed(1)} %.`,
    '',
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orbitflow-validate-bench-'));
  const base = loadProfile(BASE).profile;
  const truth = truthOf(base);
  const cases: Case[] = [];
  try {
    cases.push(await oneCase('the embedded default served like a stock vLLM (gpu-only, 16 GiB)', dir, async () => {
      const s = await startEngineServer({ model: MODEL, profile: base, gpuKvGib: 16, policy: 'gpu-only', maxNumSeqs: 16, seed: 0 });
      return { url: s.url, close: () => s.close() };
    }, 'gpu-only'));
    // `replay` without --endpoint: the embedded default exactly (policy external, 1.25 GiB).
    cases.push(await oneCase('the embedded default exactly (policy external, 1.25 GiB, no controller)', dir, async () => null, 'external'));
  } finally {
    const lines: string[] = [
      '# Sim-to-real validation (`npm run bench:validate`)',
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / GIB).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. No GPU: the endpoint is orbitflow's reference engine (a model timed by a profile) behind real HTTP in wall-clock time.`,
      '',
      `Trace: ${TRACE.replace(`${REPO_ROOT}/`, '')}. Model ${MODEL.id}. Fitted with \`profile --from-run\` (base ${base.id}); validated with \`plan --trace --against\`.`,
      '',
      '## Recovered decode coefficients (per layer, ms)',
      '',
      '| endpoint | base | per-sequence | per-token | R² | decode gaps |',
      '|---|---:|---:|---:|---:|---:|',
      `| truth (the datasheet roofline as a linear model, + 0.3 ms / L step overhead) | ${(truth.base + 0.3 / MODEL.layers).toPrecision(4)} | ${truth.perSeq.toPrecision(4)} | ${truth.perToken.toExponential(4)} | | |`,
    ];
    for (const c of cases) {
      const f = c.fitted.decode.fit;
      if (f.form === 'linear') lines.push(`| fitted: ${c.name} | ${f.base_ms.toPrecision(4)} | ${f.per_seq_ms.toPrecision(4)} | ${f.per_token_ms.toExponential(4)} | ${f.r2} | ${c.fitted.provenance.fit?.decode_samples} |`);
    }
    lines.push('');
    for (const c of cases) lines.push(...table(c));
    mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench/results/validation.md'), `${lines.join('\n')}\n`);
    process.stdout.write(`${lines.join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
