import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orbitflow-from-run-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const RESULT = { schema: 'orbitflow.run/v1', duration: 10, completed: 0, failed: 0, metadata: { endpoint: 'http://127.0.0.1:8000', trace: { file: 't.csv', sha256: 'ab', format: 'azure', requests: 2 } } };

/** A run directory with the given result and requests.jsonl lines. */
function runDir(name: string, lines: object[], result: object = RESULT): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'result.json'), JSON.stringify(result));
  writeFileSync(join(d, 'requests.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return d;
}

const req = (index: number, status: string, chunks: number[] | undefined): object => ({
  id: `r${index}`, index, arrival_s: index, input_tokens: 100, expected_output_tokens: 10, status, sent_ms: index * 1000, prompt_tokens: 100, output_tokens: chunks?.length ?? 0,
  ...(chunks === undefined ? {} : { chunk_ms: chunks }),
});

async function refused(args: string[], re: RegExp): Promise<void> {
  const r = await runCli(['profile', ...args, '--model', 'llama-3.1-8b']);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], re);
  assert.equal(r.stdout, '');
}

test('profile --from-run refuses, in one line with exit 2: no directory, no result, a foreign result, no per-chunk times, errors only, too few samples', async () => {
  await refused(['--from-run', join(dir, 'nope')], /^orbitflow: .*nope: no such directory \(expected a replay's --out DIR\)$/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await refused(['--from-run', empty], /^orbitflow: .*empty\/result\.json: cannot read a replay's result: no such file$/);
  await refused(['--from-run', runDir('foreign', [req(0, 'ok', [10, 20])], { schema: 'something/v9' })], /result\.json: schema: expected 'orbitflow\.run\/v1'/);
  await refused(['--from-run', runDir('nochunks', [req(0, 'ok', undefined), req(1, 'ok', undefined)])], /requests\.jsonl: no per-chunk times \(chunk_ms\) in any request: this run cannot be fitted$/);
  await refused(['--from-run', runDir('failed', [req(0, 'failed', []), req(1, 'failed', [])])], /: every request failed \(2 of 2\): nothing to fit$/);
  await refused(['--from-run', runDir('short', [req(0, 'ok', [50, 90, 130, 170]), req(1, 'ok', [60, 100])])], /: only \d+ decode steps could be reconstructed \(at least 50 are needed\)/);
  await refused(['--from-run', runDir('badline', [req(0, 'ok', [10, 20]), { index: 'x' }])], /requests\.jsonl:2: index: expected an integer$/);
  await refused(['--from-run', runDir('ok1', [req(0, 'ok', [10, 20])]), '--base', join(dir, 'no-such-profile.json')], /no-such-profile\.json: cannot read profile: no such file$/);
});
