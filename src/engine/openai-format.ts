/**
 * OpenAI-compatible request parsing and response shapes, field by field as vLLM's OpenAI server
 * sends them (vllm/entrypoints/openai: completion and chat_completion serving). The engine has no
 * tokenizer: a text prompt counts one token per whitespace-separated word (at least 1); a
 * token-ID prompt counts exactly. Output text is placeholder words; only its timing is meaningful.
 */

export type ApiKind = 'completions' | 'chat';

export interface ParsedRequest {
  kind: ApiKind;
  model: string | undefined;
  promptTokens: number;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  ignoreEos: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 404 ? 'NotFoundError' : 'BadRequestError',
  ) {
    super(message);
  }
}

/** The OpenAI error object, `{"error": {message, type, param, code}}`, which the official SDKs read. */
export function errorObject(status: number, message: string, type: string): { error: { message: string; type: string; param: null; code: number } } {
  return { error: { message, type, param: null, code: status } };
}

export function errorBody(status: number, message: string, type: string): string {
  return JSON.stringify(errorObject(status, message, type));
}

export const DEFAULT_MAX_TOKENS = 16;

/** Tokens of a text under the engine's rule: whitespace-separated words, at least 1 for non-empty text. */
export function countTextTokens(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n === 0 && text.length > 0 ? 1 : n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTokenIds(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && (x as number) >= 0);
}

function promptTokensOf(prompt: unknown): number {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new ApiError(400, 'prompt must not be empty');
    return countTextTokens(prompt);
  }
  if (isTokenIds(prompt)) return prompt.length;
  if (Array.isArray(prompt) && prompt.length === 1) return promptTokensOf(prompt[0]);
  if (Array.isArray(prompt) && prompt.length > 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))) {
    throw new ApiError(400, 'only one prompt per request is supported by the reference engine');
  }
  throw new ApiError(400, 'prompt must be a string, an array of token IDs, or a one-element array of either');
}

function messageTokens(messages: unknown): number {
  if (!Array.isArray(messages) || messages.length === 0) throw new ApiError(400, 'messages must be a non-empty array');
  let n = 0;
  messages.forEach((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string') throw new ApiError(400, `messages[${i}] must be an object with a string role`);
    const c = m.content;
    if (typeof c === 'string') n += countTextTokens(c);
    else if (Array.isArray(c)) {
      c.forEach((part, j) => {
        if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') throw new ApiError(400, `messages[${i}].content[${j}] must be a text part`);
        n += countTextTokens(part.text);
      });
    } else if (c !== null && c !== undefined) throw new ApiError(400, `messages[${i}].content must be a string or an array of text parts`);
  });
  if (n === 0) throw new ApiError(400, 'messages contain no text');
  return n;
}

function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ApiError(400, `${key} must be a boolean`);
  return v;
}

/** Validate a completions or chat body; throws ApiError (400/404) with vLLM-like messages. */
export function parseRequest(kind: ApiKind, raw: unknown, served: { names: readonly string[]; maxModelLen: number; defaultMaxTokens?: number }): ParsedRequest {
  if (!isObject(raw)) throw new ApiError(400, 'request body must be a JSON object');
  const model = raw.model;
  if (model !== undefined && model !== null && typeof model !== 'string') throw new ApiError(400, 'model must be a string');
  if (typeof model === 'string' && !served.names.includes(model)) throw new ApiError(404, `The model \`${model}\` does not exist.`);
  const promptTokens = kind === 'completions' ? promptTokensOf(raw.prompt) : messageTokens(raw.messages);
  const mtRaw = raw.max_tokens ?? (kind === 'chat' ? raw.max_completion_tokens : undefined);
  let maxTokens = served.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
  if (mtRaw !== undefined && mtRaw !== null) {
    if (!Number.isInteger(mtRaw) || (mtRaw as number) < 1) throw new ApiError(400, `max_tokens must be an integer ≥ 1, got ${JSON.stringify(mtRaw)}`);
    maxTokens = mtRaw as number;
  }
  const n = raw.n;
  if (n !== undefined && n !== null && n !== 1) throw new ApiError(400, 'n must be 1 (the reference engine returns one choice)');
  if (raw.use_beam_search === true) throw new ApiError(400, 'beam search is not supported');
  for (const k of ['temperature', 'top_p', 'top_k', 'min_p', 'presence_penalty', 'frequency_penalty', 'repetition_penalty', 'seed']) {
    const v = raw[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw new ApiError(400, `${k} must be a number`);
  }
  const stream = optBool(raw, 'stream') ?? false;
  const ignoreEos = optBool(raw, 'ignore_eos') ?? false;
  let includeUsage = false;
  let continuousUsage = false;
  const so = raw.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw new ApiError(400, 'Stream options can only be defined when `stream=True`.');
    if (!isObject(so)) throw new ApiError(400, 'stream_options must be an object');
    includeUsage = optBool(so, 'include_usage') ?? false;
    continuousUsage = includeUsage && (optBool(so, 'continuous_usage_stats') ?? false);
  }
  if (promptTokens + maxTokens > served.maxModelLen) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${served.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    );
  }
  return { kind, model: typeof model === 'string' ? model : undefined, promptTokens, maxTokens, stream, includeUsage, continuousUsage, ignoreEos };
}

const WORDS = ['the', 'of', 'and', 'to', 'in', 'a', 'is', 'that', 'for', 'it', 'as', 'was', 'with', 'be', 'by', 'on', 'not', 'he', 'this', 'are', 'or', 'his', 'from', 'at', 'which', 'but', 'have', 'an', 'had', 'they', 'you', 'were'];

/** Placeholder text of output token `index` of request number `seq` (deterministic, one word per token). */
export function tokenText(seq: number, index: number): string {
  return ` ${WORDS[(seq * 7 + index * 13) % WORDS.length]}`;
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens };
}

export interface StreamHead {
  id: string;
  created: number;
  model: string;
}

/** One streamed completions chunk (`object: text_completion`). */
export function completionChunk(h: StreamHead, text: string, finishReason: string | null, u?: Usage): string {
  const chunk: Record<string, unknown> = {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null }],
  };
  if (u) chunk.usage = u;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** The chat stream's opening chunk: the assistant role with empty content. */
export function chatRoleChunk(h: StreamHead, u?: Usage): string {
  const chunk: Record<string, unknown> = {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
  };
  if (u) chunk.usage = u;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export function chatChunk(h: StreamHead, text: string, finishReason: string | null, u?: Usage): string {
  const choice: Record<string, unknown> = { index: 0, delta: { content: text }, logprobs: null, finish_reason: finishReason };
  if (finishReason !== null) choice.stop_reason = null;
  const chunk: Record<string, unknown> = { id: h.id, object: 'chat.completion.chunk', created: h.created, model: h.model, choices: [choice] };
  if (u) chunk.usage = u;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** The final usage-only chunk sent when `stream_options.include_usage` is set. */
export function usageChunk(kind: ApiKind, h: StreamHead, u: Usage): string {
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return `data: ${JSON.stringify({ id: h.id, object, created: h.created, model: h.model, choices: [], usage: u })}\n\n`;
}

export const DONE = 'data: [DONE]\n\n';

export function completionResponse(h: StreamHead, text: string, finishReason: string, u: Usage): string {
  return JSON.stringify({
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null, prompt_logprobs: null }],
    usage: u,
  });
}

export function chatResponse(h: StreamHead, text: string, finishReason: string, u: Usage): string {
  return JSON.stringify({
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: finishReason, stop_reason: null }],
    usage: u,
    prompt_logprobs: null,
  });
}
