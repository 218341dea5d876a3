import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuantisationDetector } from '../../src/trace/quantisation.js';
import { ArrivalMixer } from '../../src/trace/arrival-mixer.js';
import { createRng } from '../../src/core/rng.js';

function detect(timesS: number[]): ReturnType<QuantisationDetector['result']> {
  const d = new QuantisationDetector();
  for (const t of timesS) d.add(t);
  return d.result();
}

test('a 1 s grid with empty buckets and several requests per tick is quantised', () => {
  const rng = createRng(1);
  const times: number[] = [];
  for (let s = 0; s < 200; s++) {
    if (rng.next() < 0.3) continue; // empty bucket: the gap is a multiple of the grid
    for (let k = rng.int(1, 4); k > 0; k--) times.push(s);
  }
  const q = detect(times);
  assert.ok(q !== null);
  assert.equal(q.gridMs, 1000);
  assert.equal(q.distinctTimestamps, new Set(times).size);
});

test('Poisson arrivals with ms timestamps, even sparse ones, are not quantised', () => {
  for (const rate of [50, 0.05]) {
    const rng = createRng(2);
    let t = 0;
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      t += Math.round(-Math.log(1 - rng.next()) * (1000 / rate)) / 1000;
      times.push(t);
    }
    assert.equal(detect(times), null, `rate ${rate}`);
  }
});

test('too few distinct timestamps to judge: not quantised', () => {
  assert.equal(detect([0, 0, 3, 3, 6]), null);
});

test('arrival mixer: output sorted and complete for any jitter, ties in input order', () => {
  const rng = createRng(3);
  let t = 0;
  const input: number[] = [];
  for (let i = 0; i < 3000; i++) {
    if (rng.next() < 0.5) t += rng.next() * 0.01;
    input.push(t);
  }
  for (const jitterMs of [0, 1, 20, 500]) {
    for (const rateScale of [0.3, 1, 2.5]) {
      const m = new ArrivalMixer<number>(rateScale, jitterMs, 9);
      const out = input.flatMap((x, i) => m.push(x, i));
      out.push(...m.flush());
      assert.ok(out.every((o, k) => k === 0 || o.timeS >= out[k - 1].timeS), `sorted jitter ${jitterMs} scale ${rateScale}`);
      assert.equal(out.length + m.thinned - m.replicas, input.length);
      for (const o of out) assert.ok(o.timeS >= input[o.item] - jitterMs / 2000 - 1e-12 && o.timeS <= input[o.item] + jitterMs / 2000 + 0.001 + 1e-12);
    }
  }
  const plain = new ArrivalMixer<number>(1, 0, 0);
  assert.equal(plain.identity, true);
  const same = [5, 5, 5].flatMap((x, i) => plain.push(x, i));
  assert.deepEqual([...same, ...plain.flush()].map((o) => o.item), [0, 1, 2]);
});
