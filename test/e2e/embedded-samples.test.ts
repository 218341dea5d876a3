import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolveModel } from '../../src/core/model-catalogue.js';
import { startEngineServer } from '../../src/engine/server.js';
import { loadProfile } from '../../src/profile/load.js';
import { loadTrace } from '../../src/trace/open.js';
import { EMBEDDED_DEFAULTS, shippedProfile } from '../../src/cli/replay-engine.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

// The embedded default engine must serve the traces shipped with orbitflow.

const SAMPLES: Array<[string, { stepMs?: number }]> = [
  ['sample-azure-conv.csv', {}],
  ['sample-mooncake.jsonl', {}],
  ['sample-lognormal.jsonl', {}],
  ['sample-orbitflow.json', { stepMs: 25 }],
];

test('the embedded default admits every request of every shipped sample, prompt and output together', async () => {
  const engine = await startEngineServer({
    model: resolveModel({ model: EMBEDDED_DEFAULTS.model }),
    profile: loadProfile(shippedProfile(EMBEDDED_DEFAULTS.profile)).profile,
    gpuKvGib: EMBEDDED_DEFAULTS.gpuKvGib,
    maxNumSeqs: EMBEDDED_DEFAULTS.maxNumSeqs,
    policy: 'external',
  });
  try {
    for (const [file, opts] of SAMPLES) {
      const { requests } = await loadTrace(join(REPO_ROOT, 'traces', file), opts);
      assert.ok(requests.length > 0, file);
      // Prompt + output: a preempted request comes back with what it generated so far.
      const refused = requests.filter((r) => !engine.core.canEverAdmit(r.inputTokens + r.outputTokens));
      assert.deepEqual(refused.map((r) => `${r.id}: ${r.inputTokens}+${r.outputTokens}`), [], `${file}: requests the embedded default can never admit`);
    }
  } finally {
    await engine.close();
  }
});

test('replay traces/sample-mooncake.jsonl --limit 3 on the embedded default: all three served, exit 0', async () => {
  const r = await runCli(['replay', 'traces/sample-mooncake.jsonl', '--limit', '3', '--json', '--max-schedule-lag-ms', '5000'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.completed, 3, JSON.stringify(res.error_summary.examples));
  assert.equal(res.failed, 0);
});
