import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getModel } from '../../src/core/model-catalogue.js';
import { startEngineServer, type EngineServer } from '../../src/engine/server.js';
import { getJson, http, sseData, SseStream, until } from './http-client.js';
import { testProfile } from './fixtures.js';

const model = getModel('llama-3.1-8b');
let srv: EngineServer;

before(async () => {
  srv = await startEngineServer({ model, profile: testProfile(), gpuKvGib: 4, policy: 'external', timeScale: 25, noiseCv: 0.05, seed: 1 });
});
after(async () => {
  await srv.close();
});

const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => 100 + i);

test('the server listens on loopback and answers health and models', async () => {
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(srv.port > 0);
  const h = await http('GET', `${srv.url}/health`);
  assert.equal(h.status, 200);
  const m = await getJson(`${srv.url}/v1/models`);
  assert.equal(m.object, 'list');
  assert.equal(m.data[0].id, model.name);
  assert.equal(m.data[0].object, 'model');
  assert.equal(m.data[0].max_model_len, model.maxContextTokens);
});

test('streaming completions: chunks shaped like vLLM, field by field, then usage and [DONE]', async () => {
  const r = await http('POST', `${srv.url}/v1/completions`, { model: model.name, prompt: ids(37), max_tokens: 6, stream: true, stream_options: { include_usage: true }, ignore_eos: true, temperature: 0 });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  const data = sseData(r.text);
  assert.equal(data.at(-1), '[DONE]');
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.equal(chunks.length, 7);
  const content = chunks.slice(0, 6);
  for (const [i, c] of content.entries()) {
    assert.deepEqual(Object.keys(c), ['id', 'object', 'created', 'model', 'choices']);
    assert.match(c.id, /^cmpl-[0-9a-f]+$/);
    assert.equal(c.id, chunks[0].id);
    assert.equal(c.object, 'text_completion');
    assert.equal(typeof c.created, 'number');
    assert.equal(c.model, model.name);
    assert.equal(c.choices.length, 1);
    assert.deepEqual(Object.keys(c.choices[0]), ['index', 'text', 'logprobs', 'finish_reason', 'stop_reason']);
    assert.equal(c.choices[0].index, 0);
    assert.equal(typeof c.choices[0].text, 'string');
    assert.ok(c.choices[0].text.length > 0);
    assert.equal(c.choices[0].logprobs, null);
    assert.equal(c.choices[0].stop_reason, null);
    assert.equal(c.choices[0].finish_reason, i === 5 ? 'length' : null);
  }
  const u = chunks[6];
  assert.deepEqual(Object.keys(u), ['id', 'object', 'created', 'model', 'choices', 'usage']);
  assert.equal(u.object, 'text_completion');
  assert.deepEqual(u.choices, []);
  // Token-ID prompts count exactly.
  assert.deepEqual(u.usage, { prompt_tokens: 37, total_tokens: 43, completion_tokens: 6 });
});

