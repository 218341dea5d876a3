import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineCore } from '../../src/engine/engine-core.js';
import { EngineMetrics } from '../../src/engine/prometheus.js';
import { readSignals, recognised } from '../../src/replay/telemetry/metric-names.js';
import { parsePromText, parseSampleLine } from '../../src/replay/telemetry/prom-text.js';
import { counterIncrease, summarise, toPoint } from '../../src/replay/telemetry/timeline.js';
import { testCost } from '../engine/fixtures.js';

// Exposition as vLLM's V1 engine serves it (prometheus_client text 0.0.4): counters carry `_total`
// and a `_created` sample, one series per engine (`engine` label), cache config as an info gauge.
const VLLM_V1 = `# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 12053.0
python_gc_objects_collected_total{generation="1"} 1672.0
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 1.2287545344e+010
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
vllm:num_requests_running{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.0
vllm:num_requests_waiting{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4211
vllm:kv_cache_usage_perc{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.6032
# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
vllm:num_preemptions_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.0
vllm:num_preemptions_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7327e+09
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 40960.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12288.0
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",calculate_kv_scales="False",cpu_offload_gb="0",enable_prefix_caching="True",engine="0",gpu_memory_utilization="0.9",num_cpu_blocks="None",num_gpu_blocks="27434",num_gpu_blocks_override="None",prefix_caching_hash_algo="builtin",sliding_window="None",swap_space="4",swap_space_bytes="4294967296"} 1.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.005",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 31.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 31.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.61
# HELP vllm:kv_offload_total_bytes Number of bytes transferred by the KV offloading connector.
# TYPE vllm:kv_offload_total_bytes counter
vllm:kv_offload_total_bytes_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",transfer_type="CPU_to_GPU"} 1.073741824e+09
vllm:kv_offload_total_bytes_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",transfer_type="GPU_to_CPU"} 3.221225472e+09
# HELP vllm:kv_offload_total_time Seconds spent in KV offloading transfers.
# TYPE vllm:kv_offload_total_time counter
vllm:kv_offload_total_time_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",transfer_type="CPU_to_GPU"} 0.051
vllm:kv_offload_total_time_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",transfer_type="GPU_to_CPU"} 0.139
`;

// vLLM V0 (before 0.10): the KV usage gauge under its old name, and a prefix hit-rate gauge.
const VLLM_V0 = `# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="facebook/opt-125m"} 4.0
# HELP vllm:num_requests_swapped Number of requests swapped to CPU.
# TYPE vllm:num_requests_swapped gauge
vllm:num_requests_swapped{model_name="facebook/opt-125m"} 0.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="facebook/opt-125m"} 0.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="facebook/opt-125m"} 0.0123
# HELP vllm:gpu_prefix_cache_hit_rate GPU prefix cache block hit rate.
# TYPE vllm:gpu_prefix_cache_hit_rate gauge
vllm:gpu_prefix_cache_hit_rate{model_name="facebook/opt-125m"} 0.25
`;

// SGLang with --enable-metrics (docs.sglang.io, production metrics).
const SGLANG = `# HELP sglang:prompt_tokens_total Number of prefill tokens processed.
# TYPE sglang:prompt_tokens_total counter
sglang:prompt_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 8.128902e+06
# HELP sglang:generation_tokens_total Number of generation tokens processed.
# TYPE sglang:generation_tokens_total counter
sglang:generation_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.557572e+06
# HELP sglang:token_usage The token usage
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.28
# HELP sglang:cache_hit_rate The cache hit rate
# TYPE sglang:cache_hit_rate gauge
sglang:cache_hit_rate{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.007507552643049313
# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
# HELP sglang:num_queue_reqs The number of requests in the waiting queue.
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP sglang:num_retracted_requests_total The number of retracted requests.
# TYPE sglang:num_retracted_requests_total counter
sglang:num_retracted_requests_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
# HELP sglang:cached_tokens_total Number of cached prompt tokens.
# TYPE sglang:cached_tokens_total counter
sglang:cached_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 61033.0
# HELP sglang:max_total_num_tokens Maximum total number of tokens in the KV pool.
# TYPE sglang:max_total_num_tokens gauge
sglang:max_total_num_tokens{model_name="meta-llama/Llama-3.1-8B-Instruct"} 461924.0
`;

// TGI's router (metrics-exporter-prometheus): no HELP lines, unlabelled gauges.
const TGI = `# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 4
# TYPE tgi_queue_size gauge
tgi_queue_size 2
# TYPE tgi_request_count counter
tgi_request_count{method="POST",path="/generate_stream"} 118
`;

test('Prometheus text: samples, labels with escapes, NaN/Inf, timestamps, exemplars; non-samples are counted, never thrown', () => {
  assert.deepEqual(parseSampleLine('a_b:c{x="1",y="q\\"uote\\\\ \\n"} 2.5e+3 1712345678000'), { name: 'a_b:c', labels: { x: '1', y: 'q"uote\\ \n' }, value: 2500 });
  assert.deepEqual(parseSampleLine('up 1'), { name: 'up', labels: {}, value: 1 });
  assert.deepEqual(parseSampleLine('m{le="+Inf",} +Inf'), { name: 'm', labels: { le: '+Inf' }, value: Infinity });
  assert.ok(Number.isNaN(parseSampleLine('m NaN')!.value));
  assert.deepEqual(parseSampleLine('req_total{a="b"} 7 # {trace_id="x"} 1.0'), { name: 'req_total', labels: { a: 'b' }, value: 7 });
  for (const bad of ['<html>', 'm{x=1} 2', 'm{x="1" 2', 'm 1 2 3', 'm one', 'm', '1m 2', 'm{x="1"}2']) assert.equal(parseSampleLine(bad), null, bad);
  const p = parsePromText('<!doctype html>\n<html><body>Not Found</body></html>\n');
  assert.equal(p.samples.length, 0);
  assert.equal(p.badLines, 2);
  const v = parsePromText(VLLM_V1.replace(/\n/g, '\r\n'));
  assert.equal(v.badLines, 0);
  assert.equal(v.types.get('vllm:time_to_first_token_seconds'), 'histogram');
  assert.equal(v.samples.filter((s) => s.name === 'vllm:time_to_first_token_seconds_bucket').length, 3);
});

