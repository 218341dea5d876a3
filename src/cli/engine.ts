import type { Command } from 'commander';
import { usageError } from '../core/errors.js';
import { findModel, resolveModel } from '../core/model-catalogue.js';
import { CostModel } from '../cost/cost-model.js';
import { createInProcessDriver } from '../controller/variants.js';
import { ENGINE_DEFAULTS } from '../engine/engine-core.js';
import { startEngineServer } from '../engine/server.js';
import { ENGINE_POLICIES, type EnginePolicyName } from '../engine/types.js';
import { PAUSE_POLICIES, type PausePolicy } from '../planner/types.js';
import { loadProfile } from '../profile/load.js';
import { provenanceLine } from '../core/profile-format.js';
import { out, type CliContext } from './context.js';
import { addOptionTable, flag, optional, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse-options.js';

const ENGINE_OPTIONS = {
  host: withDefault('--host <addr>', 'listen address (loopback by default)', '127.0.0.1'),
  port: withDefault('--port <n>', 'listen port; 0 picks a free port and prints it', 0, { parse: nonNegativeInt }),
  model: optional('--model <id>', 'model from the catalogue (default llama-3.1-8b)'),
  modelConfig: optional('--model-config <file>', 'a HuggingFace config.json for a model outside the catalogue'),
  profile: optional('--profile <file>', 'GPU profile (orbitflow.profile/v1)'),
  gpuKvGib: optional('--gpu-kv-gib <gib>', 'GPU KV budget in GiB (per TP rank)', { parse: positiveNumber }),
  gpuKvBlocks: optional('--gpu-kv-blocks <n>', 'GPU KV budget in per-layer 16-token blocks (per TP rank)', { parse: positiveInt }),
  hostKvGib: optional('--host-kv-gib <gib>', `host KV capacity in GiB (default ${ENGINE_DEFAULTS.hostKvGib})`, { parse: positiveNumber }),
  policy: withDefault<EnginePolicyName>('--policy <p>', 'placement policy: a baseline, orbitflow (the feedback controller, in-process) or external (placements only through the control protocol)', 'external', { choices: ENGINE_POLICIES }),
  maxNumSeqs: withDefault<number>('--max-num-seqs <n>', 'most sequences running or paused at once', ENGINE_DEFAULTS.maxNumSeqs, { parse: positiveInt }),
  noiseCv: withDefault<number>('--noise-cv <f>', 'coefficient of variation of the multiplicative step-time noise', ENGINE_DEFAULTS.noiseCv, { parse: fraction }),
  seed: withDefault<number>('--seed <n>', 'seed of the step-time noise', ENGINE_DEFAULTS.seed, { parse: nonNegativeInt }),
  tp: withDefault('--tp <n>', 'tensor-parallel degree', 1, { parse: positiveInt }),
  timeScale: withDefault('--time-scale <x>', 'run engine time X times faster than wall time', 1, { parse: positiveNumber }),
  stepOverheadMs: withDefault<number>('--step-overhead-ms <ms>', 'fixed cost of every step (scheduling, sampling, launches)', ENGINE_DEFAULTS.stepOverheadMs, { parse: nonNegativeNumber }),
  stalenessSteps: withDefault<number>('--staleness-steps <n>', 'refuse (409) placement plans based on a step older than this', ENGINE_DEFAULTS.stalenessSteps, { parse: nonNegativeInt }),
  servedModelName: optional('--served-model-name <name>', "model name clients send (default: the model's HF name)"),
  tpotSloMs: optional('--tpot-slo-ms <ms>', 'policy orbitflow: the per-token SLO its planner aims at', { parse: positiveNumber }),
  pausePolicy: optional<PausePolicy>('--pause-policy <p>', 'policy orbitflow: Pause-Resume victim', { choices: PAUSE_POLICIES }),
  shutdownGraceS: withDefault('--shutdown-grace-s <s>', 'on SIGINT/SIGTERM, requests in flight get this long to finish; the rest end with an error event, then [DONE]', 5, { parse: nonNegativeNumber }),
  json: flag('--json', 'print the listening address as one JSON line instead of text'),
} satisfies OptionTable;

type EngineOpts = OptionsOf<typeof ENGINE_OPTIONS>;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function registerEngine(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('engine')
    .description('Run the reference engine: an OpenAI-compatible server (completions, chat, streaming) with the OrbitFlow control protocol, timed by the cost model in wall-clock time.');
  addOptionTable(cmd, ENGINE_OPTIONS)
    .action(async (o: EngineOpts) => {
      if (!o.profile) throw usageError('--profile', 'a profile file is required');
      if ((o.gpuKvGib === undefined) === (o.gpuKvBlocks === undefined)) throw usageError('--gpu-kv-gib', 'give exactly one of --gpu-kv-gib or --gpu-kv-blocks');
      const model = resolveModel({ model: o.model, modelConfig: o.modelConfig });
      const loaded = loadProfile(o.profile);
      const cost = new CostModel(model, loaded.profile, { tp: o.tp, modelLookup: findModel });
      const budgetBlocks = o.gpuKvBlocks ?? cost.budgetBlocksFromGiB(o.gpuKvGib!);
      const driver = o.policy === 'orbitflow'
        ? createInProcessDriver('orbitflow', {
            model, profile: loaded.profile, tp: o.tp ?? 1, budgetBlocks, sloMs: o.tpotSloMs, pausePolicy: o.pausePolicy, seed: o.seed,
            // On the wall clock the solve really holds the engine: limit and charge it in wall time.
            solveLimit: 'wall', solverLatency: { mode: 'measured' }, clockMs: ctx.clockMs,
          })
        : undefined;
      const server = await startEngineServer({
        model,
        profile: loaded.profile,
        tp: o.tp,
        gpuKvGib: o.gpuKvGib,
        gpuKvBlocks: o.gpuKvBlocks,
        hostKvGib: o.hostKvGib,
        policy: o.policy,
        maxNumSeqs: o.maxNumSeqs,
        noiseCv: o.noiseCv,
        seed: o.seed,
        stepOverheadMs: o.stepOverheadMs,
        stalenessSteps: o.stalenessSteps,
        timeScale: o.timeScale,
        host: o.host,
        port: o.port,
        servedModelName: o.servedModelName,
        driver,
      });
      const core = server.core;
      if (o.json) {
        out(ctx, JSON.stringify({ url: server.url, port: server.port, model: core.modelName, policy: core.policy, gpu_kv_blocks: core.budgetBlocks, profile: loaded.profile.id }));
      } else {
        out(ctx, provenanceLine(loaded.profile));
        out(ctx, `orbitflow engine: ${core.modelName}, policy ${core.policy}, GPU KV ${core.budgetBlocks} blocks (${core.cost.blocksToGiB(core.budgetBlocks).toFixed(2)} GiB), max-num-seqs ${core.maxNumSeqs}, time scale ${o.timeScale}`);
        if (!LOOPBACK.has(o.host)) out(ctx, `warning: listening on ${o.host}, not loopback: anyone who can reach it can drive the engine`);
        out(ctx, `listening on ${server.url}`);
      }
      // Serve until SIGINT/SIGTERM: stop accepting, let the requests in flight finish within the
      // grace period, fail the rest explicitly, exit 0 (a second signal exits at once).
      await new Promise<void>((resolve) => {
        ctx.onInterrupt = async () => {
          await server.close({ graceMs: o.shutdownGraceS * 1000 }).catch(() => undefined);
          resolve();
          return 0;
        };
      });
      ctx.exitCode = 0;
    });
}
