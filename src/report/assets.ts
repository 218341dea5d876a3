import { readFileSync } from 'node:fs';
import { createRequire as requireFrom } from 'node:module';
import { OrbitflowError } from '../core/errors.js';

/**
 * The charting library inlined into every report: uPlot (MIT), read from its npm package at run
 * time, so a report carries the exact library version installed and needs nothing else.
 */
export interface ChartAssets {
  script: string;
  css: string;
  version: string;
}

let cached: ChartAssets | null = null;

export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const resolver = requireFrom(import.meta.url);
  try {
    const script = readFileSync(resolver.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(resolver.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    const version = (JSON.parse(readFileSync(resolver.resolve('uplot/package.json'), 'utf8')) as { version: string }).version;
    cached = { script, css, version };
    return cached;
  } catch (e) {
    throw new OrbitflowError('OF_REPORT_ASSETS', `--report: the charting library uPlot was not found next to orbitflow (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); reinstall with npm ci`, {
      cause: e,
    });
  }
}
