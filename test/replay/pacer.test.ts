import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPacer } from '../../src/replay/pacer.js';
import { FakeClock } from './fake-clock.js';

interface Log {
  released: Array<[number, number]>;
  started: Array<[number, number]>;
  prepared: number[];
}

function setup(clock: FakeClock, t0: number, due: number[], maxConcurrency: number) {
  const log: Log = { released: [], started: [], prepared: [] };
  const pacer = createPacer(clock, t0, due, maxConcurrency, {
    release: (i, now) => log.released.push([i, now]),
    start: (i, now) => log.started.push([i, now]),
    prepare: (i) => log.prepared.push(i),
  });
  return { pacer, log };
}

async function drive(clock: FakeClock, run: Promise<void>): Promise<void> {
  let done = false;
  void run.then(() => (done = true));
  while (!done) if (!(await clock.step()) && !done) await new Promise((r) => setImmediate(r));
}

test('pacer: each item goes out at t0 + due, items due together in one pass', async () => {
  const clock = new FakeClock();
  clock.t = 1000;
  const { pacer, log } = setup(clock, 1000, [0, 10, 10, 25.5], Infinity);
  await drive(clock, pacer.run());
  assert.deepEqual(log.released, [
    [0, 1000],
    [1, 1010],
    [2, 1010],
    [3, 1025.5],
  ]);
  assert.deepEqual(log.started, log.released);
  assert.deepEqual(log.prepared, [1, 3], 'bodies are prepared while the pacer would sleep');
});

test('pacer: absolute schedule, so one late wake-up does not push later items back', async () => {
  const clock = new FakeClock();
  const { pacer, log } = setup(clock, 0, [10, 20, 30, 40], Infinity);
  const run = pacer.run();
  await clock.step(); // wakes for item 0 at 10
  clock.lateMs = 7; // the next wake oversleeps
  await clock.step(); // item 1 at 27 (due 20)
  clock.lateMs = 0;
  await drive(clock, run);
  const lags = log.released.map(([i, t]) => t - [10, 20, 30, 40][i]);
  assert.deepEqual(lags, [0, 7, 0, 0], 'a relative "previous + gap" pacer would give [0, 7, 7, 7]');
});

test('pacer: a late start releases everything already due at once, with its lag', async () => {
  const clock = new FakeClock();
  clock.t = 35; // the loop starts 35 ms after t0
  const { pacer, log } = setup(clock, 0, [0, 10, 30, 50], Infinity);
  await drive(clock, pacer.run());
  assert.deepEqual(log.released, [
    [0, 35],
    [1, 35],
    [2, 35],
    [3, 50],
  ]);
});

test('pacer: --max-concurrency queues released items FIFO; a finish starts the longest-waiting one', async () => {
  const clock = new FakeClock();
  const { pacer, log } = setup(clock, 0, [0, 5, 6, 7], 2);
  await drive(clock, pacer.run());
  assert.deepEqual(log.started, [
    [0, 0],
    [1, 5],
  ]);
  assert.equal(pacer.queued(), 2);
  assert.equal(pacer.inFlight(), 2);
  await clock.advance(13); // t = 20
  pacer.finished();
  assert.deepEqual(log.started[2], [2, 20], 'item 2 waited 14 ms (queue time), item 3 still queued');
  assert.equal(pacer.queued(), 1);
  await clock.advance(5);
  pacer.finished();
  assert.deepEqual(log.started[3], [3, 25]);
  pacer.finished();
  pacer.finished();
  assert.equal(pacer.inFlight(), 0);
});

test('pacer: stop() ends the schedule and hands back what was still queued', async () => {
  const clock = new FakeClock();
  const { pacer, log } = setup(clock, 0, [0, 0, 0, 100], 1);
  const run = pacer.run();
  await clock.advance(0);
  assert.deepEqual(pacer.stop(), [1, 2]);
  await run;
  assert.equal(log.released.length, 3, 'item 3 (due at 100) is never released');
  pacer.finished();
  assert.equal(log.started.length, 1, 'nothing starts after stop');
});

test('pacer: poke releases a due item at once when the clock would wake late, and never before its due time', async () => {
  const clock = new FakeClock();
  const { pacer, log } = setup(clock, 0, [10, 20], Infinity);
  const run = pacer.run();
  await clock.advance(5);
  pacer.poke(clock.now()); // not due yet: nothing happens
  assert.deepEqual(log.released, []);
  await clock.advance(6); // t = 11, item 0 (due 10) still asleep in the clock
  pacer.poke(clock.now());
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log.released, [[0, 11]], 'released by the poke, 1 ms late instead of the clock\'s wake-up');
  clock.lateMs = 50;
  await drive(clock, run);
  assert.deepEqual(log.released[1], [1, 70], 'without a poke the late wake-up decides');
});
