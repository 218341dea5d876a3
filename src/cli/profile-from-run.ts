import { join, resolve } from 'node:path';
import { OrbitflowError, usageError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { resolveModel } from '../core/model-catalogue.js';
import { writeFileAtomic } from '../core/output-files.js';
import { fitRun, type FitRunOutcome } from '../profile/from-run/fit-run.js';
import { readRunDir } from '../profile/from-run/run-dir.js';
import { provenanceLine } from '../core/profile-format.js';
import { loadProfile } from '../profile/load.js';
import type { CliContext } from './context.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from './replay-engine.js';

export interface FromRunOptions {
  fromRun: string;
  base?: string;
  model?: string;
  modelConfig?: string;
  tp?: number;
  out?: string;
  id?: string;
  json?: boolean;
}

function text(o: FitRunOutcome, file: string, baseGiven: boolean): string {
  const p = o.profile;
  const d = o.decode;
  const f = p.provenance.fit!;
  const ms = (x: number): string => x.toPrecision(4);
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const skipped = Object.entries(f.skipped).map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`).join(', ') || 'none';
  const lines = [
    provenanceLine(p),
    `decode step (ms) = ${ms(d.step.baseMs)} + ${ms(d.step.perSeqMs)} · batch + ${ms(d.step.perTokenMs)} · Σ context tokens   (per layer: base ${ms(d.baseMs)}, per-seq ${ms(d.perSeqMs)}, per-token ${d.perTokenMs.toExponential(4)}; L = ${d.step.baseMs > 0 ? Math.round(d.step.baseMs / d.baseMs) : '?'})`,
    `  ${d.samples} decode gaps (${d.steps} engine steps) from ${o.recon.requestsUsed} requests; R² ${d.r2.toFixed(4)}; |residual| p50 / p90 / p99 ${ms(d.residualMs.p50)} / ${ms(d.residualMs.p90)} / ${ms(d.residualMs.p99)} ms (${pct(d.residualRel.p50)} / ${pct(d.residualRel.p90)} / ${pct(d.residualRel.p99)}); noise CV ≈ ${d.residualCv.toFixed(3)}${d.clamped.length ? `; held at 0: ${d.clamped.join(', ')}` : ''}${d.perSeqDropped ? `; per-sequence term dropped (not supported by the data: BIC over ${d.steps} steps)` : ''}`,
    `  left out: ${skipped}`,
    o.prefill.identified
      ? `prefill efficiency ${o.prefill.efficiency.toPrecision(4)} of ${p.provenance.gpu.dense_tflops} TFLOPS, fitted to ${o.prefill.samples} prefill steps (|error| p50 ${pct(o.prefill.errorRel!.p50)}, p90 ${pct(o.prefill.errorRel!.p90)})`
      : `prefill efficiency ${o.prefill.efficiency} kept from ${f.base_profile.id} (${o.prefill.samples} prefill steps, too few above the decode floor to fit it)`,
    o.telemetryAgreement === null
      ? 'telemetry: none in the run (the batch is reconstructed from the client side only)'
      : `telemetry: the reconstructed batch is within 1 of the engine's running count for ${pct(o.telemetryAgreement)} of the gaps`,
    `host↔GPU link and dense TFLOPs: kept from ${f.base_profile.id}${baseGiven ? '' : ' (the default --base)'}: not identifiable from a replay`,
    `wrote ${file}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** `orbitflow profile --from-run DIR`: fit a profile from a replay's results and write it. */
export async function runProfileFromRun(o: FromRunOptions, ctx: CliContext): Promise<void> {
  if (o.tp !== undefined && (!Number.isInteger(o.tp) || o.tp < 1)) throw usageError('--tp', `expected a positive integer, got ${o.tp}`);
  const model = resolveModel({ model: o.model, modelConfig: o.modelConfig });
  const tp = o.tp ?? 1;
  if (model.kvHeads % tp !== 0) throw usageError('--tp', `${tp} does not divide ${model.id}'s ${model.kvHeads} KV heads`);
  const base = loadProfile(o.base ?? shippedProfile(EMBEDDED_DEFAULTS.profile));
  const dir = resolve(ctx.cwd, o.fromRun);
  const run = await readRunDir(dir);
  const outcome = fitRun({ ...run, dir: o.fromRun }, { model, tp, base, id: o.id });
  const file = o.out ?? join(o.fromRun, `${outcome.profile.id}.json`);
  const json = `${JSON.stringify(outcome.profile, null, 2)}\n`;
  try {
    await writeFileAtomic(resolve(ctx.cwd, file), json);
  } catch (e) {
    throw new OrbitflowError('OF_PROFILE_OUT', `--out ${file}: cannot write the profile (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (o.json) ctx.stdout.write(`${JSON.stringify({ file, sha256: sha256Hex(json), profile: outcome.profile }, null, 2)}\n`);
  else ctx.stdout.write(text(outcome, file, o.base !== undefined));
}
