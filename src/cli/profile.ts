import type { Command } from 'commander';
import { addOptionTable, flag, optional, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { nonNegativeInt, positiveInt } from './parse-options.js';
import type { CliContext } from './context.js';
import { inkProgress, plainProgress, type ProgressSink } from '../profile/progress-view.js';
import { runProfile, type ProfileOptions } from '../profile/run-profile.js';
import { renderSummary } from '../profile/summary.js';
import { runProfileFromRun } from './profile-from-run.js';

const PROFILE_OPTIONS = {
  model: optional('--model <id>', 'model whose shape is measured (catalogue id; default llama-3.1-8b)'),
  modelConfig: optional('--model-config <file>', 'a HuggingFace config.json for a model outside the catalogue'),
  tp: optional('--tp <n>', "tensor-parallel degree: measure one rank's share of the heads and weights", { parse: positiveInt }),
  out: optional('--out <file>', 'where to write the profile (default profiles/<gpu>-<model>.json)'),
  device: withDefault('--device <n>', 'CUDA device index', 0, { parse: nonNegativeInt }),
  quick: flag('--quick', 'a shorter sweep and grid (about a minute)'),
  validate: flag('--validate', 'also run decode steps with offloaded layers and compare them with the cost model'),
  upper: flag('--upper', "predict the validation steps with the fit's upper envelope"),
  nvcc: optional('--nvcc <path>', 'nvcc to build the probe with (default: $CUDA_HOME/bin, PATH, /usr/local/cuda/bin)'),
  cacheDir: optional('--cache-dir <dir>', 'where built probes are kept (default ~/.cache/orbitflow/probe)'),
  rebuild: flag('--rebuild', 'build the probe even if a cached build exists'),
  timeoutS: optional('--timeout-s <n>', 'stop the probe after this many seconds (default 300 with --quick, else 900)', { parse: positiveInt }),
  probeOutput: optional('--probe-output <file>', 'build the profile from this probe JSON (no GPU or nvcc needed)'),
  saveProbeOutput: optional('--save-probe-output <file>', "also write the probe's raw JSON here"),
  json: flag('--json', 'print {file, sha256, profile} on stdout, nothing else'),
  fromRun: optional('--from-run <dir>', "fit the decode and prefill cost from a replay's --out DIR instead of probing a GPU (no GPU needed); --model/--model-config and --tp say what the endpoint served"),
  base: optional('--base <file>', '--from-run: profile whose host↔GPU link and dense TFLOPs are kept (not identifiable from a replay) (default: profiles/h100-sxm.datasheet.json)'),
  id: optional('--id <id>', '--from-run: id of the fitted profile (default fitted-<model>-<host>-<port>)'),
} satisfies OptionTable;

type RawOptions = OptionsOf<typeof PROFILE_OPTIONS>;

export function registerProfile(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('profile')
    .description(
      'Measure this GPU with a bundled CUDA probe (host↔device bandwidth, KV-shaped copies, copies under decode load, ' +
        'per-layer decode time), fit the cost model and write a profile (orbitflow.profile/v1). Needs an NVIDIA driver ' +
        'and nvcc; --probe-output builds the profile from a probe JSON captured elsewhere instead.',
    );
  addOptionTable(cmd, PROFILE_OPTIONS)
    .addHelpText('after', '\nEnvironment: ORBITFLOW_NVIDIA_SMI (nvidia-smi to use), CUDA_HOME, XDG_CACHE_HOME.\nExit codes: 0 written; 2 bad input; 3 no driver, GPU or nvcc; 4 the probe failed or its checks did not pass.')
    .action(async (raw: RawOptions) => {
      if (raw.fromRun !== undefined) {
        await runProfileFromRun({ ...raw, fromRun: raw.fromRun }, ctx);
        return;
      }
      const options: ProfileOptions = {
        model: raw.model,
        modelConfig: raw.modelConfig,
        tp: raw.tp,
        out: raw.out,
        device: raw.device,
        quick: raw.quick,
        validate: raw.validate,
        upper: raw.upper,
        nvcc: raw.nvcc,
        cacheDir: raw.cacheDir,
        rebuild: raw.rebuild,
        timeoutS: raw.timeoutS,
        probeOutput: raw.probeOutput,
        saveProbeOutput: raw.saveProbeOutput,
      };
      // The live view only on a terminal, and never when stdout carries --json.
      const sink: ProgressSink = ctx.interactive && !raw.json
        ? await inkProgress(ctx.stdout as NodeJS.WriteStream)
        : plainProgress(ctx.stderr);
      let stop: (() => void) | null = null;
      ctx.onInterrupt = async () => {
        stop?.();
        await sink.close();
      };
      let outcome;
      try {
        outcome = await runProfile(options, {
          env: ctx.env,
          cwd: ctx.cwd,
          onStage: (s, d) => sink.stage(s, d),
          onProgress: (p) => sink.progress(p),
          onLog: (l) => sink.log(l),
          onStop: (fn) => (stop = fn),
        });
      } finally {
        await sink.close();
      }
      if (raw.json) {
        ctx.stdout.write(`${JSON.stringify({ file: outcome.file, sha256: outcome.sha256, profile: outcome.profile }, null, 2)}\n`);
        return;
      }
      const buildNote = outcome.build ? (outcome.build.cached ? 'cached probe build' : `probe built in ${(outcome.build.buildMs / 1000).toFixed(1)} s`) : null;
      ctx.stdout.write(renderSummary({ profile: outcome.profile, file: outcome.file, warnings: outcome.warnings, elapsedS: outcome.probe.elapsed_s, buildNote }));
    });
}
