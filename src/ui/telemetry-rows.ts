import type { Telemetry } from '../replay/telemetry/timeline.js';

/** The run summary's "Engine telemetry" rows: peak KV use, preemptions during the run, whether the engine ever queued. */
export function telemetryRows(t: Telemetry | undefined | null): Array<[string, string]> | null {
  if (t === undefined || t === null) return null;
  if (!t.enabled) return [['Scraped', `no (${t.reason})`]];
  const s = t.summary;
  const n = (x: number | null | undefined, d = 0): string => (typeof x === 'number' ? x.toFixed(d) : 'n/a');
  const rows: Array<[string, string]> = [
    ['Source', `${t.url} (${t.engine ?? 'unknown engine'}, every ${t.interval_s} s)`],
    ['Samples', `${t.samples} of ${t.scrapes} scrapes${t.failed_scrapes > 0 ? `; ${t.failed_scrapes} failed (first: ${t.first_error})` : ''}`],
  ];
  if (t.samples === 0) return rows;
  rows.push(
    ['Peak running requests', n(s.peak_running)],
    ['Engine queue', s.ever_queued === null ? 'n/a' : s.ever_queued ? `yes (peak ${n(s.peak_waiting)} waiting)` : 'never'],
    ['Peak KV-cache usage', s.peak_kv_usage === null ? 'n/a' : `${(100 * s.peak_kv_usage).toFixed(1)} %`],
    ['Preemptions during the run', n(s.preemptions)],
  );
  if (s.prefix_cache_hits !== null) rows.push(['Prefix-cache hits', `${n(s.prefix_cache_hits)}${s.prefix_cache_queries ? ` of ${n(s.prefix_cache_queries)} queried` : ''}`]);
  if (s.kv_offload_bytes !== null) {
    const gib = (b: number | null): string => (b === null ? 'n/a' : `${(b / 2 ** 30).toFixed(2)} GiB`);
    rows.push(['KV offload to GPU / to host', `${gib(s.kv_offload_bytes.to_gpu)} / ${gib(s.kv_offload_bytes.to_host)}`]);
  }
  return rows;
}
