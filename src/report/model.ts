/**
 * A report as data: a header and a typed list of sections, each holding charts and tables. The
 * builders (one per command) make it from the same objects the terminal and JSON renderers use;
 * one renderer (html.ts) turns any report into a self-contained HTML file. Numbers in a report are
 * already downsampled where the builder says so (timelines), never the percentiles in its tables.
 */
export const REPORT_SCHEMA = 'orbitflow.report/v1';

export type ReportKind = 'replay' | 'plan-trace' | 'plan-batch';

/** One line of an x/y chart: its own x values (the renderer aligns series that differ). */
export interface XySeries {
  label: string;
  x: number[];
  y: Array<number | null>;
}

/** A vertical (x) or horizontal (y) reference line, e.g. an SLO. */
export interface RuleLine {
  axis: 'x' | 'y';
  value: number;
  label: string;
}

/**
 * Line or step series over a shared numeric x axis (time, or a latency for a CDF).
 * `cdf`: y is a cumulative fraction in [0, 1], drawn as steps.
 */
export interface XyChart {
  kind: 'line' | 'step' | 'cdf';
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: XySeries[];
  rules?: RuleLine[];
  /** Drawn as points only (sparse events), not joined. */
  points?: boolean;
  note?: string;
}

/** Grouped bars (one group per category, one bar per series) or stacked bars. */
export interface BarChart {
  kind: 'bar';
  id: string;
  title: string;
  yLabel: string;
  categories: string[];
  series: Array<{ label: string; values: Array<number | null> }>;
  stacked?: boolean;
  /** Values are fractions in [0, 1], shown as percentages. */
  fraction?: boolean;
  note?: string;
}

/** A grid of coded cells (row-major), e.g. requests × layers coloured by where the KV lives. */
export interface HeatMap {
  kind: 'heatmap';
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  rows: string[];
  columns: number;
  /** rows.length × columns codes, each an index into `legend`. */
  cells: number[];
  legend: Array<{ label: string; color: string }>;
  note?: string;
}

export interface Table {
  kind: 'table';
  title: string;
  head: string[];
  rows: string[][];
}

/** Preformatted text, e.g. the terminal summary as printed. */
export interface TextBlock {
  kind: 'text';
  title: string;
  text: string;
}

export type ChartSpec = XyChart | BarChart | HeatMap;
export type ReportItem = ChartSpec | Table | TextBlock;

export interface ReportSection {
  heading: string;
  intro?: string;
  items: ReportItem[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  kind: ReportKind;
  title: string;
  /** Label/value lines shown first: the run's inputs and provenance. */
  header: Array<[string, string]>;
  sections: ReportSection[];
}

export function isChart(item: ReportItem): item is ChartSpec {
  return item.kind !== 'table' && item.kind !== 'text';
}

/** Every chart of a report, in order (the browser test and the renderer walk the same list). */
export function chartsOf(report: Report): ChartSpec[] {
  return report.sections.flatMap((s) => s.items.filter(isChart));
}

/** Label/value rows as a two-column table (the summaries the terminal prints). */
export function rowsTable(title: string, rows: ReadonlyArray<readonly [string, string]>): Table {
  return { kind: 'table', title, head: ['', ''], rows: rows.map(([a, b]) => [a, b]) };
}