test('continuous usage stats ride on every chunk; text prompts count one token per word', async () => {
  const r = await http('POST', `${srv.url}/v1/completions`, { prompt: 'the quick  brown\nfox jumps', max_tokens: 3, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
  const chunks = sseData(r.text).slice(0, -1).map((d) => JSON.parse(d));
  assert.deepEqual(chunks.map((c) => c.usage), [
    { prompt_tokens: 5, total_tokens: 6, completion_tokens: 1 },
    { prompt_tokens: 5, total_tokens: 7, completion_tokens: 2 },
    { prompt_tokens: 5, total_tokens: 8, completion_tokens: 3 },
    { prompt_tokens: 5, total_tokens: 8, completion_tokens: 3 },
  ]);
});

test('chat streaming opens with the role-only delta, then content deltas, then [DONE]', async () => {
  const r = await http('POST', `${srv.url}/v1/chat/completions`, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hello there' }] }], max_tokens: 4, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
  assert.equal(r.status, 200);
  const data = sseData(r.text);
  assert.equal(data.at(-1), '[DONE]');
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.equal(chunks.length, 1 + 4 + 1);
  const role = chunks[0];
  assert.match(role.id, /^chatcmpl-/);
  assert.equal(role.object, 'chat.completion.chunk');
  assert.deepEqual(role.choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  assert.deepEqual(role.usage, { prompt_tokens: 4, total_tokens: 4, completion_tokens: 0 });
  for (const [i, c] of chunks.slice(1, 5).entries()) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.deepEqual(Object.keys(c.choices[0].delta), ['content']);
    assert.equal(c.choices[0].finish_reason, i === 3 ? 'length' : null);
    if (i === 3) assert.equal(c.choices[0].stop_reason, null);
    else assert.ok(!('stop_reason' in c.choices[0]));
    assert.equal(c.usage.completion_tokens, i + 1);
  }
  assert.deepEqual(chunks[5].choices, []);
  assert.deepEqual(chunks[5].usage, { prompt_tokens: 4, total_tokens: 8, completion_tokens: 4 });
});

test('non-streaming completions and chat return one object with usage', async () => {
  const c = await http('POST', `${srv.url}/v1/completions`, { prompt: 'a b c', max_tokens: 5 });
  assert.equal(c.status, 200);
  const body = JSON.parse(c.text);
  assert.equal(body.object, 'text_completion');
  assert.equal(body.choices[0].finish_reason, 'length');
  assert.equal(body.choices[0].text.trim().split(/\s+/).length, 5);
  assert.deepEqual(body.usage, { prompt_tokens: 3, total_tokens: 8, completion_tokens: 5 });
  const ch = JSON.parse((await http('POST', `${srv.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }] })).text);
  assert.equal(ch.object, 'chat.completion');
  assert.equal(ch.choices[0].message.role, 'assistant');
  // max_tokens defaults to 16.
  assert.equal(ch.usage.completion_tokens, 16);
});

test('bad bodies get a clean 400 error object; unknown models and routes 404', async () => {
  const cases: [string, unknown][] = [
    ['/v1/completions', '{not json'],
    ['/v1/completions', {}],
    ['/v1/completions', { prompt: [] }],
    ['/v1/completions', { prompt: 'x', max_tokens: 0 }],
    ['/v1/completions', { prompt: 'x', max_tokens: 2.5 }],
    ['/v1/completions', { prompt: 'x', stream_options: { include_usage: true } }],
    ['/v1/completions', { prompt: 'x', n: 2 }],
    ['/v1/completions', { prompt: 'x', stream: 'yes' }],
    ['/v1/completions', { prompt: ['a', 'b'] }],
    ['/v1/completions', { prompt: ids(10), max_tokens: model.maxContextTokens }],
    ['/v1/chat/completions', { messages: [] }],
    ['/v1/chat/completions', { messages: [{ content: 'no role' }] }],
    ['/v1/completions', [1, 2]],
  ];
  for (const [path, body] of cases) {
    const r = await http('POST', `${srv.url}${path}`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    // The OpenAI error object, as the official SDKs read it.
    const answer = JSON.parse(r.text);
    assert.deepEqual(Object.keys(answer), ['error']);
    assert.deepEqual(Object.keys(answer.error), ['message', 'type', 'param', 'code']);
    assert.equal(answer.error.type, 'BadRequestError');
    assert.equal(answer.error.code, 400);
    assert.equal(typeof answer.error.message, 'string');
  }
  const m = await http('POST', `${srv.url}/v1/completions`, { model: 'gpt-4', prompt: 'x' });
  assert.equal(m.status, 404);
  assert.equal(JSON.parse(m.text).error.type, 'NotFoundError');
  assert.equal((await http('GET', `${srv.url}/v2/nothing`)).status, 404);
  assert.equal((await http('GET', `${srv.url}/v1/completions`)).status, 405);
});

test('a client that disconnects mid-stream is cancelled and its KV freed', async () => {
  const s = await SseStream.open('POST', `${srv.url}/v1/completions`, { prompt: ids(2000), max_tokens: 5000, stream: true });
  const first = await s.next();
  const id = first.id as string;
  const state = await getJson(`${srv.url}/orbitflow/v1/state`);
  assert.ok(state.requests.some((r: { id: string }) => r.id === id));
  const abortedBefore = state.counters.aborted;
  s.close();
  const gone = await until('the request to leave the engine', async () => {
    const st = await getJson(`${srv.url}/orbitflow/v1/state`);
    return st.requests.some((r: { id: string }) => r.id === id) ? null : st;
  });
  assert.equal(gone.counters.aborted, abortedBefore + 1);
  assert.equal(srv.core.get(id), undefined, 'the engine still holds the cancelled request');
  assert.equal(gone.gpu_blocks.used, 0);
  assert.equal(gone.host_blocks.used, 0);
});

test('metrics are Prometheus text with the engine gauges and counters', async () => {
  const r = await http('GET', `${srv.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  for (const name of ['orbitflow:num_requests_running', 'orbitflow:num_requests_waiting', 'orbitflow:num_requests_paused', 'orbitflow:gpu_kv_blocks_used', 'orbitflow:host_kv_blocks_used', 'orbitflow:h2d_fetched_bytes_total', 'orbitflow:num_preemptions_total']) {
    assert.match(r.text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'), name);
    assert.match(r.text, new RegExp(`^${name}\\{model_name="[^"]+"\\} \\d+(\\.\\d+)?(e[+-]?\\d+)?$`, 'm'), name);
  }
  const buckets = [...r.text.matchAll(/^orbitflow:step_time_seconds_bucket\{[^}]*le="([^"]+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
  assert.ok(buckets.length > 5);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'histogram buckets must be cumulative');
  const count = Number(/^orbitflow:step_time_seconds_count\{[^}]*\} (\d+)$/m.exec(r.text)![1]);
  assert.equal(buckets.at(-1), count);
  assert.ok(count > 0);
});

test('control protocol round trip: state → placement → events and state reflect it; stale, unknown, over-budget and malformed plans are refused', async () => {
  // A small budget: the request fits only with some layers offloaded. Real time (scale 1) and a
  // 50-step staleness bound leave ~0.5 s for each state → plan round trip, even on a loaded machine.
  const small = await startEngineServer({ model, profile: testProfile(), gpuKvBlocks: 5000, policy: 'external', timeScale: 1, stalenessSteps: 50, seed: 2 });
  const step = async (): Promise<number> => (await getJson(`${small.url}/orbitflow/v1/state`)).step as number;
  try {
    const events = await SseStream.open('GET', `${small.url}/orbitflow/v1/events`);
    const gen = await SseStream.open('POST', `${small.url}/v1/completions`, { prompt: ids(3000), max_tokens: 3000, stream: true });
    const id = (await gen.next()).id as string;
    const st = await until('two decode steps', async () => {
      const s = await getJson(`${small.url}/orbitflow/v1/state`);
      const r = s.requests.find((x: { id: string }) => x.id === id);
      return r && r.generated_tokens >= 3 ? s : null;
    });
    assert.equal(st.protocol, 'orbitflow.control/v1');
    assert.equal(st.layers, 32);
    assert.equal(st.block_tokens, 16);
    assert.equal(st.gpu_blocks.total, 5000);
    const req = st.requests.find((x: { id: string }) => x.id === id);
    // The dynamic rule (before any plan): ⌊5000 / (188 + 2)⌋ = 26 GPU layers → 6 to offload → d = ⌊32/6⌋ − 1 = 4.
    assert.equal(req.placement.distance, 4);
    assert.equal(req.placement.offloaded_layers.length, 6);
    assert.equal(req.state, 'running');
    assert.equal(req.paused, false);
    assert.equal(typeof req.last_token_ms, 'number');

    // Over budget: all layers on the GPU need 32 × 189 blocks.
    const over = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: await step(), placements: [{ id, distance: -1 }] });
    assert.equal(over.status, 409);
    assert.equal(JSON.parse(over.text).reason, 'over-budget');
    // Unknown id.
    const unknown = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: await step(), placements: [{ id: 'cmpl-nope', distance: 3 }] });
    assert.equal(unknown.status, 409);
    assert.equal(JSON.parse(unknown.text).reason, 'unknown-id');
    // Malformed.
    for (const bad of [{ placements: [] }, { based_on_step: -1 }, { based_on_step: 1, placements: [{ id, distance: 1, layers: [1] }] }, { based_on_step: 1, placements: {} }, { based_on_step: 1, extra: 1 }, { based_on_step: 1, placements: [], defer: 'x' }, { based_on_step: 1, placements: [], defer: [1] }]) {
      const r = await http('PUT', `${small.url}/orbitflow/v1/placement`, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }

    // A plan that fits: distance 3 (8 layers offloaded).
    const now = await getJson(`${small.url}/orbitflow/v1/state`);
    const ok = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: now.step, placements: [{ id, distance: 3 }] });
    assert.equal(ok.status, 200, ok.text);
    const applied = JSON.parse(ok.text).applied_at_step as number;
    assert.ok(applied > now.step);
    let ev = await events.next();
    while (ev && !(ev.step >= applied && ev.kind === 'decode')) ev = await events.next();
    assert.ok(ev, 'the event stream ended before the applied step');
    assert.ok(ev.batch_ids.includes(id));
    for (const k of ['step', 'time_ms', 'step_ms', 'predicted_ms', 'compute_ms', 'transfer_ms', 'stall_ms', 'batch_ids']) assert.ok(k in ev, k);
    // 8 offloaded layers of ~3000 tokens (188+ blocks of 64 KiB each) are fetched every step.
    assert.ok(ev.bytes_fetched >= 8 * 188 * 65536 && ev.bytes_fetched <= 8 * 200 * 65536, `fetched ${ev.bytes_fetched}`);
    assert.ok(ev.compute_ms > 0 && ev.step_ms > 0 && ev.predicted_ms >= ev.compute_ms);
    const after = await getJson(`${small.url}/orbitflow/v1/state`);
    const ra = after.requests.find((x: { id: string }) => x.id === id);
    assert.equal(ra.placement.distance, 3);
    assert.deepEqual(ra.placement.offloaded_layers, [3, 7, 11, 15, 19, 23, 27, 31]);
    assert.equal(ra.gpu_layers, 24);

    // Stale: based on a step more than 50 steps back.
    await until('the engine to move on', async () => (await step()) > now.step + 51);
    const stale = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: now.step, placements: [{ id, distance: 5 }] });
    assert.equal(stale.status, 409);
    assert.equal(JSON.parse(stale.text).reason, 'stale');

    // Pause and resume through the protocol (a second request keeps the engine busy, or it would
    // resume the paused one by itself: nothing else to run). Offload more first to make room for it.
    const room = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: await step(), placements: [{ id, distance: 1 }] });
    assert.equal(room.status, 200, room.text);
    const other = await SseStream.open('POST', `${small.url}/v1/completions`, { prompt: ids(500), max_tokens: 3000, stream: true });
    await other.next();
    const s2 = await getJson(`${small.url}/orbitflow/v1/state`);
    const p = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: s2.step, placements: [], pause: [id] });
    assert.equal(p.status, 200, p.text);
    const paused = await getJson(`${small.url}/orbitflow/v1/state`);
    const rp = paused.requests.find((x: { id: string }) => x.id === id);
    assert.equal(rp.paused, true);
    assert.equal(rp.state, 'paused');
    assert.equal(rp.gpu_blocks, 0);
    assert.equal(paused.gpu_blocks.used, paused.requests.reduce((n: number, x: { gpu_blocks: number }) => n + x.gpu_blocks, 0));
    const layers = Array.from({ length: 20 }, (_, i) => i);
    const r = await http('PUT', `${small.url}/orbitflow/v1/placement`, { based_on_step: paused.step, placements: [{ id, layers }], resume: [id] });
    assert.equal(r.status, 200, r.text);
    const resumed = (await getJson(`${small.url}/orbitflow/v1/state`)).requests.find((x: { id: string }) => x.id === id);
    assert.equal(resumed.state, 'running');
    assert.equal(resumed.placement.distance, null);
    assert.deepEqual(resumed.placement.offloaded_layers, layers);
    gen.close();
    other.close();
    events.close();
  } finally {
    await small.close();
  }
});
