import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getModel } from '../../src/core/model-catalogue.js';
import { loadProfile } from '../../src/profile/load.js';
import { startEngineServer, type EngineServer } from '../../src/engine/server.js';
import { runCli } from '../helpers/cli.js';
import { PROFILES } from '../helpers/paths.js';
import { startControlProxy, startWitness, type ProxyAction } from '../replay/control-proxy.js';

// The controller's live path against a control plane that misbehaves on purpose: a real engine
// behind a real proxy that stalls, redirects, or sits under a path prefix.

const PROFILE = join(PROFILES, 'h100-sxm.datasheet.json');
let engine: EngineServer;
let dir: string;

before(async () => {
  engine = await startEngineServer({ model: getModel('llama-3.1-8b'), profile: loadProfile(PROFILE).profile, gpuKvGib: 0.5, policy: 'external', seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'of-controller-faults-'));
});
after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const TRACE = ['traces/sample-azure-conv.csv', '--limit', '12', '--max-output', '24', '--max-input', '2000', '--speedup', '2', '--max-schedule-lag-ms', '5000'];
const CONTROLLER = ['--profile', PROFILE, '--model', 'llama-3.1-8b'];
const placement = (hang: ProxyAction) => (method: string, path: string): ProxyAction => (method === 'PUT' && path === '/orbitflow/v1/placement' ? hang : 'forward');

test('a control endpoint whose PUT never answers: the call times out, the controller turns off once, the run ends on time (exit 4 with --controller on)', async () => {
  const proxy = await startControlProxy(engine.url, placement('hang'));
  const out = join(dir, 'stalled');
  try {
    const t0 = Date.now();
    // A run longer than the call's 3 s deadline (20 requests over ~9 s).
    const trace = ['traces/sample-azure-conv.csv', '--limit', '20', '--max-output', '24', '--max-input', '2000', '--max-schedule-lag-ms', '5000'];
    const r = await runCli(['replay', ...trace, '--endpoint', proxy.url, '--controller', 'on', ...CONTROLLER, '--out', out, '--json'], { timeoutMs: 90_000 });
    const wallS = (Date.now() - t0) / 1000;
    assert.equal(r.code, 4, r.stderr);
    const off = r.stderr.match(/controller off for the rest of the run: .*\n/g) ?? [];
    assert.deepEqual(off, ['controller off for the rest of the run: control plane stalled: PUT /orbitflow/v1/placement: no answer within 3000 ms\n'], r.stderr);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    assert.equal(res.completed, 20, 'every request was served');
    assert.equal(res.controller.call_timeouts, 1);
    assert.match(res.controller.turned_off.reason, /^control plane stalled: /);
    assert.ok(res.degraded_reasons.some((d: string) => d.startsWith('--controller on, but the controller turned off mid-run')));
    // The trace lasts ~9 s; the stalled call costs its 3 s deadline at most, never the whole run.
    assert.ok(wallS < 40, `the run took ${wallS} s`);
  } finally {
    await proxy.close();
  }
});

test('the first Ctrl-C while a control call hangs ends the run at once, with the results written (exit 130)', async () => {
  const proxy = await startControlProxy(engine.url, placement('hang'));
  const out = join(dir, 'stalled-sigint');
  let signalledAt = 0;
  try {
    const r = await runCli(['replay', ...TRACE, '--endpoint', proxy.url, '--controller', 'on', ...CONTROLLER, '--out', out], {
      timeoutMs: 90_000,
      onSpawn: (_pid, child) => {
        void proxy.hung.then(() => {
          signalledAt = Date.now();
          child.kill('SIGINT');
        });
      },
    });
    const afterSignalMs = Date.now() - signalledAt;
    assert.ok(signalledAt > 0, 'the PUT reached the proxy');
    assert.equal(r.code, 130, r.stderr);
    // Well inside the call's own 3 s deadline: the signal aborted it.
    assert.ok(afterSignalMs < 2500, `exit ${afterSignalMs} ms after the signal`);
    assert.equal(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).interrupted, true);
    assert.ok(existsSync(join(out, 'requests.jsonl')));
  } finally {
    await proxy.close();
  }
});

