/**
 * A small parser of the Prometheus text exposition format (version 0.0.4, and the OpenMetrics
 * text that vLLM, SGLang and TGI may serve): `name{label="value",…} value [timestamp]` lines,
 * `#` comments (HELP, TYPE, EOF) and blank lines. Tolerant by design: a line that is not a sample
 * is counted in `badLines` and skipped, never thrown, so a garbled answer can be told apart from
 * a good one without stopping a replay. No npm parser was used: the one on the registry
 * (parse-prometheus-text-format) is a single unmaintained release without types.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromText {
  samples: PromSample[];
  /** `# TYPE` declarations by family name. */
  types: Map<string, string>;
  /** Non-blank, non-comment lines that are not a valid sample. */
  badLines: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** A sample value: a float, or NaN / +Inf / -Inf as Prometheus writes them. */
function parseValue(s: string): number | null {
  if (s === 'NaN') return Number.NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(s)) return null;
  return Number(s);
}

/** The `{…}` label set starting at `i` (which is `{`); returns the labels and the index after `}`, or null. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } | null {
  const labels: Record<string, string> = {};
  let k = i + 1;
  for (;;) {
    while (line[k] === ' ' || line[k] === '\t') k++;
    if (line[k] === '}') return { labels, end: k + 1 };
    const m = LABEL_NAME.exec(line.slice(k));
    if (!m) return null;
    const key = m[0];
    k += key.length;
    while (line[k] === ' ') k++;
    if (line[k] !== '=') return null;
    k++;
    while (line[k] === ' ') k++;
    if (line[k] !== '"') return null;
    k++;
    let value = '';
    for (;;) {
      const c = line[k];
      if (c === undefined) return null;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[k + 1];
        value += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
        k += 2;
        continue;
      }
      value += c;
      k++;
    }
    k++;
    labels[key] = value;
    while (line[k] === ' ') k++;
    if (line[k] === ',') {
      k++;
      continue;
    }
    if (line[k] === '}') return { labels, end: k + 1 };
    return null;
  }
}

/** One sample line, or null when it is not one. */
export function parseSampleLine(line: string): PromSample | null {
  const m = NAME.exec(line);
  if (!m) return null;
  const name = m[0];
  let i = name.length;
  let labels: Record<string, string> = {};
  if (line[i] === '{') {
    const l = parseLabels(line, i);
    if (!l) return null;
    labels = l.labels;
    i = l.end;
  }
  // The value, then an optional timestamp; OpenMetrics exemplars follow a ` # `.
  let rest = line.slice(i);
  const ex = rest.indexOf(' # ');
  if (ex >= 0) rest = rest.slice(0, ex);
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '' || !/^\s/.test(line.slice(i, i + 1))) return null;
  const value = parseValue(parts[0]);
  if (value === null) return null;
  if (parts.length === 2 && parseValue(parts[1]) === null) return null;
  return { name, labels, value };
}

export function parsePromText(text: string): PromText {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  let badLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const t = line.trim();
    if (t === '') continue;
    if (t.startsWith('#')) {
      const m = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\S+)/.exec(t);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const s = parseSampleLine(t);
    if (s) samples.push(s);
    else badLines++;
  }
  return { samples, types, badLines };
}
