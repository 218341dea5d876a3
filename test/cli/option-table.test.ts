import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addOptionTable, attributeOf, flag, optional, withDefault, type OptionsOf, type OptionTable } from '../../src/cli/option-table.js';
import { positiveInt } from '../../src/cli/parse-options.js';

const TABLE = {
  gpuKvGib: optional('--gpu-kv-gib <gib>', 'budget', { parse: Number }),
  maxNumSeqs: withDefault('--max-num-seqs <n>', 'sequences', 16, { parse: positiveInt }),
  policy: withDefault('--policy <p>', 'policy', 'external', { choices: ['external', 'gpu-only'] }),
  json: flag('--json', 'JSON'),
} satisfies OptionTable;

function parse(args: string[]): OptionsOf<typeof TABLE> {
  const cmd = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  addOptionTable(cmd, TABLE);
  cmd.parse(args, { from: 'user' });
  return cmd.opts() as OptionsOf<typeof TABLE>;
}

test('an option table registers each option once, with its parser, default and choices', () => {
  assert.deepEqual(parse([]), { maxNumSeqs: 16, policy: 'external', json: false });
  assert.deepEqual(parse(['--gpu-kv-gib', '2.5', '--max-num-seqs', '4', '--policy', 'gpu-only', '--json']), { gpuKvGib: 2.5, maxNumSeqs: 4, policy: 'gpu-only', json: true });
  assert.throws(() => parse(['--max-num-seqs', '0']), /expected a positive integer/);
  assert.throws(() => parse(['--policy', 'nope']), /Allowed choices/);
});

test('a key that is not its flag\'s attribute is refused at registration', () => {
  assert.equal(attributeOf('--gpu-kv-gib <gib>'), 'gpuKvGib');
  assert.equal(attributeOf('--no-scrape'), 'scrape');
  assert.throws(() => addOptionTable(new Command(), { gpuKv: optional('--gpu-kv-gib <gib>', 'x') }), /key 'gpuKv' does not match/);
});
