import { usageError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { BASELINE_POLICIES, isBaselinePolicy } from '../cost/baselines.js';
import type { EnginePolicyName } from '../engine/types.js';
import { parseAssertion, type Assertion } from '../replay/assertions.js';
import type { SloSpec } from '../replay/metrics-slo.js';
import type { GoodputSpec } from '../replay/metrics-vllm.js';
import { parseGoodput, parsePercentiles, parseSlo } from '../replay/parse-specs.js';
import type { PromptMode } from '../replay/prompt.js';
import type { ApiKind } from '../replay/request-body.js';
import type { CliContext } from './context.js';
import type { EmbeddedEngineOptions } from './replay-engine.js';
import type { ControllerMode, ReplayCliOptions } from './replay-options.js';
import { scalePlanFrom, type ScalePlan } from './replay-scale.js';
import { telemetryPlanFrom, type TelemetryPlan } from './replay-telemetry.js';
import { traceOptionsFrom, type TraceOptions } from './trace-options.js';

/**
 * Everything `orbitflow replay` resolved from its command line, checked once before any trace
 * is read, engine started or request sent, and frozen: the run reads only this.
 */
export interface ReplayCommandConfig {
  readonly traceFile: string;
  readonly traceOpts: TraceOptions;
  /** What a dry run does instead of replaying. */
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly out: string | undefined;
  readonly report: string | undefined;
  readonly saveDetailed: boolean;
  readonly scoring: {
    readonly percentiles: readonly number[];
    readonly slo: SloSpec;
    readonly deposit: boolean;
    readonly goodput: GoodputSpec | undefined;
    readonly maxErrorRate: number;
    readonly maxScheduleLagMs: number;
  };
  /** Parsed here; checked against the result's keys once the trace says which SLOs it carries. */
  readonly asserts: readonly Assertion[];
  readonly client: {
    readonly api: ApiKind;
    readonly prompt: PromptMode;
    readonly modelName: string | undefined;
    /** Authorization, when --api-key-env names a key (registered as a secret: never printed). */
    readonly headers: Readonly<Record<string, string>>;
    readonly maxConcurrency: number | undefined;
    readonly requestTimeoutS: number;
  };
  /** The endpoint given; undefined: the embedded engine. */
  readonly endpoint: string | undefined;
  readonly embedded: Readonly<EmbeddedEngineOptions>;
  /** --compare: the embedded engine's static policies replayed after the controlled run. */
  readonly comparePolicies: readonly EnginePolicyName[];
  readonly controller: {
    readonly mode: ControllerMode;
    /** What it plans with for an external endpoint (the embedded engine's own otherwise). */
    readonly profileFile: string | undefined;
    readonly model: string | undefined;
    readonly tp: number;
  };
  readonly telemetry: TelemetryPlan | null;
  readonly scale: ScalePlan;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function parseComparePolicies(list: string): EnginePolicyName[] {
  const out: EnginePolicyName[] = [];
  for (const p of list.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!isBaselinePolicy(p)) throw usageError('--compare', `expected baseline policies (${BASELINE_POLICIES.join(', ')}), got '${p}'`);
    out.push(p);
  }
  return out;
}

function authorization(ctx: CliContext, apiKeyEnv: string | undefined): Record<string, string> {
  if (apiKeyEnv === undefined) return {};
  // A key given where its variable's name belongs must not be echoed in the error.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(apiKeyEnv)) {
    throw usageError('--api-key-env', 'expects the NAME of an environment variable holding the key (letters, digits, _), not the key itself; what was given is not shown', 'e.g. OPENAI_API_KEY=… orbitflow replay … --api-key-env OPENAI_API_KEY');
  }
  const key = ctx.env[apiKeyEnv];
  if (key === undefined || key === '') throw usageError('--api-key-env', `environment variable ${apiKeyEnv} is not set`);
  registerSecret(key);
  return { authorization: `Bearer ${key}` };
}

/** Resolve and check replay's options (exit 2 on the first bad one); `nowUnixMs` judges --start-at. */
export function resolveReplayConfig(ctx: CliContext, traceFile: string, o: ReplayCliOptions, nowUnixMs: number): ReplayCommandConfig {
  const traceOpts = traceOptionsFrom(o);
  const scoring = {
    percentiles: parsePercentiles(o.percentiles),
    slo: o.slo !== undefined ? parseSlo(o.slo) : {},
    deposit: o.deposit,
    goodput: o.goodput !== undefined ? parseGoodput(o.goodput) : undefined,
    maxErrorRate: o.maxErrorRate,
    maxScheduleLagMs: o.maxScheduleLagMs,
  };
  const asserts = (o.assert ?? []).map(parseAssertion);
  if (o.deposit && scoring.slo.tbtMs === undefined) throw usageError('--deposit', 'Token-Deposit scores TBT: give a tbt SLO with --slo tbt=MS');
  if (o.dryRun && o.report !== undefined) throw usageError('--report', 'a --dry-run sends nothing, so there is nothing to chart; leave out one of them');
  if (o.compare !== undefined && o.endpoint !== undefined) throw usageError('--compare', 'compares policies of the embedded engine: leave out --endpoint');
  const prompt: PromptMode = o.prompt ?? (o.api === 'chat' ? 'text' : 'token-ids');
  if (o.api === 'chat' && prompt === 'token-ids') throw usageError('--prompt', 'token-ids prompts need --api completions (chat messages are text)');
  const config: ReplayCommandConfig = {
    traceFile,
    traceOpts,
    dryRun: o.dryRun,
    json: o.json,
    out: o.out,
    report: o.report,
    saveDetailed: o.saveDetailed,
    scoring,
    asserts,
    client: {
      api: o.api,
      prompt,
      modelName: o.modelName,
      headers: authorization(ctx, o.apiKeyEnv),
      maxConcurrency: o.maxConcurrency,
      requestTimeoutS: o.requestTimeoutS,
    },
    endpoint: o.endpoint,
    embedded: {
      engineProfile: o.engineProfile,
      engineGpuKvGib: o.engineGpuKvGib,
      engineMaxNumSeqs: o.engineMaxNumSeqs,
      engineNoiseCv: o.engineNoiseCv,
      seed: traceOpts.seed,
    },
    comparePolicies: o.compare !== undefined ? parseComparePolicies(o.compare) : [],
    controller: { mode: o.controller, profileFile: o.profile, model: o.model, tp: o.tp },
    telemetry: telemetryPlanFrom(o),
    scale: o.dryRun ? { workers: 1, shard: null, startAtMs: null } : scalePlanFrom(o, ctx, nowUnixMs),
  };
  return deepFreeze(config);
}
