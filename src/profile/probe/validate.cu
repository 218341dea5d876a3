// orbitflow probe: `validate` — real decode steps of a batch with per-request placements. Every
// layer runs attention + dense GEMMs on the compute stream; a request's offloaded layers keep
// their KV in pinned host memory and are fetched block by block on a copy stream, in layer order,
// from the start of the step. An event per layer orders copy → compute. Two host threads enqueue
// the two streams, as an engine with a transfer thread would, so neither waits on the other's
// enqueue cost except where the data dependency is real.
#include <atomic>
#include <thread>

#include "kernels.cuh"
#include "sections.cuh"

namespace probe {
namespace validate_impl {

constexpr size_t kMiB = 1024 * 1024;

struct Req {
  int context;
  int distance;  // −1 all on GPU, 0 all offloaded, d ≥ 1 every (d+1)-th layer from layer d
};

struct Scenario {
  std::string label;
  std::vector<Req> reqs;
};

// The distance rule of src/core/placement.ts.
bool isOffloaded(int layer, int distance) { return distance == 0 || (distance > 0 && layer % (distance + 1) == distance); }

// "LABEL=CTX:DIST[xCOUNT],CTX:DIST[xCOUNT],…"
Scenario parseScenario(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) failUsage("--scenario '" + spec + "': expected LABEL=CTX:DIST[xCOUNT],…");
  Scenario sc;
  sc.label = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    const size_t comma = rest.find(',', pos);
    const std::string item = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int ctx = 0, dist = 0, count = 1;
    char tail = 0;
    const int n = sscanf(item.c_str(), "%d:%dx%d%c", &ctx, &dist, &count, &tail);
    if (n < 2 || n > 3 || ctx < 1 || dist < -1 || count < 1) failUsage("--scenario '" + spec + "': bad item '" + item + "'");
    for (int i = 0; i < count; ++i) sc.reqs.push_back({ctx, dist});
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (sc.reqs.empty() || sc.reqs.size() > 256) failUsage("--scenario '" + spec + "': 1 to 256 requests");
  return sc;
}

std::vector<std::string> defaultScenarios(bool quick) {
  std::vector<std::string> s = {"all-gpu=4096:-1x8", "uniform-d3=4096:3x8", "uniform-d1=4096:1x8",
                                "mixed-1-3-7-15=4096:1x2,4096:3x2,4096:7x2,4096:15x2", "all-offloaded=4096:0x8"};
  if (!quick) {
    s.insert(s.begin() + 1, "uniform-d7=4096:7x8");
    s.push_back("long-d1=16384:1x4");
    s.push_back("short-all-offloaded=1024:0x16");
  }
  return s;
}

struct CopyOp {
  size_t dstBlock;
  const unsigned char* src;
};

}  // namespace validate_impl

