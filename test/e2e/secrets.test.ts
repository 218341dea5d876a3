import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

// A server that echoes the API key back everywhere it can: the served model name, a 401 body, an
// SSE error event, a redirect's Location. The key must appear in no byte orbitflow prints or stores.

const KEY = 'sk-live-4f9a"c\\0ffee-SECRET';
let server: http.Server;
let url: string;
let dir: string;

before(async () => {
  server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const key = auth.replace(/^Bearer /, '');
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: `model-for-${key}`, object: 'model' }] }));
      return;
    }
    if (req.method === 'GET') {
      // /metrics: an error that echoes the key, which must never be printed or stored either.
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`forbidden for ${auth}`);
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { prompt: unknown[] };
      const n = body.prompt.length;
      if (n === 10) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. Header was: Authorization: ${auth}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
      } else if (n === 11) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: 'a' }], usage: { prompt_tokens: 11, completion_tokens: 1 } })}\n\n`);
        res.end(`data: ${JSON.stringify({ error: { message: `key ${key} revoked (${auth})` } })}\n\ndata: [DONE]\n\n`);
      } else if (n === 12) {
        res.writeHead(307, { location: `http://127.0.0.2:9/steal?key=${encodeURIComponent(key)}` });
        res.end();
      } else {
        res.writeHead(500, { 'content-type': 'text/plain' });
        // The key straddles the 240-character excerpt: a cut must not leave half of it.
        res.end(`upstream said ${'x'.repeat(215)} ${key} / ${auth}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'of-secrets-'));
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Every form the key could take in text: raw, JSON-escaped, URL-encoded, and its longest plain run. */
function forms(): string[] {
  return [KEY, JSON.stringify(KEY).slice(1, -1), encodeURIComponent(KEY), 'sk-live-4f9a', 'c0ffee-SECRET', 'ffee-SECRET'];
}

function assertNoKey(where: string, text: string): void {
  for (const f of forms()) assert.ok(!text.includes(f), `${where} contains the key (${f}): ${text.slice(Math.max(0, text.indexOf(f) - 80), text.indexOf(f) + 40)}`);
}

test('an API key echoed by the server is in no output byte: --json stdout, stderr, result.json, requests.jsonl, summary.md, text summary', async () => {
  const trace = join(dir, 'trace.jsonl');
  writeFileSync(trace, [10, 11, 12, 13].map((n, i) => JSON.stringify({ timestamp: i * 10, input_length: n, output_length: 2 })).join('\n') + '\n');
  const out = join(dir, 'out');
  const env = { OF_SECRET_KEY: KEY };
  const [json, text] = await Promise.all([
    runCli(['replay', trace, '--endpoint', url, '--api-key-env', 'OF_SECRET_KEY', '--json', '--out', out, '--max-schedule-lag-ms', '5000'], { env }),
    runCli(['replay', trace, '--endpoint', url, '--api-key-env', 'OF_SECRET_KEY', '--max-schedule-lag-ms', '5000'], { env }),
  ]);
  assert.equal(json.code, 4, json.stderr);
  assert.equal(text.code, 4, text.stderr);
  const res = JSON.parse(json.stdout);
  assert.deepEqual(
    Object.entries(res.error_summary.by_cause).filter(([, n]) => n !== 0),
    [['http_4xx', 1], ['http_5xx', 1], ['http_other', 1], ['server_error', 1]],
  );
  // The failures are still explained, with the secret masked.
  assert.match(res.error_summary.examples[0].detail, /^HTTP 401: .*Incorrect API key provided: \*\*\*/);
  assert.match(res.metadata.model_name, /^model-for-\*\*\*$/);
  assertNoKey('--json stdout', json.stdout);
  assertNoKey('stderr', json.stderr + text.stderr);
  assertNoKey('text summary', text.stdout);
  assert.deepEqual(readdirSync(out).sort(), ['report.html', 'requests.jsonl', 'result.json', 'summary.md']);
  for (const f of readdirSync(out)) assertNoKey(f, readFileSync(join(out, f), 'utf8'));
});

test('with --workers 2 and --save-detailed the key is in no output byte either (each worker thread redacts too)', async () => {
  const trace = join(dir, 'trace-w.jsonl');
  writeFileSync(trace, [10, 11, 12, 13, 13, 10].map((n, i) => JSON.stringify({ timestamp: i * 10, input_length: n, output_length: 2 })).join('\n') + '\n');
  const out = join(dir, 'out-w');
  const r = await runCli(['replay', trace, '--endpoint', url, '--api-key-env', 'OF_SECRET_KEY', '--workers', '2', '--save-detailed', '--json', '--out', out, '--max-schedule-lag-ms', '5000'], { env: { OF_SECRET_KEY: KEY } });
  assert.equal(r.code, 4, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.error_summary.total, 6);
  assert.match(res.errors.join('\n'), /Incorrect API key provided: \*\*\*/);
  assertNoKey('--json stdout', r.stdout);
  assertNoKey('stderr', r.stderr);
  for (const f of readdirSync(out)) assertNoKey(f, readFileSync(join(out, f), 'utf8'));
});

test('--api-key-env given the key instead of a variable name: exit 2, and the value is not echoed', async () => {
  const trace = join(dir, 'one.jsonl');
  writeFileSync(trace, `${JSON.stringify({ timestamp: 0, input_length: 13, output_length: 2 })}\n`);
  const r = await runCli(['replay', trace, '--endpoint', url, '--api-key-env', KEY]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^orbitflow: --api-key-env: expects the NAME of an environment variable/);
  assertNoKey('stderr', r.stderr + r.stdout);
  const unset = await runCli(['replay', trace, '--endpoint', url, '--api-key-env', 'OF_NOT_SET_ANYWHERE']);
  assert.equal(unset.code, 2);
  assert.equal(unset.stderr, 'orbitflow: --api-key-env: environment variable OF_NOT_SET_ANYWHERE is not set\n');
});
