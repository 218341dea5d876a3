import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * The drawing of the house (ARCHITECTURE.md §2), checked on every import of src/:
 *   cli → ui, replay, controller, planner, engine, profile, trace → cost → core
 * plus the edges the drawing forbids between rooms of one rank: the engine is a separate server,
 * so it imports neither the controller nor the replay client nor the planner, and reads traces
 * only through the one request shape in core. A new room must be placed here to be allowed.
 */
const RANK: Record<string, number> = { cli: 3, ui: 2, report: 2, replay: 2, controller: 2, planner: 2, engine: 2, profile: 2, trace: 2, cost: 1, core: 0 };
const FORBIDDEN: readonly [string, string][] = [
  ['engine', 'controller'],
  ['engine', 'replay'],
  ['engine', 'planner'],
  ['engine', 'trace'],
  ['replay', 'trace'],
];

const SRC = join(REPO_ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const roomOf = (file: string): string => relative(SRC, file).split(sep)[0];

function edges(): { from: string; to: string; file: string; spec: string }[] {
  const out: { from: string; to: string; file: string; spec: string }[] = [];
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(f), m[1]);
      if (!target.startsWith(SRC)) continue;
      const from = roomOf(f);
      const to = roomOf(target);
      if (from !== to) out.push({ from, to, file: relative(REPO_ROOT, f), spec: m[1] });
    }
  }
  return out;
}

test('imports point down the drawing: cli → ui, replay, controller, planner, engine, profile, trace → cost → core', () => {
  const all = edges();
  assert.ok(all.length > 50, `found only ${all.length} cross-room imports: the scan is broken`);
  const wrong: string[] = [];
  for (const e of all) {
    if (!(e.from in RANK)) wrong.push(`${e.file}: room '${e.from}' is not in the drawing`);
    else if (!(e.to in RANK)) wrong.push(`${e.file}: imports room '${e.to}', which is not in the drawing`);
    else if (RANK[e.to] > RANK[e.from]) wrong.push(`${e.file}: ${e.from} imports ${e.to} (${e.spec}), a higher room`);
    else if (FORBIDDEN.some(([a, b]) => a === e.from && b === e.to)) wrong.push(`${e.file}: ${e.from} must not import ${e.to} (${e.spec})`);
  }
  assert.deepEqual(wrong, []);
});

test('no two rooms import each other, directly or round a loop', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges()) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
  }
  const state = new Map<string, 'open' | 'done'>();
  const cycle: string[] = [];
  const visit = (n: string, path: string[]): boolean => {
    if (state.get(n) === 'done') return false;
    if (state.get(n) === 'open') {
      cycle.push(...path.slice(path.indexOf(n)), n);
      return true;
    }
    state.set(n, 'open');
    for (const m of graph.get(n) ?? []) if (visit(m, [...path, n])) return true;
    state.set(n, 'done');
    return false;
  };
  for (const n of graph.keys()) if (visit(n, [])) break;
  assert.deepEqual(cycle, [], `rooms import each other: ${cycle.join(' → ')}`);
});
