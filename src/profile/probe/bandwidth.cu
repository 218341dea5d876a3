// orbitflow probe: `bandwidth` — host↔device copies over a size sweep, pinned and pageable,
// both directions at once, and small-copy latency.
#include "sections.cuh"

namespace probe {
namespace bandwidth_impl {

constexpr size_t kMiB = 1024 * 1024;

void writeCurvePoint(Json& j, size_t bytes, const Samples& ms, const char* timing) {
  j.beginObject();
  j.kvInt("bytes", (long long)bytes).kvInt("reps", (long long)ms.size());
  j.kvNum("median_us", ms.median() * 1000).kvNum("best_us", ms.best() * 1000);
  j.kvNum("gib_per_s", gibPerS(bytes, ms.median())).kvNum("best_gib_per_s", gibPerS(bytes, ms.best()));
  j.kv("timing", timing);
  j.endObject();
}

RepeatPlan planFor(size_t bytes, bool quick) {
  RepeatPlan p;
  p.warmup = bytes >= 256 * kMiB ? 1 : 3;
  p.minReps = quick ? 3 : 5;
  p.maxReps = quick ? 50 : 200;
  p.minTotalMs = quick ? 25 : 100;
  return p;
}

}  // namespace bandwidth_impl

void bandwidthSection(Json& j, const RunOptions& o) {
  using namespace bandwidth_impl;
  std::vector<size_t> sizes;
  const size_t maxBytes = o.quick ? 256 * kMiB : 1024 * kMiB;
  for (size_t b = 4096; b <= maxBytes; b *= o.quick ? 4 : 2) sizes.push_back(b);
  std::vector<size_t> bidirSizes = o.quick ? std::vector<size_t>{64 * kMiB} : std::vector<size_t>{4 * kMiB, 64 * kMiB, 256 * kMiB};

  Stream s, s2;
  PinnedBuffer pinned(maxBytes, cudaHostAllocDefault);
  memset(pinned.get(), 0x5a, maxBytes);
  std::vector<unsigned char> pageable(maxBytes, 0xa5);  // zero-filled by the constructor: every page is touched
  DeviceBuffer<unsigned char> dev(maxBytes);
  CK(cudaMemset(dev.get(), 0, maxBytes));
  CK(cudaDeviceSynchronize());

  const int steps = (int)sizes.size() * 4 + (int)bidirSizes.size() + 1;
  int step = 0;
  j.key("bandwidth").beginObject();
  j.kvInt("max_bytes", (long long)maxBytes);

  struct Curve {
    const char* key;
    cudaMemcpyKind kind;
    bool pinnedMem;
  };
  const Curve curves[] = {{"h2d_pinned", cudaMemcpyHostToDevice, true},
                          {"d2h_pinned", cudaMemcpyDeviceToHost, true},
                          {"h2d_pageable", cudaMemcpyHostToDevice, false},
                          {"d2h_pageable", cudaMemcpyDeviceToHost, false}};
  for (const Curve& c : curves) {
    j.key(c.key).beginArray();
    for (size_t b : sizes) {
      progress("bandwidth", ++step, steps, std::string(c.key) + " " + fmtBytes((double)b));
      unsigned char* host = c.pinnedMem ? pinned.get() : pageable.data();
      void* dst = c.kind == cudaMemcpyHostToDevice ? (void*)dev.get() : (void*)host;
      const void* src = c.kind == cudaMemcpyHostToDevice ? (const void*)host : (const void*)dev.get();
      if (c.pinnedMem) {
        Samples t = timeEvents(s, planFor(b, o.quick), [&] { CK(cudaMemcpyAsync(dst, src, b, c.kind, s)); });
        writeCurvePoint(j, b, t, "cuda-event");
      } else {
        // A pageable copy is staged by the CPU; cudaMemcpy may return before a small H2D lands,
        // so the device is synchronised inside the timed region.
        Samples t = timeHost(planFor(b, o.quick), [&] {
          CK(cudaMemcpy(dst, src, b, c.kind));
          CK(cudaDeviceSynchronize());
        });
        writeCurvePoint(j, b, t, "host-clock");
      }
    }
    j.endArray();
  }

  // Both directions at once on two streams, each timed by its own events (the measured stream
  // is the one reported: see nvbandwidth#67 on mixing them up).
  j.key("bidirectional").beginArray();
  const int copies = 4;
  for (size_t b : bidirSizes) {
    progress("bandwidth", ++step, steps, "bidirectional " + fmtBytes((double)b));
    const size_t half = maxBytes / 2;
    if (b > half) continue;
    EventPair up, down;
    Samples upMs, downMs, wallMs;
    const int reps = o.quick ? 3 : 6;
    for (int r = -1; r < reps; ++r) {  // r = −1 is the warm-up
      up.start(s);
      down.start(s2);
      for (int c = 0; c < copies; ++c) {
        CK(cudaMemcpyAsync(dev.get(), pinned.get(), b, cudaMemcpyHostToDevice, s));
        CK(cudaMemcpyAsync(pinned.get() + half, dev.get() + half, b, cudaMemcpyDeviceToHost, s2));
      }
      up.stop(s);
      down.stop(s2);
      const float tu = up.ms(), td = down.ms();
      float tw = 0;
      CK(cudaEventElapsedTime(&tw, up.first(), down.second()));
      if (r < 0) continue;
      upMs.add(tu);
      downMs.add(td);
      wallMs.add(std::max<double>(std::max(tu, tw), td));
    }
    j.beginObject();
    j.kvInt("bytes", (long long)b).kvInt("copies_per_direction", copies).kvInt("reps", (long long)upMs.size());
    j.kvNum("h2d_gib_per_s", gibPerS((double)b * copies, upMs.median()));
    j.kvNum("d2h_gib_per_s", gibPerS((double)b * copies, downMs.median()));
    j.kvNum("combined_gib_per_s", gibPerS(2.0 * b * copies, wallMs.median()));
    j.endObject();
  }
  j.endArray();

  progress("bandwidth", ++step, steps, "latency");
  RepeatPlan lat;
  lat.warmup = 10;
  lat.minReps = o.quick ? 100 : 400;
  lat.maxReps = lat.minReps;
  lat.minTotalMs = 0;
  auto eventUs = [&](void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    return timeEvents(s, lat, [&] { CK(cudaMemcpyAsync(dst, src, bytes, kind, s)); }).median() * 1000;
  };
  j.key("latency").beginObject();
  j.kvNum("h2d_pinned_4k_us", eventUs(dev.get(), pinned.get(), 4096, cudaMemcpyHostToDevice));
  j.kvNum("d2h_pinned_4k_us", eventUs(pinned.get(), dev.get(), 4096, cudaMemcpyDeviceToHost));
  j.kvNum("h2d_pinned_8b_us", eventUs(dev.get(), pinned.get(), 8, cudaMemcpyHostToDevice));
  j.kvNum("d2h_pinned_8b_us", eventUs(pinned.get(), dev.get(), 8, cudaMemcpyDeviceToHost));
  {
    // Many small copies back to back: the per-copy cost a block-by-block KV fetch pays.
    const int n = 1000;
    EventPair ev;
    ev.start(s);
    const double t0 = hostNowMs();
    for (int i = 0; i < n; ++i) CK(cudaMemcpyAsync(dev.get() + (size_t)i * 4096, pinned.get() + (size_t)i * 4096, 4096, cudaMemcpyHostToDevice, s));
    const double enqueueMs = hostNowMs() - t0;
    ev.stop(s);
    j.kvNum("batched_h2d_4k_per_copy_us", ev.ms() * 1000.0 / n);
    j.kvNum("batched_enqueue_us_per_call", enqueueMs * 1000.0 / n);
  }
  {
    Samples t = timeHost(lat, [&] {
      CK(cudaMemcpy(dev.get(), pageable.data(), 4096, cudaMemcpyHostToDevice));
      CK(cudaDeviceSynchronize());
    });
    j.kvNum("h2d_pageable_4k_us", t.median() * 1000);
  }
  j.endObject();
  j.endObject();
}

}  // namespace probe