test('metric names: vLLM V1 (engines summed, fullest KV kept, offload by direction, capacity from cache_config_info)', () => {
  const r = readSignals(parsePromText(VLLM_V1));
  assert.equal(r.engine, 'vllm');
  assert.equal(r.running, 5);
  assert.equal(r.waiting, 1);
  assert.equal(r.kvUsage, 0.6032);
  assert.equal(r.preemptionsTotal, 8);
  assert.equal(r.prefixHitsTotal, 12288);
  assert.equal(r.prefixQueriesTotal, 40960);
  assert.equal(r.offloadBytesToGpuTotal, 1073741824);
  assert.equal(r.offloadBytesToHostTotal, 3221225472);
  assert.equal(r.offloadSecondsToGpuTotal, 0.051);
  assert.equal(r.offloadSecondsToHostTotal, 0.139);
  assert.equal(r.kvCapacityTokens, 27434 * 16);
  assert.equal(r.kvCapacityLayerBlocks, null);
});

test('metric names: vLLM V0 spellings, SGLang, TGI', () => {
  const v0 = readSignals(parsePromText(VLLM_V0));
  assert.deepEqual([v0.engine, v0.running, v0.waiting, v0.kvUsage, v0.prefixHitRate, v0.preemptionsTotal], ['vllm', 4, 0, 0.0123, 0.25, null]);
  const sg = readSignals(parsePromText(SGLANG));
  assert.deepEqual([sg.engine, sg.running, sg.waiting, sg.kvUsage, sg.preemptionsTotal, sg.prefixHitsTotal, sg.prefixQueriesTotal, sg.prefixHitRate, sg.kvCapacityTokens], [
    'sglang', 12, 3, 0.28, 2, 61033, 8128902, 0.007507552643049313, 461924,
  ]);
  const tgi = readSignals(parsePromText(TGI));
  assert.deepEqual([tgi.engine, tgi.running, tgi.waiting, tgi.kvUsage], ['tgi', 4, 2, null]);
  assert.ok(recognised(tgi));
  assert.ok(!recognised(readSignals(parsePromText('process_cpu_seconds_total 12.5\n'))), 'a /metrics of no serving engine is not telemetry');
});

test("metric names: the reference engine's own /metrics text, rendered by its EngineMetrics", () => {
  const core = new EngineCore({ cost: testCost(), policy: 'gpu-only', budgetBlocks: 4096, seed: 1 });
  for (let i = 0; i < 3; i++) core.submit({ id: `r${i}`, arrivalMs: 0, promptTokens: 200, outputTokens: 4 });
  const metrics = new EngineMetrics();
  core.onStep((b) => metrics.observe(b));
  const plan = core.prepareStep(0)!;
  core.commitStep(plan, plan.endMs);
  const text = parsePromText(metrics.render(core));
  assert.equal(text.badLines, 0);
  const r = readSignals(text);
  assert.equal(r.engine, 'orbitflow');
  assert.equal(r.running, core.runningCount);
  assert.equal(r.waiting, core.waitingCount);
  assert.equal(r.kvUsage, core.gpuUsed / 4096);
  assert.equal(r.kvCapacityLayerBlocks, 4096);
  assert.equal(r.preemptionsTotal, 0);
});

test('timeline summary: peaks, whether the engine queued, counter increases across a restart', () => {
  const pts = [
    toPoint(0, { engine: 'vllm', running: 1, waiting: 0, kvUsage: 0.1, preemptionsTotal: 10, prefixHitsTotal: null, prefixQueriesTotal: null, prefixHitRate: null, offloadBytesToGpuTotal: null, offloadBytesToHostTotal: null, offloadSecondsToGpuTotal: null, offloadSecondsToHostTotal: null, kvCapacityTokens: 1000, kvCapacityLayerBlocks: null }),
    { t_s: 1, running: 6, waiting: 2, kv_usage: 0.9, preemptions_total: 13 },
    { t_s: 2, running: 3, waiting: 0, kv_usage: 0.5, preemptions_total: 2 },
  ];
  assert.equal(counterIncrease(pts, 'preemptions_total'), 3 + 2);
  const s = summarise(pts, { tokens: 1000, layerBlocks: null });
  assert.deepEqual([s.peak_running, s.peak_waiting, s.ever_queued, s.peak_kv_usage, s.preemptions, s.kv_offload_bytes], [6, 2, true, 0.9, 5, null]);
  assert.deepEqual(s.kv_capacity, { tokens: 1000, layer_blocks: null });
  assert.equal(summarise([{ t_s: 0, running: 2 }], { tokens: null, layerBlocks: null }).ever_queued, null, 'no waiting gauge: unknown, not "never"');
});
