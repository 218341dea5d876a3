/**
 * Exact datetime parsing for trace timestamps. `Date` keeps only milliseconds, so the fraction is
 * parsed from its digits: the Azure 2023 trace has 7 fractional digits (100 ns), 2024 has 6 (µs).
 */

/** A point in time as whole UTC seconds since the epoch plus nanoseconds in [0, 1e9). */
export interface ExactTime {
  wholeS: number;
  fracNs: number;
}

// YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

// Traces hold millions of timestamps from a handful of days: remember the last day's epoch.
let lastDay = '';
let lastDayMs = NaN;

function dayMs(year: number, month: number, day: number, key: string): number | undefined {
  if (key === lastDay) return lastDayMs;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 2023-02-30 over into March; reject dates that do not round-trip.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  lastDay = key;
  lastDayMs = ms;
  return ms;
}

/** Parses a datetime string; naive times (no zone) are read as UTC. Undefined when malformed or out of range. */
export function parseDateTime(text: string): ExactTime | undefined {
  const m = DATETIME.exec(text) ?? DATETIME.exec(text.trim());
  if (!m) return undefined;
  const day = dayMs(Number(m[1]), Number(m[2]), Number(m[3]), `${m[1]}-${m[2]}-${m[3]}`);
  if (day === undefined) return undefined;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetS = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '');
    const zh = Number(digits.slice(1, 3));
    const zm = Number(digits.slice(3, 5));
    if (zh > 23 || zm > 59) return undefined;
    offsetS = (zone[0] === '-' ? -1 : 1) * (zh * 3600 + zm * 60);
  }
  const fracNs = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  return { wholeS: day / 1000 + hour * 3600 + minute * 60 + second - offsetS, fracNs };
}

/** Seconds from `origin` to `t`, computed from the integer parts so no sub-µs precision is lost. */
export function secondsBetween(origin: ExactTime, t: ExactTime): number {
  return t.wholeS - origin.wholeS + (t.fracNs - origin.fracNs) / 1e9;
}

/**
 * Formats `originMs + offsetS` the way the Azure 2023 trace writes it: `YYYY-MM-DD HH:MM:SS.fffffff`
 * (7 fractional digits, no zone). The offset is rounded to 100 ns ticks.
 */
export function formatAzure2023Timestamp(originMs: number, offsetS: number): string {
  const ticks = Math.round(offsetS * 1e7);
  const wholeMs = originMs + Math.floor(ticks / 1e7) * 1000;
  const fracTicks = ticks % 1e7;
  const d = new Date(wholeMs);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${String(fracTicks).padStart(7, '0')}`
  );
}
