import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { LiveSnapshot } from '../../src/replay/live-stats.js';
import { startLiveView } from '../../src/ui/live-view.js';
import { progressBar } from '../../src/ui/replay-live.js';

// ink draws frames only outside CI (it reads CI when it is first imported, which startLiveView does
// lazily): this file tests the view a user's terminal shows, so it runs as a terminal outside CI.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

/** A terminal that records what ink draws: a TTY of 100 columns whose frames we can read back. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  readonly rows = 30;
  private text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  /** The last frame ink drew, without escape sequences. */
  lastFrame(): string {
    // eslint-disable-next-line no-control-regex
    const plain = this.text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    const frames = plain.split(/(?=orbitflow replay)/);
    return frames[frames.length - 1];
  }
}

function snapshot(over: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    elapsedS: 4.2, traceDurationS: 28, total: 60, released: 30, sent: 30, finished: 24, failed: 2, inFlight: 6,
    ttftP50Ms: 31.4, ttftP99Ms: 96.2, tpotP50Ms: 8.6, tpotP99Ms: 12.9, outputTokens: 4000, tokensPerS: [300, 640, 512, 200], ...over,
  };
}

test('ink live view: each frame shows the snapshot it was given, and the last frame is the final snapshot', async () => {
  const term = new FakeTerminal();
  let current = snapshot();
  const view = await startLiveView(term as unknown as NodeJS.WriteStream, 'orbitflow replay sample.csv', () => current, () => undefined);
  let stopped = false;
  const stop = async (final: LiveSnapshot) => {
    stopped = true;
    await view.stop(final);
  };
  try {
    const first = term.lastFrame();
    assert.match(first, /24\/60/);
    assert.match(first, /sent 30 · failed 2 · in flight 6/);
    assert.match(first, /TTFT p50 31 ms p99 96 ms {3}TPOT p50 9 ms p99 13 ms/);
    assert.match(first, /elapsed 4\.2 s of 28\.0 s trace time/);
    assert.ok(first.includes(progressBar(current)), first);
    current = snapshot({ finished: 58, sent: 60, inFlight: 0, elapsedS: 29.5, controllerLine: 'controller: 40 plans applied' });
    await stop(snapshot({ finished: 60, sent: 60, failed: 0, inFlight: 0, elapsedS: 30.1, ttftP50Ms: 0, controllerLine: 'controller: 41 plans applied' }));
  } finally {
    // A failed assertion must not leave ink's re-render timer holding the test process open.
    if (!stopped) await view.stop(snapshot());
  }
  const last = term.lastFrame();
  assert.match(last, /60\/60/);
  assert.match(last, /sent 60 · failed 0 · in flight 0/);
  assert.match(last, /TTFT p50 – p99 96 ms/, 'a percentile with no samples prints as –');
  assert.match(last, /controller: 41 plans applied/);
  assert.ok(last.includes('█'.repeat(36)), 'every request finished: a full bar');
});

test('progress bar: finished, failed, in flight and not sent, in proportion', () => {
  assert.equal(progressBar(snapshot({ total: 36, finished: 12, failed: 6, sent: 24 })), `${'█'.repeat(6)}${'▓'.repeat(6)}${'▒'.repeat(12)}${'·'.repeat(12)}`);
  assert.equal(progressBar(snapshot({ total: 0 })), '·'.repeat(36));
});
