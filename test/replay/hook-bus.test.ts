import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HookBus } from '../../src/replay/hook-bus.js';
import type { RequestRecord } from '../../src/replay/request-record.js';

test('hook bus: every subscriber gets every event it handles, in the order they subscribed', () => {
  const bus = new HookBus();
  const seen: string[] = [];
  bus.subscribe({ onRequestEvent: (type) => seen.push(`a:${type}`), onTokenChunk: () => seen.push('a:chunk') });
  bus.subscribe({ onTokenChunk: () => seen.push('b:chunk') });
  bus.subscribe({ onRequestEvent: (type) => seen.push(`c:${type}`) });
  const rec = {} as RequestRecord;
  bus.onRequestEvent('sent', rec);
  bus.onTokenChunk(rec);
  bus.onRequestEvent('done', rec);
  assert.deepEqual(seen, ['a:sent', 'c:sent', 'a:chunk', 'b:chunk', 'a:done', 'c:done']);
});

test('hook bus: a handler passed on as a plain callback still reaches every subscriber', () => {
  const bus = new HookBus();
  let n = 0;
  bus.subscribe({ onTokenChunk: () => n++ });
  bus.subscribe({ onTokenChunk: () => n++ });
  const detached = bus.onTokenChunk;
  detached({} as RequestRecord);
  assert.equal(n, 2);
});
