// orbitflow probe: `decode` — per-layer decode time over a batch × context grid (attention over
// paged KV plus the layer's dense GEMMs), the dense part alone per batch size, device memory
// bandwidth (copy kernel) and a large GEMM's throughput with the same kernel.
#include "kernels.cuh"
#include "sections.cuh"

namespace probe {
namespace decode_impl {

constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kGiB = 1024 * kMiB;

RepeatPlan planFor(bool quick) {
  RepeatPlan p;
  p.warmup = 3;
  p.minReps = quick ? 5 : 10;
  p.maxReps = quick ? 60 : 200;
  p.minTotalMs = quick ? 20 : 60;
  return p;
}

}  // namespace decode_impl

void decodeSection(Json& j, const RunOptions& o) {
  using namespace decode_impl;
  const ModelShape& m = o.model;
  const std::vector<int> batches = o.quick ? std::vector<int>{1, 4, 16, 64} : std::vector<int>{1, 2, 4, 8, 16, 32, 64};
  const std::vector<int> contexts = o.quick ? std::vector<int>{512, 4096, 16384} : std::vector<int>{256, 1024, 4096, 16384, 32768};
  const int maxBatch = batches.back();
  Stream s;
  j.key("decode").beginObject();

  // Memory bandwidth reference: a copy kernel reads and writes every byte once.
  const int steps = (int)(batches.size() * (1 + contexts.size())) + 2;
  int step = 0;
  progress("decode", ++step, steps, "device memory bandwidth");
  {
    const size_t bytes = o.quick ? 256 * kMiB : 1 * kGiB;
    DeviceBuffer<unsigned char> a(bytes), b(bytes);
    CK(cudaMemsetAsync(a.get(), 1, bytes, s));
    const Samples kernel = timeEvents(s, planFor(o.quick), [&] { launchCopyKernel(a.get(), b.get(), bytes, s); });
    const Samples memcpyD2D = timeEvents(s, planFor(o.quick), [&] { CK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, s)); });
    j.key("hbm").beginObject();
    j.kvInt("bytes", (long long)bytes).kv("counted", "read + write");
    j.kvNum("gib_per_s", gibPerS(2.0 * bytes, kernel.median())).kvNum("best_gib_per_s", gibPerS(2.0 * bytes, kernel.best()));
    j.kvNum("memcpy_d2d_gib_per_s", gibPerS(2.0 * bytes, memcpyD2D.median()));
    j.endObject();
  }

  DenseLayer dense(m, maxBatch, s);
  CK(cudaStreamSynchronize(s));
  j.kvInt("dense_weight_bytes_per_layer", (long long)dense.weightBytes());
  const DenseShape& ds = dense.shape();
  j.key("dense_shapes").beginObject();
  j.kv("qkv", std::to_string(ds.qkvN) + "x" + std::to_string(ds.qkvK)).kv("o", std::to_string(ds.oN) + "x" + std::to_string(ds.oK));
  j.kv("gate_up", std::to_string(ds.guN) + "x" + std::to_string(ds.guK)).kv("down", std::to_string(ds.downN) + "x" + std::to_string(ds.downK));
  j.endObject();

  std::vector<double> denseMs(batches.size());
  j.key("dense").beginArray();
  for (size_t i = 0; i < batches.size(); ++i) {
    progress("decode", ++step, steps, "dense GEMMs, batch " + std::to_string(batches[i]));
    const Samples t = timeEvents(s, planFor(o.quick), [&] { dense.run(batches[i], s); });
    denseMs[i] = t.median();
    j.beginObject().kvInt("batch", batches[i]).kvNum("ms", t.median()).kvNum("best_ms", t.best()).kvInt("reps", (long long)t.size()).endObject();
  }
  j.endArray();

  // Keep the KV of the largest cell within a share of what is free after the weights.
  const size_t kvCap = std::min<size_t>(8 * kGiB, (size_t)(0.35 * (double)freeDeviceBytes()));
  struct Cell {
    int batch, context;
  };
  std::vector<Cell> cells, skipped;
  size_t maxPoolBlocks = 0;
  int maxContext = 1;
  for (int b : batches) {
    for (int c : contexts) {
      const size_t blocks = (size_t)b * blocksFor(c);
      if (blocks * m.blockBytes() > kvCap) {
        skipped.push_back({b, c});
        continue;
      }
      cells.push_back({b, c});
      maxPoolBlocks = std::max(maxPoolBlocks, blocks);
      maxContext = std::max(maxContext, c);
    }
  }
  AttentionBatch attn(m, maxBatch, maxContext, std::max<size_t>(maxPoolBlocks, 1), 1, s);
  Rng rng(kSeed);
  j.kvInt("kv_cap_bytes", (long long)kvCap);
  j.key("grid").beginArray();
  for (const Cell& c : cells) {
    progress("decode", ++step, steps, "batch " + std::to_string(c.batch) + " × " + std::to_string(c.context) + " tokens");
    std::vector<int> lens(c.batch, c.context);
    attn.upload(lens, {scatteredTable(lens, attn.poolBlocks(), rng)});
    const Samples attention = timeEvents(s, planFor(o.quick), [&] { attn.run(0, s); });
    const Samples layer = timeEvents(s, planFor(o.quick), [&] {
      attn.run(0, s);
      dense.run(c.batch, s);
    });
    const size_t bi = std::find(batches.begin(), batches.end(), c.batch) - batches.begin();
    j.beginObject();
    j.kvInt("batch", c.batch).kvInt("context_per_seq", c.context).kvInt("context_tokens", (long long)c.batch * c.context);
    j.kvNum("layer_ms", layer.median()).kvNum("layer_best_ms", layer.best()).kvInt("reps", (long long)layer.size());
    j.kvNum("attention_ms", attention.median()).kvNum("dense_ms", denseMs[bi]);
    j.endObject();
  }
  j.endArray();
  step += (int)skipped.size();
  j.key("skipped").beginArray();
  for (const Cell& c : skipped) {
    j.beginObject().kvInt("batch", c.batch).kvInt("context_per_seq", c.context).kv("reason", "KV of the cell exceeds kv_cap_bytes").endObject();
  }
  j.endArray();

  // The same GEMM kernel at a prefill-like shape: a lower bound on dense throughput (it is not
  // a tuned library GEMM), used only when no datasheet figure is known for the GPU.
  progress("decode", ++step, steps, "GEMM throughput at a prefill shape");
  {
    const int gm = 2048, gn = roundUp16(m.hidden), gk = roundUp16(m.hidden);
    DeviceBuffer<uint16_t> x((size_t)gemmPaddedRows(gm) * gk), w((size_t)gn * gk), y((size_t)gm * gn);
    launchFillRandom(x.get(), x.size(), m.dtype, 31, 1.0f, s);
    launchFillRandom(w.get(), w.size(), m.dtype, 32, 0.02f, s);
    const Samples t = timeEvents(s, planFor(o.quick), [&] { launchGemm(x.get(), w.get(), y.get(), gm, gn, gk, m.dtype, s); });
    j.key("gemm").beginObject();
    j.kvInt("m", gm).kvInt("n", gn).kvInt("k", gk).kv("kernel", "probe WMMA skinny GEMM (not a tuned library GEMM)");
    j.kvNum("ms", t.median()).kvNum("tflops", 2.0 * gm * gn * gk / (t.median() / 1000.0) / 1e12);
    j.endObject();
  }
  j.endObject();
}

}  // namespace probe