void validateSection(Json& j, const RunOptions& o) {
  using namespace validate_impl;
  const ModelShape& m = o.model;
  const int L = m.layers;
  const size_t bb = m.blockBytes();
  std::vector<Scenario> scenarios;
  for (const std::string& spec : o.scenarios.empty() ? defaultScenarios(o.quick) : o.scenarios) scenarios.push_back(parseScenario(spec));
  const int steps = o.steps > 0 ? o.steps : (o.quick ? 5 : 10);
  const int warmup = 2;
  Stream compute, copy;
  Rng rng(kSeed + 1);
  int device = 0;
  CK(cudaGetDevice(&device));  // the current device is per host thread: the copier sets it too

  std::vector<cudaEvent_t> copied(L), layerDone(L);
  for (int l = 0; l < L; ++l) {
    CK(cudaEventCreateWithFlags(&copied[l], cudaEventDisableTiming));
    CK(cudaEventCreateWithFlags(&layerDone[l], cudaEventDisableTiming));
  }
  cudaEvent_t start, end, copyEnd;
  CK(cudaEventCreate(&start));
  CK(cudaEventCreate(&end));
  CK(cudaEventCreate(&copyEnd));

  j.key("validate").beginObject();
  j.kv("kv_method", "memcpy-batch").kvInt("layers", L).kvInt("steps", steps).kvInt("warmup_steps", warmup);
  j.key("scenarios").beginArray();
  int idx = 0;
  for (const Scenario& sc : scenarios) {
    progress("validate", ++idx, (int)scenarios.size(), sc.label);
    const int B = (int)sc.reqs.size();
    std::vector<int> contexts;
    int maxCtx = 1;
    size_t residentBlocks = 0;
    for (const Req& r : sc.reqs) {
      contexts.push_back(r.context);
      maxCtx = std::max(maxCtx, r.context);
      residentBlocks += blocksFor(r.context);
    }
    std::vector<size_t> slotBlocks(L, 0);
    size_t totalStaged = 0, maxSlot = 0;
    for (int l = 0; l < L; ++l) {
      for (const Req& r : sc.reqs)
        if (isOffloaded(l, r.distance)) slotBlocks[l] += blocksFor(r.context);
      totalStaged += slotBlocks[l];
      maxSlot = std::max(maxSlot, slotBlocks[l]);
    }
    // One staging area per layer when it fits (the cost model's unbounded look-ahead), else a
    // ring of `lookahead` slots whose reuse waits for the layer that read it.
    DenseLayer dense(m, B, compute);
    CK(cudaStreamSynchronize(compute));
    const double budget = 0.3 * (double)freeDeviceBytes() - (double)residentBlocks * bb;
    int lookahead = L;
    if ((double)totalStaged * bb > budget) lookahead = std::max(2, std::min(L, (int)(budget / std::max<double>(1.0, (double)maxSlot * bb))));
    std::vector<size_t> slotBase(L, residentBlocks);
    size_t stagingBlocks = 0;
    if (lookahead == L) {
      for (int l = 0; l < L; ++l) {
        slotBase[l] = residentBlocks + stagingBlocks;
        stagingBlocks += slotBlocks[l];
      }
    } else {
      for (int l = 0; l < L; ++l) slotBase[l] = residentBlocks + (size_t)(l % lookahead) * maxSlot;
      stagingBlocks = (size_t)lookahead * maxSlot;
    }
    AttentionBatch attn(m, B, maxCtx, residentBlocks + stagingBlocks, L, compute);

    // Host copies: distinct pinned blocks per (layer, request) up to 1 GiB, scattered, reused beyond.
    const size_t hostBlocks = std::max<size_t>(std::min<size_t>(std::max<size_t>(totalStaged, 1), 1024 * kMiB / bb), (size_t)blocksFor(maxCtx));
    PinnedBuffer host(hostBlocks * bb, cudaHostAllocDefault);
    memset(host.get(), 0x3c, host.bytes());
    const std::vector<int> hostPerm = rng.permutation((int)hostBlocks);

    const std::vector<std::vector<int>> resident = scatteredTable(contexts, residentBlocks, rng);
    std::vector<std::vector<std::vector<int>>> tables(L, resident);
    std::vector<std::vector<CopyOp>> copies(L);
    size_t hostNext = 0;
    for (int l = 0; l < L; ++l) {
      size_t within = 0;
      for (int r = 0; r < B; ++r) {
        if (!isOffloaded(l, sc.reqs[r].distance)) continue;
        const int nb = blocksFor(sc.reqs[r].context);
        for (int i = 0; i < nb; ++i) {
          const size_t dst = slotBase[l] + within + i;
          tables[l][r][i] = (int)dst;
          copies[l].push_back({dst, host.get() + (size_t)hostPerm[hostNext++ % hostBlocks] * bb});
        }
        within += nb;
      }
    }
    attn.upload(contexts, tables);
    unsigned char* poolBytes = reinterpret_cast<unsigned char*>(attn.pool());

    Samples stepMs, copyMs;
    size_t copiesPerStep = 0;
    for (int l = 0; l < L; ++l) copiesPerStep += copies[l].size();
    for (int st = -warmup; st < steps; ++st) {
      std::atomic<int> copiesEnqueued{-1}, computeEnqueued{-1};
      CK(cudaEventRecord(start, compute));
      std::thread copier([&] {
        CK(cudaSetDevice(device));
        CK(cudaStreamWaitEvent(copy, start, 0));
        for (int l = 0; l < L; ++l) {
          if (!copies[l].empty()) {
            if (lookahead < L && l >= lookahead) {
              while (computeEnqueued.load() < l - lookahead) std::this_thread::yield();
              CK(cudaStreamWaitEvent(copy, layerDone[l - lookahead], 0));
            }
            for (const CopyOp& c : copies[l]) CK(cudaMemcpyAsync(poolBytes + c.dstBlock * bb, c.src, bb, cudaMemcpyHostToDevice, copy));
            CK(cudaEventRecord(copied[l], copy));
          }
          copiesEnqueued.store(l);
        }
        CK(cudaEventRecord(copyEnd, copy));
      });
      for (int l = 0; l < L; ++l) {
        if (!copies[l].empty()) {
          while (copiesEnqueued.load() < l) std::this_thread::yield();
          CK(cudaStreamWaitEvent(compute, copied[l], 0));
        }
        attn.run(l, compute);
        dense.run(B, compute);
        CK(cudaEventRecord(layerDone[l], compute));
        computeEnqueued.store(l);
      }
      copier.join();
      CK(cudaEventRecord(end, compute));
      CK(cudaEventSynchronize(end));
      CK(cudaEventSynchronize(copyEnd));
      float t = 0, tc = 0;
      CK(cudaEventElapsedTime(&t, start, end));
      CK(cudaEventElapsedTime(&tc, start, copyEnd));
      if (st >= 0) {
        stepMs.add(t);
        copyMs.add(tc);
      }
    }

    j.beginObject();
    j.kv("label", sc.label);
    j.key("requests").beginArray();
    for (const Req& r : sc.reqs) j.beginObject().kvInt("context_tokens", r.context).kvInt("distance", r.distance).endObject();
    j.endArray();
    j.kvInt("lookahead_layers", lookahead).kvInt("copies_per_step", (long long)copiesPerStep);
    j.kvInt("offloaded_bytes_per_step", (long long)(copiesPerStep * bb));
    j.kvNum("step_ms", stepMs.median()).kvNum("step_best_ms", stepMs.best());
    j.kvNum("copy_done_ms", copiesPerStep ? copyMs.median() : 0.0);
    j.endObject();
  }
  j.endArray();
  j.endObject();
  for (int l = 0; l < L; ++l) {
    cudaEventDestroy(copied[l]);
    cudaEventDestroy(layerDone[l]);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(end);
  cudaEventDestroy(copyEnd);
}

}  // namespace probe
