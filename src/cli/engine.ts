import { Option, type Command } from 'commander';
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
import { fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './parse-options.js';

interface EngineOpts {
  host: string;
  port: number;
  model?: string;
  modelConfig?: string;
  profile?: string;
  gpuKvGib?: number;
  gpuKvBlocks?: number;
  hostKvGib?: number;
  policy: EnginePolicyName;
  maxNumSeqs: number;
  noiseCv: number;
  seed: number;
  tp: number;
  timeScale: number;
  stepOverheadMs: number;
  stalenessSteps: number;
  servedModelName?: string;
  tpotSloMs?: number;
  pausePolicy?: PausePolicy;
  shutdownGraceS: number;
  json?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function registerEngine(program: Command, ctx: CliContext): void {
  program
    .command('engine')
    .description('Run the reference engine: an OpenAI-compatible server (completions, chat, streaming) with the OrbitFlow control protocol, timed by the cost model in wall-clock time.')
    .option('--host <addr>', 'listen address (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'listen port; 0 picks a free port and prints it', nonNegativeInt, 0)
    .option('--model <id>', 'model from the catalogue (default llama-3.1-8b)')
    .option('--model-config <file>', 'a HuggingFace config.json for a model outside the catalogue')
    .option('--profile <file>', 'GPU profile (orbitflow.profile/v1)')
    .option('--gpu-kv-gib <gib>', 'GPU KV budget in GiB (per TP rank)', positiveNumber)
    .option('--gpu-kv-blocks <n>', 'GPU KV budget in per-layer 16-token blocks (per TP rank)', positiveInt)
    .option('--host-kv-gib <gib>', `host KV capacity in GiB (default ${ENGINE_DEFAULTS.hostKvGib})`, positiveNumber)
    .addOption(new Option('--policy <p>', 'placement policy: a baseline, orbitflow (the feedback controller, in-process) or external (placements only through the control protocol)').choices([...ENGINE_POLICIES]).default('external'))
    .option('--max-num-seqs <n>', 'most sequences running or paused at once', positiveInt, ENGINE_DEFAULTS.maxNumSeqs)
    .option('--noise-cv <f>', 'coefficient of variation of the multiplicative step-time noise', fraction, ENGINE_DEFAULTS.noiseCv)
    .option('--seed <n>', 'seed of the step-time noise', nonNegativeInt, ENGINE_DEFAULTS.seed)
    .option('--tp <n>', 'tensor-parallel degree', positiveInt, 1)
    .option('--time-scale <x>', 'run engine time X times faster than wall time', positiveNumber, 1)
    .option('--step-overhead-ms <ms>', 'fixed cost of every step (scheduling, sampling, launches)', nonNegativeNumber, ENGINE_DEFAULTS.stepOverheadMs)
    .option('--staleness-steps <n>', 'refuse (409) placement plans based on a step older than this', nonNegativeInt, ENGINE_DEFAULTS.stalenessSteps)
    .option('--served-model-name <name>', 'model name clients send (default: the model\'s HF name)')
    .option('--tpot-slo-ms <ms>', 'policy orbitflow: the per-token SLO its planner aims at', positiveNumber)
    .addOption(new Option('--pause-policy <p>', 'policy orbitflow: Pause-Resume victim').choices([...PAUSE_POLICIES]))
    .option('--shutdown-grace-s <s>', 'on SIGINT/SIGTERM, requests in flight get this long to finish; the rest end with an error event, then [DONE]', nonNegativeNumber, 5)
    .option('--json', 'print the listening address as one JSON line instead of text')
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
