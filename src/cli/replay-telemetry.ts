import { usageError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { Endpoint } from '../replay/endpoint.js';
import type { HookBus } from '../replay/hook-bus.js';
import type { RunResult } from '../replay/run-result.js';
import { createScraper, metricsTarget } from '../replay/telemetry/scraper.js';
import type { Telemetry } from '../replay/telemetry/timeline.js';
import type { CliContext } from './context.js';
import { negatable, optional, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { positiveNumber } from './parse-options.js';

/** replay's telemetry options: `--metrics-url`, `--no-scrape`, `--scrape-interval-s`. */
export const TELEMETRY_OPTIONS = {
  metricsUrl: optional('--metrics-url <url>', "engine Prometheus metrics to sample during the run; must be on the endpoint's origin (default: /metrics under the endpoint)"),
  scrape: negatable('--no-scrape', "do not sample the engine's /metrics (default: sample it, and keep the timeline in the result)"),
  scrapeIntervalS: withDefault('--scrape-interval-s <s>', 'seconds between two samples of /metrics', 1, { parse: positiveNumber }),
} satisfies OptionTable;

export type TelemetryCliOptions = OptionsOf<typeof TELEMETRY_OPTIONS>;

/** The sampling a run asked for, checked before anything is sent (null: --no-scrape). */
export interface TelemetryPlan {
  metricsUrl: string | undefined;
  intervalS: number;
}

export function telemetryPlanFrom(o: TelemetryCliOptions): TelemetryPlan | null {
  if (!o.scrape) {
    if (o.metricsUrl !== undefined) throw usageError('--metrics-url', 'conflicts with --no-scrape');
    return null;
  }
  const intervalS = o.scrapeIntervalS;
  if (intervalS < 0.05 || intervalS > 3600) throw usageError('--scrape-interval-s', `must be in [0.05, 3600], got ${intervalS}`);
  return { metricsUrl: o.metricsUrl, intervalS };
}

export interface AttachedTelemetry {
  /** Stop sampling and put the timeline (or why there is none) into the result as `telemetry`. */
  finish(result: RunResult): Promise<void>;
}

/**
 * Wire the scraper into one replay: it starts with the run (the `onStart` hook gives t0 on the
 * run's clock) and stops when the run is over. A URL off the endpoint's origin is exit 2 here,
 * before anything is sent; a scrape that fails is said once on stderr and never fails the run.
 */
export function attachTelemetry(ctx: CliContext, plan: TelemetryPlan | null, endpoint: Endpoint, headers: Record<string, string>, hooks: HookBus): AttachedTelemetry {
  if (plan === null) return { finish: async (r) => void (r.telemetry = { enabled: false, reason: '--no-scrape' } satisfies Telemetry) };
  const { intervalS } = plan;
  const target = metricsTarget(endpoint, plan.metricsUrl);
  let scraper: ReturnType<typeof createScraper> | null = null;
  hooks.subscribe({
    onStart(info) {
      scraper = createScraper({
        target,
        headers,
        intervalMs: intervalS * 1000,
        now: () => info.clock.now(),
        onFirstFailure: (m) => ctx.stderr.write(`orbitflow: engine telemetry: ${redact(m)} (counted, not fatal; the replay goes on)\n`),
      });
      scraper.start(info.t0Ms);
    },
  });
  return {
    async finish(r: RunResult): Promise<void> {
      const s = scraper as ReturnType<typeof createScraper> | null;
      r.telemetry = s === null ? ({ enabled: false, reason: 'the run did not start' } satisfies Telemetry) : await s.stop();
    },
  };
}
