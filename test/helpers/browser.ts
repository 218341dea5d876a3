import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's chromium (.ci/run installs it); CHROMIUM may name another binary. */
export function findChromium(): string | null {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p;
  return null;
}

export const NO_CHROMIUM = 'no Chromium found (/usr/bin/chromium or $CHROMIUM): install it with `apt-get install -y chromium` (.ci/run does) to run the browser tests';

export interface RenderedChart {
  id: string;
  kind: string;
  expected: number;
  drawn: number;
  /** Canvas pixels painted (not transparent), over every canvas of the chart. */
  paintedPixels: number;
  /** SVG bars drawn. */
  bars: number;
}

export interface PageVisit {
  title: string;
  charts: RenderedChart[];
  consoleErrors: string[];
  /** Every request the page made other than loading the report file itself. */
  requests: string[];
  headings: string[];
}

/** What each chart drew: the report's own summary, plus painted canvas pixels and SVG bars counted here. */
const READ_CHARTS = `window.__orbitflowCharts.map((c) => {
  const box = document.querySelector('[data-chart="' + c.id + '"]');
  let painted = 0;
  for (const canvas of Array.from(box ? box.querySelectorAll('canvas') : [])) {
    const ctx = canvas.getContext('2d');
    if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
  }
  const bars = box ? box.querySelectorAll('rect[data-series]').length : 0;
  return { id: c.id, kind: c.kind, expected: c.expected, drawn: c.drawn, paintedPixels: painted, bars };
})`;

/**
 * Opens an HTML report from disk in headless Chromium with a fresh, empty profile, records every
 * console error and every request, waits for the report to say it is drawn, and reads what it drew.
 */
export async function visitReport(file: string, chromium: string): Promise<PageVisit> {
  const { chromium: pw } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'orbitflow-chromium-'));
  const context = await pw.launchPersistentContext(profile, {
    executablePath: chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 900 },
  });
  const url = pathToFileURL(file).href;
  const consoleErrors: string[] = [];
  const requests = new Set<string>();
  try {
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      requests.add(u);
      return route.abort();
    });
    context.on('request', (r) => {
      if (r.url() !== url) requests.add(r.url());
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(url, { waitUntil: 'load' });
    // Evaluated as strings: the page's DOM types are not in this Node project's compilation.
    await page.waitForFunction('window.__orbitflowReady === true', undefined, { timeout: 20_000 });
    const charts = (await page.evaluate(READ_CHARTS)) as RenderedChart[];
    const headings = (await page.evaluate("Array.from(document.querySelectorAll('h2')).map((h) => h.textContent || '')")) as string[];
    return { title: await page.title(), charts, consoleErrors, requests: [...requests], headings };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
