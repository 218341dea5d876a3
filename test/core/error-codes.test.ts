import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, ExitCode } from '../../src/core/errors.js';
import { REPO_ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('docs/formats.md lists exactly the registry: every OF_* code with its exit code', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/formats.md'), 'utf8');
  const table = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `(OF_[A-Z0-9_]+)` \| (\d+) \| (.+) \|$/gm)) table.set(m[1], Number(m[2]));
  assert.deepEqual([...table.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, [exit]] of Object.entries(ERROR_CODES)) assert.equal(table.get(code), exit, code);
});

test('every OF_* code the sources name is in the registry, and every registry code is raised somewhere', () => {
  const text = sources(join(REPO_ROOT, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const named = new Set([...text.matchAll(/'(OF_[A-Z0-9_]+)'/g)].map((m) => m[1]));
  for (const code of named) assert.ok(Object.hasOwn(ERROR_CODES, code), `${code} is raised but not registered`);
  for (const code of Object.keys(ERROR_CODES)) assert.ok(named.has(code), `${code} is registered but never raised`);
  const exits = new Set<number>(Object.values(ExitCode));
  for (const [code, [exit, meaning]] of Object.entries(ERROR_CODES)) {
    assert.ok(exits.has(exit) && exit !== (ExitCode.ok as number), `${code}: exit ${exit}`);
    assert.ok(meaning.length > 10 && !meaning.includes('\n'), `${code}: a one-line meaning`);
  }
});
