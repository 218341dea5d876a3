import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue, getModel, modelFromHfConfig } from '../../src/core/model-catalogue.js';
import { kvBytesPerBlock, kvBytesPerRequest, kvBytesPerTokenLayer, weightBytesPerLayer } from '../../src/core/model-spec.js';
import { OrbitflowError } from '../../src/core/errors.js';

// Hand-computed: 2 (K,V) · kv_heads · head_dim · 2 bytes (bf16).
const EXPECTED_TOKEN_LAYER: Record<string, number> = {
  'llama-3.1-8b': 2 * 8 * 128 * 2, // 4096
  'llama-3.1-70b': 2 * 8 * 128 * 2, // 4096
  'qwen2.5-7b': 2 * 4 * 128 * 2, // 2048
  'qwen2.5-72b': 2 * 8 * 128 * 2, // 4096
  'mistral-7b-v0.3': 2 * 8 * 128 * 2, // 4096
};
const EXPECTED_LAYERS: Record<string, number> = { 'llama-3.1-8b': 32, 'llama-3.1-70b': 80, 'qwen2.5-7b': 28, 'qwen2.5-72b': 80, 'mistral-7b-v0.3': 32 };

test('KV bytes per token per layer, per block and per request for every catalogued model', () => {
  assert.equal(catalogue().length, 5);
  for (const m of catalogue()) {
    assert.equal(kvBytesPerTokenLayer(m), EXPECTED_TOKEN_LAYER[m.id], m.id);
    assert.equal(kvBytesPerBlock(m), EXPECTED_TOKEN_LAYER[m.id] * 16, m.id);
    assert.equal(m.layers, EXPECTED_LAYERS[m.id], m.id);
    // 1000 tokens → 63 blocks per layer (62.5 rounded up) × layers × block bytes.
    assert.equal(kvBytesPerRequest(m, 1000), 63 * EXPECTED_LAYERS[m.id] * EXPECTED_TOKEN_LAYER[m.id] * 16, m.id);
  }
  // The artifact's 8B block: 16·2·2·128·8 = 65,536 B.
  assert.equal(kvBytesPerBlock(getModel('llama-3.1-8b')), 65536);
  // TP-4 on 70B: 2 KV heads per rank.
  assert.equal(kvBytesPerBlock(getModel('llama-3.1-70b'), 4), 16384);
});

test('weight bytes per layer of Llama-3.1-8B: (2·4096² + 2·4096·1024 + 3·4096·14336) · 2 B', () => {
  assert.equal(weightBytesPerLayer(getModel('llama-3.1-8b')), (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336) * 2);
});

test('unknown model is a usage error (exit 2) that lists known models', () => {
  assert.throws(() => getModel('gpt-5'), (e: unknown) => OrbitflowError.is(e) && e.exitCode === 2 && /unknown model 'gpt-5'/.test(e.message) && /llama-3.1-8b/.test(e.hint ?? ''));
});

test('a HuggingFace config.json becomes a ModelSpec; a bad field names file and field', () => {
  const cfg = JSON.stringify({ _name_or_path: 'org/Tiny', hidden_size: 1024, num_attention_heads: 16, num_key_value_heads: 4, num_hidden_layers: 12, intermediate_size: 4096, vocab_size: 32000, torch_dtype: 'float16' });
  const m = modelFromHfConfig('cfg.json', cfg);
  assert.equal(m.layers, 12);
  assert.equal(m.headDim, 64);
  assert.equal(kvBytesPerTokenLayer(m), 2 * 4 * 64 * 2);
  assert.throws(() => modelFromHfConfig('cfg.json', JSON.stringify({ hidden_size: 1024 })), /cfg\.json: num_attention_heads: missing/);
});
