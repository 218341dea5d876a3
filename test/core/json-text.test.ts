import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonErrorLine, jsonValueLines, parseJsonText } from '../../src/core/json-text.js';
import { OrbitflowError } from '../../src/core/errors.js';

test('jsonErrorLine names the line of the first syntax error', () => {
  assert.equal(jsonErrorLine('{\n  "a": 1\n  "b": 2\n}'), 3, 'missing comma');
  assert.equal(jsonErrorLine('{\n  "a": [1, 2,\n\n  ]\n}'), 4, 'trailing comma');
  assert.equal(jsonErrorLine('{"a":\n "b\nc"}'), 2, 'raw newline in a string');
  assert.equal(jsonErrorLine('[1, 2]\n\nx'), 3, 'trailing garbage');
  assert.equal(jsonErrorLine('{"a": tru}'), 1, 'bad literal');
  assert.equal(jsonErrorLine('{\n"a": "unterminated'), 2, 'unterminated string');
  for (const bad of ['{\n  "a": 1\n  "b": 2\n}', '[1, 2]\n\nx', '{"a": tru}']) assert.throws(() => JSON.parse(bad));
});

test('jsonValueLines maps every value path to its line, to the depth asked', () => {
  const text = '{\n  "requests": [\n    {"id": "a",\n     "context_tokens": 10},\n    {"id": "b\\"q", "context_tokens": 20}\n  ]\n}';
  const lines = jsonValueLines(text);
  assert.equal(lines.get(''), 1);
  assert.equal(lines.get('requests'), 2);
  assert.equal(lines.get('requests[0]'), 3);
  assert.equal(lines.get('requests[0].context_tokens'), 4);
  assert.equal(lines.get('requests[1].id'), 5);
  assert.equal(lines.get('requests[1].context_tokens'), 5);
  assert.equal(jsonValueLines(text, 1).has('requests[0]'), false);
});

test('parseJsonText: a syntax error is one input error naming file and line', () => {
  try {
    parseJsonText('{\n "a": 1,\n}', 'x.json', 'OF_PROFILE_JSON');
    assert.fail('no error');
  } catch (e) {
    assert.ok(OrbitflowError.is(e));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /^x\.json:3: \(json\): not valid JSON/);
  }
});
