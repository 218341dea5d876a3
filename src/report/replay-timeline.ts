import { hasContinuousUsage, outputTokens, type RequestRecord } from '../replay/request-record.js';
import { bucketStarts, bucketWidthS, round } from './downsample.js';

/**
 * A replay's records as per-bucket series (seconds from the run's start): what was due, sent and
 * finished, output tokens per second, requests in flight, and the client's own schedule lag.
 * Bucket width: 1 s, wider only past MAX_POINTS seconds.
 */
export interface ReplayTimeline {
  widthS: number;
  /** Bucket start times, s. */
  t: number[];
  /** Cumulative requests due (the trace's schedule), sent, and finished (ok or failed) by each bucket's end. */
  due: number[];
  sent: number[];
  finished: number[];
  failed: number[];
  /** Output tokens per second in the bucket (each chunk's tokens at its arrival). */
  outputTokS: number[];
  /** Most requests in flight (sent, not done) at any moment of the bucket. */
  inFlightMax: number[];
  /** Schedule lag (released − due) of the requests due in the bucket: the largest and the mean; null where none was due. */
  lagMaxMs: Array<number | null>;
  lagMeanMs: Array<number | null>;
}

function spanMs(records: readonly RequestRecord[]): number {
  let end = 0;
  for (const r of records) {
    for (const t of [r.dueMs, r.releasedMs, r.sentMs, r.doneMs]) if (Number.isFinite(t) && t > end) end = t;
  }
  return end;
}

export function replayTimeline(records: readonly RequestRecord[], spanS = spanMs(records) / 1000): ReplayTimeline {
  const widthS = bucketWidthS(spanS);
  const t = bucketStarts(spanS, widthS);
  const n = t.length;
  const at = (ms: number): number => Math.min(n - 1, Math.max(0, Math.floor(ms / 1000 / widthS)));
  const dueN = new Float64Array(n);
  const sentN = new Float64Array(n);
  const finN = new Float64Array(n);
  const failN = new Float64Array(n);
  const tokens = new Float64Array(n);
  const lagMax = new Float64Array(n).fill(Number.NaN);
  const lagSum = new Float64Array(n);
  const lagN = new Float64Array(n);
  const events: Array<[number, number]> = [];
  for (const r of records) {
    if (Number.isFinite(r.dueMs)) dueN[at(r.dueMs)]++;
    if (Number.isFinite(r.releasedMs) && Number.isFinite(r.dueMs)) {
      const b = at(r.dueMs);
      const lag = r.releasedMs - r.dueMs;
      lagMax[b] = Number.isNaN(lagMax[b]) ? lag : Math.max(lagMax[b], lag);
      lagSum[b] += lag;
      lagN[b]++;
    }
    if (!Number.isFinite(r.sentMs)) continue;
    sentN[at(r.sentMs)]++;
    if (Number.isFinite(r.doneMs)) {
      finN[at(r.doneMs)]++;
      if (r.status === 'failed') failN[at(r.doneMs)]++;
      events.push([r.sentMs, 1], [r.doneMs, -1]);
    } else events.push([r.sentMs, 1]);
    const c = r.chunkMs;
    if (c.length === 0) continue;
    const exact = hasContinuousUsage(r);
    const perChunk = exact ? 0 : outputTokens(r) / c.length;
    for (let k = 0; k < c.length; k++) tokens[at(r.sentMs + c[k])] += exact ? r.chunkTokens[k] : perChunk;
  }
  // In flight: a sweep over sends and ends; an end sorts before a send at the same time.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const inFlight = new Float64Array(n);
  let cur = 0;
  let b = 0;
  for (const [time, delta] of events) {
    const k = at(time);
    while (b < k) {
      b++;
      inFlight[b] = Math.max(inFlight[b], cur);
    }
    cur += delta;
    inFlight[k] = Math.max(inFlight[k], cur);
  }
  for (b++; b < n; b++) inFlight[b] = Math.max(inFlight[b], cur);
  const cumulative = (xs: Float64Array): number[] => {
    let s = 0;
    return Array.from(xs, (x) => (s += x));
  };
  return {
    widthS,
    t,
    due: cumulative(dueN),
    sent: cumulative(sentN),
    finished: cumulative(finN),
    failed: cumulative(failN),
    outputTokS: Array.from(tokens, (x) => round(x / widthS)),
    inFlightMax: Array.from(inFlight),
    lagMaxMs: Array.from(lagMax, (x) => (Number.isNaN(x) ? null : round(x))),
    lagMeanMs: Array.from(lagSum, (s, i) => (lagN[i] > 0 ? round(s / lagN[i]) : null)),
  };
}
