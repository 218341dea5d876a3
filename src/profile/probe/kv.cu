// orbitflow probe: `kv` — KV-shaped host→device transfers: one layer of one request's 16-token
// blocks, scattered in a pinned host pool, fetched as one cudaMemcpyAsync per block
// ("memcpy-batch") or by a gather kernel reading mapped host memory ("gather-kernel"), next to one
// contiguous copy of the same bytes; then H2D while decode attention runs on another stream.
#include "kernels.cuh"
#include "sections.cuh"

namespace probe {
namespace kv_impl {

constexpr size_t kMiB = 1024 * 1024;

uint32_t patternWord(size_t block, size_t word) { return static_cast<uint32_t>(block * 2654435761u) ^ static_cast<uint32_t>(word * 40503u + 7u); }

void writeTiming(Json& j, const char* key, double bytes, const Samples& ms) {
  j.key(key).beginObject();
  j.kvInt("reps", (long long)ms.size()).kvNum("median_us", ms.median() * 1000).kvNum("best_us", ms.best() * 1000);
  j.kvNum("gib_per_s", gibPerS(bytes, ms.median())).kvNum("best_gib_per_s", gibPerS(bytes, ms.best()));
  j.endObject();
}

RepeatPlan planFor(bool quick) {
  RepeatPlan p;
  p.warmup = 2;
  p.minReps = quick ? 3 : 7;
  p.maxReps = quick ? 40 : 150;
  p.minTotalMs = quick ? 20 : 80;
  return p;
}

}  // namespace kv_impl

void kvSection(Json& j, const RunOptions& o) {
  using namespace kv_impl;
  const ModelShape& m = o.model;
  const size_t bb = m.blockBytes();
  std::vector<int> tokens = o.quick ? std::vector<int>{16, 128, 1024, 4096, 16384} : std::vector<int>{16, 64, 256, 1024, 4096, 16384, 65536};
  while (!tokens.empty() && (size_t)blocksFor(tokens.back()) * bb > 1024 * kMiB) tokens.pop_back();
  const int maxBlocks = blocksFor(tokens.back());
  // Twice the largest request, so its blocks are spread over a pool larger than itself.
  const size_t poolBlocks = std::max<size_t>(2 * (size_t)maxBlocks, 1024);
  PinnedBuffer pool(poolBlocks * bb, cudaHostAllocMapped);
  for (size_t b = 0; b < poolBlocks; ++b) {
    uint32_t* w = reinterpret_cast<uint32_t*>(pool.get() + b * bb);
    for (size_t i = 0; i < bb / 4; ++i) w[i] = patternWord(b, i);
  }
  void* poolDev = nullptr;
  CK(cudaHostGetDevicePointer(&poolDev, pool.get(), 0));
  DeviceBuffer<unsigned char> staging((size_t)maxBlocks * bb);
  Rng rng(kSeed);
  const std::vector<int> perm = rng.permutation((int)poolBlocks);
  DeviceBuffer<int> index(maxBlocks);
  CK(cudaMemcpy(index.get(), perm.data(), maxBlocks * sizeof(int), cudaMemcpyHostToDevice));
  Stream s, s2;

  // Copies the request's blocks back and compares them with the host pool.
  std::vector<unsigned char> check;
  auto verify = [&](int nb, const char* method) {
    check.resize((size_t)nb * bb);
    CK(cudaStreamSynchronize(s));
    CK(cudaMemcpy(check.data(), staging.get(), (size_t)nb * bb, cudaMemcpyDeviceToHost));
    for (int i = 0; i < nb; ++i) {
      if (memcmp(check.data() + (size_t)i * bb, pool.get() + (size_t)perm[i] * bb, bb) != 0) {
        failWith("kv_copy_mismatch", std::string(method) + ": block " + std::to_string(i) + " differs from its host copy", method, "a copy kernel or the copy path is broken: report it", kExitCheck);
      }
    }
  };
  auto memcpyBatch = [&](int nb, cudaStream_t st) {
    for (int i = 0; i < nb; ++i) CK(cudaMemcpyAsync(staging.get() + (size_t)i * bb, pool.get() + (size_t)perm[i] * bb, bb, cudaMemcpyHostToDevice, st));
  };

  const int steps = (int)tokens.size() + 2;
  int step = 0;
  j.key("kv").beginObject();
  j.kvInt("block_bytes", (long long)bb).kvInt("block_tokens", kBlockTokens).kvInt("host_pool_blocks", (long long)poolBlocks).kvInt("seed", (long long)kSeed);
  j.key("points").beginArray();
  for (int t : tokens) {
    const int nb = blocksFor(t);
    const double bytes = (double)nb * bb;
    progress("kv", ++step, steps, std::to_string(t) + " tokens (" + std::to_string(nb) + " blocks)");
    double enqueueMs = 0;
    int enqueues = 0;
    Samples batch = timeEvents(s, planFor(o.quick), [&] {
      const double t0 = hostNowMs();
      memcpyBatch(nb, s);
      enqueueMs += hostNowMs() - t0;
      ++enqueues;
    });
    CK(cudaMemsetAsync(staging.get(), 0, (size_t)nb * bb, s));
    memcpyBatch(nb, s);
    verify(nb, "memcpy-batch");

    Samples gather = timeEvents(s, planFor(o.quick), [&] { launchGatherBlocks(poolDev, index.get(), staging.get(), nb, bb, s); });
    CK(cudaMemsetAsync(staging.get(), 0, (size_t)nb * bb, s));
    launchGatherBlocks(poolDev, index.get(), staging.get(), nb, bb, s);
    verify(nb, "gather-kernel");

    Samples contiguous = timeEvents(s, planFor(o.quick), [&] { CK(cudaMemcpyAsync(staging.get(), pool.get(), (size_t)nb * bb, cudaMemcpyHostToDevice, s)); });

    j.beginObject();
    j.kvInt("tokens", t).kvInt("blocks", nb).kvInt("bytes", (long long)bytes);
    writeTiming(j, "memcpy_batch", bytes, batch);
    j.kvNum("memcpy_batch_enqueue_us_per_block", enqueues ? enqueueMs * 1000.0 / ((double)enqueues * nb) : NAN);
    writeTiming(j, "gather_kernel", bytes, gather);
    writeTiming(j, "contiguous", bytes, contiguous);
    j.kvBool("verified", true);
    j.endObject();
  }
  j.endArray();

  // Contention: a decode-attention batch keeps the SMs and HBM busy on stream s while H2D
  // copies run on s2. Two arrangements, each with one side covering the other completely:
  //   (a) a kernel burst longer than the copy → the copy's rate under decode;
  //   (b) copies longer than a kernel burst → the kernel's time under copy traffic.
  progress("kv", ++step, steps, "contention: setting up a decode batch");
  const int cBatch = 16, cContext = 4096;
  std::vector<int> contexts(cBatch, cContext);
  AttentionBatch attn(m, cBatch, cContext, (size_t)cBatch * blocksFor(cContext), 1, s);
  attn.upload(contexts, {scatteredTable(contexts, attn.poolBlocks(), rng)});
  const double kernelMs = timeEvents(s, planFor(o.quick), [&] { attn.run(0, s); }).median();

  const size_t copyBytes = std::min<size_t>(o.quick ? 128 * kMiB : 256 * kMiB, pool.bytes());
  DeviceBuffer<unsigned char> copyDst(copyBytes);
  auto contiguousCopy = [&](cudaStream_t st) { CK(cudaMemcpyAsync(copyDst.get(), pool.get(), copyBytes, cudaMemcpyHostToDevice, st)); };
  const int kvTokens = std::min(4096, tokens.back());
  const int kvBlocks = blocksFor(kvTokens);

  progress("kv", ++step, steps, "contention: H2D while decode attention runs");
  const int reps = o.quick ? 3 : 6;
  struct Case {
    const char* method;
    size_t bytes;
    std::function<void(cudaStream_t)> copy;
  };
  std::vector<Case> cases = {{"contiguous", copyBytes, contiguousCopy},
                             {"memcpy-batch", (size_t)kvBlocks * bb, [&](cudaStream_t st) { memcpyBatch(kvBlocks, st); }}};
  j.key("contention").beginObject();
  j.kvInt("decode_batch", cBatch).kvInt("decode_context_per_seq", cContext).kvNum("decode_kernel_ms", kernelMs);
  j.key("copies").beginArray();
  for (const Case& c : cases) {
    const double plainMs = timeEvents(s2, planFor(o.quick), [&] { c.copy(s2); }).median();
    const int burst = std::min(4000, (int)std::ceil(3.0 * plainMs / std::max(kernelMs, 1e-3)) + 2);
    EventPair kEv, cEv;
    Samples under;
    for (int r = -1; r < reps; ++r) {
      kEv.start(s);
      for (int k = 0; k < burst; ++k) attn.run(0, s);
      kEv.stop(s);
      cEv.start(s2);
      c.copy(s2);
      cEv.stop(s2);
      const float tc = cEv.ms();
      kEv.ms();
      if (r >= 0) under.add(tc);
    }
    j.beginObject();
    j.kv("method", c.method).kvInt("bytes", (long long)c.bytes);
    if (std::string(c.method) == "memcpy-batch") j.kvInt("tokens", kvTokens).kvInt("block_bytes", (long long)bb);
    j.kvInt("kernels_in_burst", burst);
    j.kvNum("plain_gib_per_s", gibPerS((double)c.bytes, plainMs));
    j.kvNum("under_decode_gib_per_s", gibPerS((double)c.bytes, under.median()));
    j.endObject();
  }
  j.endArray();
  {
    // (b): copies enqueued first and long enough to cover the kernel burst.
    const double plainCopyMs = timeEvents(s2, planFor(o.quick), [&] { contiguousCopy(s2); }).median();
    const int burst = std::max(4, std::min(2000, (int)(0.5 * 4 * plainCopyMs / std::max(kernelMs, 1e-3))));
    EventPair kEv;
    Samples perKernel;
    for (int r = -1; r < reps; ++r) {
      for (int c = 0; c < 4; ++c) contiguousCopy(s2);
      kEv.start(s);
      for (int k = 0; k < burst; ++k) attn.run(0, s);
      kEv.stop(s);
      const float t = kEv.ms();
      CK(cudaStreamSynchronize(s2));
      if (r >= 0) perKernel.add(t / burst);
    }
    j.kvNum("decode_kernel_ms_under_copy", perKernel.median());
  }
  j.endObject();
  j.endObject();
}

}  // namespace probe
