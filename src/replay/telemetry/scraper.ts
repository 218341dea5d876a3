import type { Endpoint } from '../../core/endpoint.js';
import { usageError } from '../../core/errors.js';
import { httpCall, type HttpCallError } from '../../core/http-call.js';
import { readSignals, recognised, type EngineKind } from './metric-names.js';
import { parsePromText } from './prom-text.js';
import { summarise, toPoint, type TelemetryPoint, type TelemetryReport } from './timeline.js';

/** Where the engine's Prometheus text is read: always on the endpoint's own origin. */
export interface ScrapeTarget {
  endpoint: Endpoint;
  /** Path (and query) sent, after the endpoint's prefix. */
  path: string;
  display: string;
}

/**
 * `--metrics-url URL`, or by default `/metrics` under the endpoint's base. A URL on another
 * origin (scheme, host or port) is refused (exit 2): nothing is ever sent to a host the user did
 * not name as the endpoint.
 */
export function metricsTarget(ep: Endpoint, metricsUrl?: string): ScrapeTarget {
  if (metricsUrl === undefined) return { endpoint: ep, path: '/metrics', display: `${ep.display}/metrics` };
  let u: URL;
  try {
    u = new URL(metricsUrl);
  } catch {
    throw usageError('--metrics-url', `not a URL: '${metricsUrl}'`);
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (u.protocol !== ep.protocol || hostname !== ep.hostname || port !== ep.port) {
    throw usageError('--metrics-url', `${u.protocol}//${u.host} is not the endpoint's origin (${ep.protocol}//${ep.hostname}:${ep.port}): orbitflow scrapes only the endpoint it replays against`);
  }
  if (u.username !== '' || u.password !== '') throw usageError('--metrics-url', 'must not carry credentials (the endpoint\'s API key, --api-key-env, is sent)');
  const path = `${u.pathname}${u.search}`;
  return { endpoint: { ...ep, pathPrefix: '' }, path, display: `${u.protocol}//${u.host}${u.pathname}` };
}

export interface ScraperOptions {
  target: ScrapeTarget;
  /** The endpoint's headers (its API key): the same origin, so the same credentials. */
  headers: Record<string, string>;
  intervalMs: number;
  /** Per-scrape deadline; default min(interval, 5 s), at least 500 ms. */
  timeoutMs?: number;
  /** The replay's clock, ms. */
  now: () => number;
  /** Called once, with the first failure; later failures are only counted. */
  onFirstFailure?: (message: string) => void;
}

export interface Scraper {
  /** Begin sampling at `t0Ms` (the replay's start on `now`), then every interval. */
  start(t0Ms: number): void;
  /** Stop, take one last sample (so counters cover the run) and return the timeline. */
  stop(): Promise<TelemetryReport>;
}

const MAX_METRICS_BYTES = 16 * 1024 * 1024;

/**
 * Samples the engine's `/metrics` while a replay runs. Scrapes never overlap, each has a deadline,
 * and a failing one (no answer, a 404, a redirect, text that is not Prometheus exposition, or
 * exposition with no engine metric orbitflow knows) is counted and reported once: telemetry never
 * stops or slows the replay.
 */
export function createScraper(o: ScraperOptions): Scraper {
  const timeoutMs = o.timeoutMs ?? Math.max(500, Math.min(o.intervalMs, 5000));
  const points: TelemetryPoint[] = [];
  let t0 = 0;
  let scrapes = 0;
  let failed = 0;
  let firstError: string | null = null;
  let engine: EngineKind | null = null;
  let capTokens: number | null = null;
  let capBlocks: number | null = null;
  let stopped = false;
  let lastOk = false;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let loop: Promise<void> = Promise.resolve();

  const fail = (why: string): void => {
    failed++;
    lastOk = false;
    if (firstError !== null) return;
    firstError = `GET ${o.target.display}: ${why}`;
    o.onFirstFailure?.(firstError);
  };

  const scrapeOnce = async (): Promise<void> => {
    scrapes++;
    const sent = o.now();
    let answer;
    try {
      answer = await httpCall(o.target.endpoint, {
        method: 'GET',
        path: o.target.path,
        headers: { ...o.headers, accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
        timeoutMs,
        maxBodyBytes: MAX_METRICS_BYTES,
      });
    } catch (e) {
      const err = e as HttpCallError;
      fail(err.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : err.message.replace(/^GET \S+: /, ''));
      return;
    }
    if (answer.status !== 200) {
      fail(`HTTP ${answer.status}`);
      return;
    }
    const text = parsePromText(answer.body.toString('utf8'));
    const reading = readSignals(text);
    if (!recognised(reading)) {
      fail(text.samples.length === 0 ? `not Prometheus text (${text.badLines} unreadable lines)` : `no engine metric orbitflow knows among ${text.samples.length} samples`);
      return;
    }
    engine ??= reading.engine;
    capTokens = reading.kvCapacityTokens ?? capTokens;
    capBlocks = reading.kvCapacityLayerBlocks ?? capBlocks;
    const mid = (sent + o.now()) / 2;
    points.push(toPoint((mid - t0) / 1000, reading));
    lastOk = true;
  };

  const sleepUntil = (t: number): Promise<void> =>
    new Promise((resolve) => {
      const left = t - o.now();
      if (left <= 0 || stopped) {
        resolve();
        return;
      }
      wake = resolve;
      timer = setTimeout(() => {
        wake = null;
        resolve();
      }, left);
      timer.unref();
    });

  const run = async (): Promise<void> => {
    let k = 0;
    while (!stopped) {
      await sleepUntil(t0 + k * o.intervalMs);
      if (stopped) return;
      await scrapeOnce();
      // A scrape longer than the interval skips the slots it overran, never bunches up.
      k = Math.max(k + 1, Math.floor((o.now() - t0) / o.intervalMs) + 1);
    }
  };

  return {
    start(t0Ms: number): void {
      t0 = t0Ms;
      loop = run();
    },
    async stop(): Promise<TelemetryReport> {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      const w = wake as (() => void) | null;
      wake = null;
      w?.();
      await loop;
      // The closing sample, so counters cover the whole run; skipped when the endpoint is failing,
      // so a broken /metrics never holds up the run's end by another deadline.
      if (lastOk) await scrapeOnce();
      return {
        enabled: true,
        url: o.target.display,
        interval_s: o.intervalMs / 1000,
        engine,
        scrapes,
        samples: points.length,
        failed_scrapes: failed,
        first_error: firstError,
        summary: summarise(points, { tokens: capTokens, layerBlocks: capBlocks }),
        timeline: points,
      };
    },
  };
}
