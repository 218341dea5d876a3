import type { Endpoint } from '../core/endpoint.js';
import { OrbitflowError } from '../core/errors.js';
import { answerJson, httpCall, type HttpCallError } from '../core/http-call.js';

export { parseEndpoint, type Endpoint } from '../core/endpoint.js';

export interface ProbeResult {
  status: number;
  modelIds: string[];
}

/**
 * One quick `GET /v1/models`: proves the endpoint answers (any HTTP status does) and names the
 * served models. No answer within `timeoutMs` → exit 3; a redirect → exit 2 (never followed).
 */
export async function probeEndpoint(ep: Endpoint, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  let answer;
  try {
    answer = await httpCall(ep, { method: 'GET', path: '/v1/models', headers, timeoutMs, maxBodyBytes: 1 << 20 });
  } catch (e) {
    const err = e as HttpCallError;
    if (err.kind === 'redirect') {
      throw new OrbitflowError('OF_REPLAY_REDIRECT', `endpoint ${ep.display}: ${err.message}`, { context: { endpoint: ep.display }, hint: 'give the final URL as --endpoint' });
    }
    throw new OrbitflowError('OF_REPLAY_UNREACHABLE', `endpoint ${ep.display} is unreachable: ${err.kind === 'timeout' ? `no answer to GET /v1/models within ${timeoutMs} ms` : err.message.replace(/^GET \/v1\/models: /, '')}`, {
      context: { endpoint: ep.display },
      hint: 'start the server first, or check --endpoint',
    });
  }
  let modelIds: string[] = [];
  if (answer.status === 200) {
    const body = answerJson(answer) as { data?: Array<{ id?: unknown }> } | undefined;
    modelIds = Array.isArray(body?.data) ? body.data.map((m) => m?.id).filter((id): id is string => typeof id === 'string') : [];
  }
  return { status: answer.status, modelIds };
}
