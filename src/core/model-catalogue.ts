import { readInputFile } from './input-file.js';
import { inputError, OrbitflowError } from './errors.js';
import type { ModelSpec } from './model-spec.js';

// Architecture numbers are those of each model's published HuggingFace config.json.
const CATALOGUE: readonly ModelSpec[] = [
  {
    id: 'llama-3.1-8b', name: 'meta-llama/Llama-3.1-8B-Instruct', layers: 32, attentionHeads: 32, kvHeads: 8,
    headDim: 128, hiddenSize: 4096, intermediateSize: 14336, vocabSize: 128256, kvDtypeBytes: 2,
    weightDtypeBytes: 2, maxContextTokens: 131072, source: 'catalogue (HF config.json of meta-llama/Llama-3.1-8B-Instruct)',
  },
  {
    id: 'llama-3.1-70b', name: 'meta-llama/Llama-3.1-70B-Instruct', layers: 80, attentionHeads: 64, kvHeads: 8,
    headDim: 128, hiddenSize: 8192, intermediateSize: 28672, vocabSize: 128256, kvDtypeBytes: 2,
    weightDtypeBytes: 2, maxContextTokens: 131072, source: 'catalogue (HF config.json of meta-llama/Llama-3.1-70B-Instruct)',
  },
  {
    id: 'qwen2.5-7b', name: 'Qwen/Qwen2.5-7B-Instruct', layers: 28, attentionHeads: 28, kvHeads: 4,
    headDim: 128, hiddenSize: 3584, intermediateSize: 18944, vocabSize: 152064, kvDtypeBytes: 2,
    weightDtypeBytes: 2, maxContextTokens: 131072, source: 'catalogue (HF config.json of Qwen/Qwen2.5-7B-Instruct)',
  },
  {
    id: 'qwen2.5-72b', name: 'Qwen/Qwen2.5-72B-Instruct', layers: 80, attentionHeads: 64, kvHeads: 8,
    headDim: 128, hiddenSize: 8192, intermediateSize: 29568, vocabSize: 152064, kvDtypeBytes: 2,
    weightDtypeBytes: 2, maxContextTokens: 131072, source: 'catalogue (HF config.json of Qwen/Qwen2.5-72B-Instruct)',
  },
  {
    id: 'mistral-7b-v0.3', name: 'mistralai/Mistral-7B-Instruct-v0.3', layers: 32, attentionHeads: 32, kvHeads: 8,
    headDim: 128, hiddenSize: 4096, intermediateSize: 14336, vocabSize: 32768, kvDtypeBytes: 2,
    weightDtypeBytes: 2, maxContextTokens: 32768, source: 'catalogue (HF config.json of mistralai/Mistral-7B-Instruct-v0.3)',
  },
];

const ALIASES: Record<string, string> = {
  'llama-3-8b': 'llama-3.1-8b',
  'llama-3-70b': 'llama-3.1-70b',
  'mistral-7b': 'mistral-7b-v0.3',
};

export function catalogueIds(): string[] {
  return CATALOGUE.map((m) => m.id);
}

export function catalogue(): readonly ModelSpec[] {
  return CATALOGUE;
}

/** Look a model up by id (case-insensitive, a few aliases, HF name accepted). */
export function findModel(id: string): ModelSpec | undefined {
  const key = id.toLowerCase();
  const resolved = ALIASES[key] ?? key;
  return CATALOGUE.find((m) => m.id === resolved || m.name.toLowerCase() === key || m.name.toLowerCase().endsWith(`/${key}`));
}

export function getModel(id: string): ModelSpec {
  const m = findModel(id);
  if (!m) {
    throw new OrbitflowError('OF_CORE_MODEL', `--model: unknown model '${id}'`, {
      hint: `known models: ${catalogueIds().join(', ')}; or pass --model-config <config.json>`,
      context: { option: '--model' },
    });
  }
  return m;
}

const DTYPE_BYTES: Record<string, number> = { float16: 2, bfloat16: 2, float32: 4, fp16: 2, bf16: 2, fp8: 1, float8_e4m3fn: 1 };

/** Read a HuggingFace `config.json` into a ModelSpec. */
export function modelFromHfConfig(file: string, text?: string): ModelSpec {
  const json = text ?? readInputFile(file, { what: 'model config', code: 'OF_CORE_MODEL_CONFIG' });
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw inputError('OF_CORE_MODEL_CONFIG', file, undefined, '(json)', `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw inputError('OF_CORE_MODEL_CONFIG', file, undefined, '(root)', 'expected a JSON object');
  }
  // Multimodal configs nest the language model under text_config.
  const cfg = ((raw as Record<string, unknown>).text_config ?? raw) as Record<string, unknown>;
  const int = (field: string, fallback?: number): number => {
    const v = cfg[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw inputError('OF_CORE_MODEL_CONFIG', file, undefined, field, v === undefined ? 'missing' : `expected a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const hiddenSize = int('hidden_size');
  const attentionHeads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', attentionHeads);
  const headDim = int('head_dim', Math.floor(hiddenSize / attentionHeads));
  const dtype = String(cfg.torch_dtype ?? cfg.dtype ?? 'bfloat16');
  const dtypeBytes = DTYPE_BYTES[dtype];
  if (dtypeBytes === undefined) throw inputError('OF_CORE_MODEL_CONFIG', file, undefined, 'torch_dtype', `unsupported dtype '${dtype}'`);
  const name = String(cfg._name_or_path ?? (raw as Record<string, unknown>)._name_or_path ?? file);
  return {
    id: name.split('/').pop()!.toLowerCase(),
    name,
    layers: int('num_hidden_layers'),
    attentionHeads,
    kvHeads,
    headDim,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    vocabSize: int('vocab_size'),
    kvDtypeBytes: dtypeBytes,
    weightDtypeBytes: dtypeBytes,
    maxContextTokens: int('max_position_embeddings', 131072),
    source: `config.json ${file}`,
  };
}

/** `--model` / `--model-config` resolution used by every subcommand. */
export function resolveModel(opts: { model?: string; modelConfig?: string }): ModelSpec {
  if (opts.modelConfig) return modelFromHfConfig(opts.modelConfig);
  return getModel(opts.model ?? 'llama-3.1-8b');
}
