import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../../src/core/sse-parser.js';

function parseAll(chunks: Buffer[]): string[] {
  const got: string[] = [];
  const p = new SseParser({ onSseData: (d) => got.push(d) });
  for (const c of chunks) p.push(c);
  p.end();
  return got;
}

// LF, CRLF and bare CR endings; a comment (ping); a multi-line event; a non-data field;
// a multi-byte character; [DONE]; several events that will land in one chunk.
const STREAM = Buffer.from(
  ': ping\n\n' +
    'data: {"choices":[{"text":"héllo ✓"}]}\r\n\r\n' +
    'event: message\nid: 7\ndata: {"a":1}\n\n' +
    'data:{"b":2}\r\rdata: line1\ndata: line2\n\n' +
    ':keep-alive\r\n' +
    'retry: 1000\n' +
    'data: 🚀 rocket\n\n' +
    'data: [DONE]\n\n',
  'utf8',
);
const EXPECTED = ['{"choices":[{"text":"héllo ✓"}]}', '{"a":1}', '{"b":2}', 'line1\nline2', '🚀 rocket', '[DONE]'];

test('SSE: whole stream in one chunk (several events per chunk)', () => {
  assert.deepEqual(parseAll([STREAM]), EXPECTED);
});

test('SSE: the same stream split at every possible byte boundary', () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    assert.deepEqual(parseAll([STREAM.subarray(0, cut), STREAM.subarray(cut)]), EXPECTED, `split at byte ${cut}`);
  }
});

test('SSE: the same stream split at every pair of boundaries, and byte by byte', () => {
  const n = STREAM.length;
  for (let a = 1; a < n; a += 3) {
    for (let b = a; b < n; b += 5) {
      assert.deepEqual(parseAll([STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)]), EXPECTED, `splits at ${a}, ${b}`);
    }
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < n; i++) bytes.push(STREAM.subarray(i, i + 1));
  assert.deepEqual(parseAll(bytes), EXPECTED);
});

test('SSE: CR at the end of one chunk and LF at the start of the next make one line end, not two', () => {
  // If CR|LF were two line ends, the blank line would dispatch "x" early and split the event.
  const got = parseAll([Buffer.from('data: x\r'), Buffer.from('\ndata: y\n\n')]);
  assert.deepEqual(got, ['x\ny']);
});

test('SSE: a last event without its blank line still arrives at end of body; a leading BOM is ignored', () => {
  assert.deepEqual(parseAll([Buffer.from('\ufeffdata: {"z":0}\n\ndata: tail')]), ['{"z":0}', 'tail']);
});

test('SSE: blank lines without data dispatch nothing; fields that only start with "data" are ignored', () => {
  assert.deepEqual(parseAll([Buffer.from('\n\n\r\n: c\n\ndatax: no\n\ndata\n\n')]), ['']);
});

test('SSE: an endless data line (256 MiB in 64 KiB chunks) is dropped at the cap, told once, and the stream goes on after it', () => {
  const got: string[] = [];
  let overflows = 0;
  const p = new SseParser({ onSseData: (d) => got.push(d), onSseOverflow: () => overflows++ });
  p.push(Buffer.from('data: {"before":1}\n\ndata: '));
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  // Without the cap, re-joining the carried line per chunk copies ~0.5 TB here.
  for (let i = 0; i < 4096; i++) p.push(chunk);
  p.push(Buffer.from('xxx\n\ndata: {"after":2}\n\n'));
  p.end();
  assert.equal(overflows, 1);
  assert.deepEqual(got, ['{"before":1}', '{"after":2}']);
});

test('SSE: a long line under the cap, split over many chunks, arrives whole', () => {
  const value = 'y'.repeat(3 * 1024 * 1024);
  const text = Buffer.from(`data: ${value}\n\n`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < text.length; i += 1000) chunks.push(text.subarray(i, i + 1000));
  assert.deepEqual(parseAll(chunks), [value]);
});
