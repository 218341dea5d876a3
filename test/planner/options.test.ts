import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offloadCount, placementForDistance } from '../../src/core/placement.js';
import { distanceOptions, placementOptions } from '../../src/planner/options.js';

const counts = (L: number): number[] => placementOptions(L).map((o) => o.offloadedLayers).sort((a, b) => a - b);

test('L = 32: offload counts {16,10,8,6,5,4,3,2,1} plus 0 (all on GPU) and 32 (all offloaded)', () => {
  assert.deepEqual(counts(32), [0, 1, 2, 3, 4, 5, 6, 8, 10, 16, 32]);
  // The widest distance for each count (orbitflow-method.md §3): most lead time per copy.
  assert.deepEqual(distanceOptions(32), [-1, 31, 15, 9, 7, 5, 4, 3, 2, 1, 0]);
});

test('L = 80: offload counts {40,26,20,16,13,11,10,8,7,6,5,4,3,2,1} plus 0 and 80', () => {
  assert.deepEqual(counts(80), [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, 20, 26, 40, 80]);
  assert.deepEqual(distanceOptions(80), [-1, 79, 39, 25, 19, 15, 12, 10, 9, 7, 6, 5, 4, 3, 2, 1, 0]);
});

test('each option is the widest distance with its count, and its layers follow the distance rule', () => {
  for (const L of [28, 32, 80]) {
    for (const o of placementOptions(L)) {
      if (o.distance <= 0) continue;
      assert.equal(offloadCount(L, o.distance), o.offloadedLayers);
      // Any wider distance offloads fewer layers.
      assert.ok(o.distance === L - 1 || offloadCount(L, o.distance + 1) < o.offloadedLayers, `L=${L} d=${o.distance}`);
      assert.deepEqual(o.placement.offloaded, placementForDistance(L, o.distance).offloaded);
      for (const l of o.placement.offloaded) assert.equal(l % (o.distance + 1), o.distance);
    }
  }
});