test('no request follows a redirect: control calls and completions redirected to 127.0.0.2 reach nothing there', async () => {
  const witness = await startWitness();
  const proxy = await startControlProxy(engine.url, (method, path) => (path.startsWith('/orbitflow/') || path === '/v1/completions' ? { redirect: witness.url } : 'forward'));
  try {
    const r = await runCli(['replay', ...TRACE, '--endpoint', proxy.url, '--controller', 'auto', ...CONTROLLER, '--json', '--max-error-rate', '1'], { timeoutMs: 60_000 });
    assert.deepEqual(witness.hits, [], 'nothing reached the other origin');
    assert.equal(r.code, 0, r.stderr);
    // The probe saw a redirect, so the endpoint does not speak the protocol (as far as orbitflow will go).
    assert.match(r.stderr, /controller off: .* does not speak the OrbitFlow control protocol/);
    const res = JSON.parse(r.stdout);
    assert.equal(res.error_summary.by_cause.http_other, 12);
    assert.match(res.error_summary.examples[0].detail, /^HTTP 307 redirect to http:\/\/127\.0\.0\.2:\d+\/v1\/completions not followed: orbitflow sends requests only to the endpoint given$/);
    assert.ok(proxy.seen.every((s) => s.method !== 'PUT'), 'no plan was sent anywhere');
    // Redirected from the first call on: exit 2 before anything is sent, naming where it pointed.
    const everything = await startControlProxy(engine.url, () => ({ redirect: witness.url }));
    try {
      const all = await runCli(['replay', ...TRACE, '--endpoint', everything.url], { timeoutMs: 30_000 });
      assert.equal(all.code, 2, all.stderr);
      assert.match(all.stderr, /^orbitflow: endpoint http:\/\/127\.0\.0\.1:\d+: GET \/v1\/models: HTTP 307 redirect to http:\/\/127\.0\.0\.2:\d+\/v1\/models not followed: orbitflow sends requests only to the endpoint given$/m);
      assert.deepEqual(everything.seen.map((x) => x.path), ['/v1/models']);
    } finally {
      await everything.close();
    }
    assert.deepEqual(witness.hits, [], 'nothing reached the other origin');
  } finally {
    await proxy.close();
    await witness.close();
  }
});

test('a control plane that starts redirecting mid-run is turned off, never followed', async () => {
  const witness = await startWitness();
  let redirecting = false;
  const proxy = await startControlProxy(engine.url, (method, path) => {
    if (method === 'PUT' && path === '/orbitflow/v1/placement') redirecting = true;
    return redirecting && path.startsWith('/orbitflow/') && !path.endsWith('/events') ? { redirect: witness.url } : 'forward';
  });
  try {
    const r = await runCli(['replay', ...TRACE, '--endpoint', proxy.url, '--controller', 'auto', ...CONTROLLER, '--json'], { timeoutMs: 60_000 });
    assert.deepEqual(witness.hits, []);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /controller off for the rest of the run: control plane redirects: (PUT \/orbitflow\/v1\/placement|GET \/orbitflow\/v1\/state): HTTP 307 redirect to http:\/\/127\.0\.0\.2:\d+\/orbitflow\/v1\/\w+ not followed/);
    assert.equal(JSON.parse(r.stdout).completed, 12);
  } finally {
    await proxy.close();
    await witness.close();
  }
});

test('control calls keep the endpoint path prefix and carry the API key, like the OpenAI calls', async () => {
  const proxy = await startControlProxy(engine.url, () => 'forward', '/gw');
  try {
    const r = await runCli(['replay', ...TRACE, '--endpoint', `${proxy.url}/gw/v1`, '--controller', 'on', ...CONTROLLER, '--api-key-env', 'OF_GW_KEY', '--json'], {
      timeoutMs: 60_000,
      env: { OF_GW_KEY: 'sk-gateway-key-77' },
    });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.completed, 12);
    assert.ok(res.controller.plans_applied > 0, 'the controller acted through the gateway');
    const control = proxy.seen.filter((s) => s.path.includes('/orbitflow/'));
    assert.ok(control.some((s) => s.method === 'PUT'));
    for (const s of proxy.seen) {
      assert.ok(s.path.startsWith('/gw/'), `${s.method} ${s.path} lost the prefix`);
      assert.equal(s.authorization, 'Bearer sk-gateway-key-77', `${s.method} ${s.path} without the key`);
    }
  } finally {
    await proxy.close();
  }
});
