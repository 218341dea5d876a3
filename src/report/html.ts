import { redact } from '../core/redact.js';
import { chartAssets } from './assets.js';
import { CLIENT_SCRIPT } from './client-script.js';
import type { Report } from './model.js';

/**
 * One self-contained HTML file for any report: uPlot, its CSS, the report JSON and the drawing
 * script all inline. The Content-Security-Policy forbids every fetch (default-src 'none'), so the
 * page cannot make a network request even by mistake, and opens from disk.
 */

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 980px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 8px; }
h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h4 { margin: 12px 0 4px; }
dl.header { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.header dt { color: #555; }
dl.header dd { margin: 0; font-family: ui-monospace, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
figure.chart { margin: 16px 0 24px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }
p.note, p.intro { color: #555; font-size: 13px; margin: 4px 0; }
p.empty { color: #a00; }
ul.legend { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
ul.legend .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; vertical-align: -1px; }
div.axis-label { font-size: 12px; color: #555; margin-bottom: 2px; }
div.table table { border-collapse: collapse; font-size: 12.5px; }
div.table th, div.table td { border: 1px solid #e2e2e2; padding: 2px 8px; text-align: right; white-space: nowrap; }
div.table th:first-child, div.table td:first-child { text-align: left; }
div.table { overflow-x: auto; }
pre.text { font-size: 12px; background: #f7f7f7; padding: 8px; overflow-x: auto; }
`;

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/** JSON inside <script>: no `</script>` or `<!--` can close or change it; redacted like every output. */
function scriptJson(value: unknown): string {
  return redact(JSON.stringify(value)).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A script's text must not contain `</script` (the library and our script do not; checked anyway). */
function inlineScript(code: string): string {
  if (/<\/script/i.test(code)) throw new Error('report: an inline script contains </script');
  return code;
}

export function renderReportHtml(report: Report): string {
  const assets = chartAssets();
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="orbitflow; uPlot ${escapeHtml(assets.version)}">`,
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>${assets.css}\n${STYLE}</style>`,
    '</head><body>',
    '<main id="report"></main>',
    '<noscript>This report draws its charts with JavaScript; the data is in the orbitflow-report script element.</noscript>',
    `<script id="orbitflow-report" type="application/json">${scriptJson(report)}</script>`,
    `<script>${inlineScript(assets.script)}</script>`,
    `<script>${inlineScript(CLIENT_SCRIPT)}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
