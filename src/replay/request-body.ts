import type { TraceRequest } from '../core/trace-request.js';
import { promptText, promptTokenIds, type PromptMode } from './prompt.js';

export type ApiKind = 'completions' | 'chat';

export interface BodyOptions {
  api: ApiKind;
  prompt: PromptMode;
  model: string;
  seed: number;
  hashBlockTokens?: number;
}

export function apiPath(api: ApiKind): string {
  return api === 'chat' ? '/v1/chat/completions' : '/v1/completions';
}

/**
 * The request body: streaming with usage on every message (continuous usage lets TBT split
 * bundled messages into tokens), exactly `outputTokens` tokens (max_tokens + ignore_eos), greedy.
 */
export function buildRequestBody(req: TraceRequest, opts: BodyOptions): Buffer {
  const head = {
    model: opts.model,
    max_tokens: req.outputTokens,
    stream: true,
    stream_options: { include_usage: true, continuous_usage_stats: true },
    ignore_eos: true,
    temperature: 0,
  };
  const headJson = JSON.stringify(head);
  let promptJson: string;
  if (opts.api === 'chat') {
    promptJson = `"messages":${JSON.stringify([{ role: 'user', content: promptText(req, opts.seed, opts.hashBlockTokens) }])}`;
  } else if (opts.prompt === 'token-ids') {
    // Int32Array.join avoids a boxed intermediate array for 10k+ token prompts.
    promptJson = `"prompt":[${promptTokenIds(req, opts.seed, opts.hashBlockTokens).join(',')}]`;
  } else {
    promptJson = `"prompt":${JSON.stringify(promptText(req, opts.seed, opts.hashBlockTokens))}`;
  }
  return Buffer.from(`${headJson.slice(0, -1)},${promptJson}}`, 'utf8');
}
