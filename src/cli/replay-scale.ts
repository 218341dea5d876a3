import { usageError } from '../core/errors.js';
import { parseShard, type ShareSpec } from '../replay/shard.js';
import type { CliContext } from './context.js';
import { optional, withDefault, type OptionsOf, type OptionTable } from './option-table.js';
import { positiveInt } from './parse-options.js';

/** The most worker threads `--workers` takes (each holds a connection pool and a timer thread). */
export const MAX_WORKERS = 64;

/** `replay --workers N`, `--shard i/N --start-at MS`: how a replay spreads past one core and one machine. */
export interface ScalePlan {
  workers: number;
  shard: ShareSpec | null;
  /** Unix ms. */
  startAtMs: number | null;
}

export const SCALE_OPTIONS = {
  workers: withDefault('--workers <n>', `worker threads sending the requests, each with its own connection pool and every N-th request, all on one schedule (1..${MAX_WORKERS})`, 1, { parse: positiveInt }),
  shard: optional('--shard <i/N>', 'replay only share i (0-based) of N of the trace (every N-th request in arrival order), for one of N machines; needs --start-at; merge the --out directories with orbitflow merge'),
  startAt: optional('--start-at <unix-ms>', 'start the schedule at this instant (Unix time in ms, e.g. $(( $(date +%s) * 1000 + 30000 ))), the same for every shard; refused when already past'),
} satisfies OptionTable;

/** What the scale plan is checked against: its own options and the few of replay's it must agree with. */
export type ScaleCliOptions = OptionsOf<typeof SCALE_OPTIONS> & { readonly endpoint: string | undefined; readonly maxConcurrency: number | undefined; readonly controller: string };

export function scalePlanFrom(opts: ScaleCliOptions, ctx: CliContext, nowUnixMs: number): ScalePlan {
  const workers = opts.workers;
  if (workers > MAX_WORKERS) throw usageError('--workers', `at most ${MAX_WORKERS}, got ${workers}`);
  const shard = opts.shard !== undefined ? parseShard(opts.shard) : null;
  let startAtMs: number | null = null;
  if (opts.startAt !== undefined) {
    const t = Number(opts.startAt);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(opts.startAt) || !Number.isFinite(t)) throw usageError('--start-at', `expected Unix time in ms (e.g. 1767268800000), got '${opts.startAt}'`);
    if (t < 1e11) throw usageError('--start-at', `${opts.startAt} looks like seconds: give Unix time in ms`);
    if (t <= nowUnixMs) throw usageError('--start-at', `${new Date(t).toISOString()} is ${((nowUnixMs - t) / 1000).toFixed(3)} s in the past: give an instant every shard can still make`);
    startAtMs = t;
  }
  if (shard !== null && startAtMs === null) throw usageError('--shard', 'needs --start-at MS: the shards must share one start instant to be merged as one run');
  if (shard !== null && opts.endpoint === undefined) throw usageError('--shard', 'needs --endpoint: every shard sends to the same server (the embedded engine is per process)');
  const cap = opts.maxConcurrency;
  const parts = workers * (shard?.count ?? 1);
  if (cap !== undefined && cap < parts) throw usageError('--max-concurrency', `${cap} cannot be shared by ${parts} ${shard !== null ? 'shards × workers' : 'workers'} (each holds its part of the cap): give at least ${parts}`);
  if ((shard !== null || workers > 1) && opts.controller === 'on') throw usageError('--controller', `on needs one client: leave it out with ${shard !== null ? '--shard' : '--workers'}`);
  if (startAtMs !== null) {
    const who = shard === null ? 'this run' : `shard ${shard.index}/${shard.count}`;
    ctx.stderr.write(
      `orbitflow: ${who} starts at ${new Date(startAtMs).toISOString()} (in ${((startAtMs - nowUnixMs) / 1000).toFixed(1)} s) by this machine's clock; shards on other machines start as far apart as their clocks are (NTP typically keeps them within a few ms: check with 'chronyc tracking'), and orbitflow merge reports how far apart they began\n`,
    );
  }
  return { workers, shard, startAtMs };
}
