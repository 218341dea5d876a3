// orbitflow probe: `selfcheck` — the kernels against CPU references on small inputs (fp64 on the
// CPU, from the same 16-bit values). Run before anything is timed: results are correct before
// they are fast.
#include "kernels.cuh"
#include "sections.cuh"

namespace probe {
namespace selfcheck_impl {

uint16_t toBits(float f, DType dt) {
  if (dt == DType::kBf16) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even (inputs are finite)
    return static_cast<uint16_t>(u >> 16);
  }
  const __half h = __float2half(f);
  uint16_t b;
  memcpy(&b, &h, 2);
  return b;
}

float fromBits(uint16_t b, DType dt) {
  if (dt == DType::kBf16) {
    const uint32_t u = static_cast<uint32_t>(b) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  __half h;
  memcpy(&h, &b, 2);
  return __half2float(h);
}

std::vector<uint16_t> randomBits(size_t n, DType dt, Rng& rng, float scale) {
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = toBits(static_cast<float>((2 * rng.uniform() - 1) * scale), dt);
  return v;
}

struct AttnCase {
  DType dtype;
  int headDim, qHeads, kvHeads;
  std::vector<int> contexts;
};

struct GemmCase {
  DType dtype;
  int m, n, k;
};

void writeCheck(Json& j, const std::string& kind, const std::string& what, double err, double tol) {
  j.beginObject().kv("kind", kind).kv("case", what).kvNum("max_abs_err", err).kvNum("tolerance", tol).kvBool("passed", err <= tol).endObject();
}

double tolerance(DType dt) { return dt == DType::kBf16 ? 1e-2 : 2e-3; }

double checkAttention(const AttnCase& c, Rng& rng, cudaStream_t s) {
  ModelShape m;
  m.dtype = c.dtype;
  m.headDim = c.headDim;
  m.qHeads = c.qHeads;
  m.kvHeads = c.kvHeads;
  const int B = (int)c.contexts.size(), D = c.headDim, G = c.qHeads / c.kvHeads;
  int maxCtx = 1;
  size_t need = 0;
  for (int x : c.contexts) {
    maxCtx = std::max(maxCtx, x);
    need += blocksFor(x);
  }
  const size_t poolBlocks = need + 7;  // spare blocks so the table really scatters
  AttentionBatch attn(m, B, maxCtx, poolBlocks, 1, s);
  const std::vector<uint16_t> pool = randomBits(poolBlocks * m.blockElems(), c.dtype, rng, 1.0f);
  const std::vector<uint16_t> q = randomBits((size_t)B * c.qHeads * D, c.dtype, rng, 1.0f);
  CK(cudaMemcpy(attn.pool(), pool.data(), pool.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(attn.queries(), q.data(), q.size() * 2, cudaMemcpyHostToDevice));
  const std::vector<std::vector<int>> table = scatteredTable(c.contexts, poolBlocks, rng);
  attn.upload(c.contexts, {table});
  attn.run(0, s);
  CK(cudaStreamSynchronize(s));
  std::vector<uint16_t> out((size_t)B * c.qHeads * D);
  CK(cudaMemcpy(out.data(), attn.outputs(), out.size() * 2, cudaMemcpyDeviceToHost));

  const size_t blockElems = m.blockElems();
  const size_t vOffset = (size_t)c.kvHeads * kBlockTokens * D;
  double worst = 0;
  for (int b = 0; b < B; ++b) {
    const int ctx = c.contexts[b];
    for (int h = 0; h < c.qHeads; ++h) {
      const int kvh = h / G;
      std::vector<double> score(ctx);
      double mx = -INFINITY;
      for (int t = 0; t < ctx; ++t) {
        const size_t row = (size_t)table[b][t / kBlockTokens] * blockElems + ((size_t)kvh * kBlockTokens + t % kBlockTokens) * D;
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += (double)fromBits(q[((size_t)b * c.qHeads + h) * D + d], c.dtype) * fromBits(pool[row + d], c.dtype);
        score[t] = dot / std::sqrt((double)D);
        mx = std::max(mx, score[t]);
      }
      double sum = 0;
      for (int t = 0; t < ctx; ++t) sum += (score[t] = std::exp(score[t] - mx));
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int t = 0; t < ctx; ++t) {
          const size_t row = (size_t)table[b][t / kBlockTokens] * blockElems + vOffset + ((size_t)kvh * kBlockTokens + t % kBlockTokens) * D;
          acc += score[t] * fromBits(pool[row + d], c.dtype);
        }
        const double ref = acc / sum;
        const double got = fromBits(out[((size_t)b * c.qHeads + h) * D + d], c.dtype);
        worst = std::max(worst, std::fabs(got - ref));
      }
    }
  }
  return worst;
}

// Error relative to max(1, |reference|): outputs of a K-term dot product grow with √K.
double checkGemm(const GemmCase& c, Rng& rng, cudaStream_t s) {
  const int rows = gemmPaddedRows(c.m);
  std::vector<uint16_t> x = randomBits((size_t)rows * c.k, c.dtype, rng, 1.0f);
  const std::vector<uint16_t> w = randomBits((size_t)c.n * c.k, c.dtype, rng, 1.0f);
  DeviceBuffer<uint16_t> dx(x.size()), dw(w.size()), dy((size_t)c.m * c.n);
  CK(cudaMemcpy(dx.get(), x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw.get(), w.data(), w.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemset(dy.get(), 0xff, dy.size() * 2));  // NaN pattern: an unwritten output fails the check
  launchGemm(dx.get(), dw.get(), dy.get(), c.m, c.n, c.k, c.dtype, s);
  CK(cudaStreamSynchronize(s));
  std::vector<uint16_t> y((size_t)c.m * c.n);
  CK(cudaMemcpy(y.data(), dy.get(), y.size() * 2, cudaMemcpyDeviceToHost));
  double worst = 0;
  for (int i = 0; i < c.m; ++i) {
    for (int n = 0; n < c.n; ++n) {
      double ref = 0;
      for (int k = 0; k < c.k; ++k) ref += (double)fromBits(x[(size_t)i * c.k + k], c.dtype) * fromBits(w[(size_t)n * c.k + k], c.dtype);
      const double got = fromBits(y[(size_t)i * c.n + n], c.dtype);
      const double err = std::fabs(got - ref) / std::max(1.0, std::fabs(ref));
      worst = std::max(worst, std::isfinite(err) ? err : INFINITY);
    }
  }
  return worst;
}

// Gather from device memory (same kernel as the zero-copy path): an exact copy or nothing.
double checkGather(Rng& rng, cudaStream_t s) {
  const int blocks = 9;
  const size_t bb = 4096;
  std::vector<unsigned char> src(blocks * bb);
  for (auto& b : src) b = static_cast<unsigned char>(rng.next());
  const std::vector<int> perm = rng.permutation(blocks);
  DeviceBuffer<unsigned char> dsrc(src.size()), ddst(src.size());
  DeviceBuffer<int> didx(blocks);
  CK(cudaMemcpy(dsrc.get(), src.data(), src.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(didx.get(), perm.data(), blocks * sizeof(int), cudaMemcpyHostToDevice));
  launchGatherBlocks(dsrc.get(), didx.get(), ddst.get(), blocks, bb, s);
  CK(cudaStreamSynchronize(s));
  std::vector<unsigned char> got(src.size());
  CK(cudaMemcpy(got.data(), ddst.get(), got.size(), cudaMemcpyDeviceToHost));
  for (int i = 0; i < blocks; ++i)
    if (memcmp(got.data() + i * bb, src.data() + (size_t)perm[i] * bb, bb) != 0) return 1.0;
  return 0.0;
}

std::string describe(const AttnCase& c) {
  std::string s = std::string(c.dtype == DType::kBf16 ? "bf16" : "fp16") + " head_dim " + std::to_string(c.headDim) + " heads " +
                  std::to_string(c.qHeads) + "/" + std::to_string(c.kvHeads) + " contexts";
  for (int x : c.contexts) s += " " + std::to_string(x);
  return s;
}

}  // namespace selfcheck_impl

bool selfcheckSection(Json& j) {
  using namespace selfcheck_impl;
  Stream s;
  Rng rng(kSeed + 7);
  // Contexts cross block (16) and partition (512) boundaries; groups of 1, 2, 4 and 8.
  const std::vector<AttnCase> attnCases = {
      {DType::kBf16, 128, 8, 2, {1, 16, 531, 1100}},
      {DType::kFp16, 64, 4, 4, {17, 600}},
      {DType::kFp16, 128, 16, 2, {40, 1030}},
      {DType::kBf16, 256, 2, 1, {700, 3}},
  };
  // M covers 1 to 4 row tiles and two row blocks; K covers the unrolled loop and its remainder.
  const std::vector<GemmCase> gemmCases = {
      {DType::kBf16, 5, 48, 96},
      {DType::kFp16, 37, 32, 1040},
      {DType::kBf16, 70, 16, 256},
      {DType::kFp16, 20, 64, 512},
  };
  bool all = true;
  int step = 0;
  const int steps = (int)(attnCases.size() + gemmCases.size()) + 1;
  j.key("selfcheck").beginObject();
  j.key("checks").beginArray();
  for (const AttnCase& c : attnCases) {
    progress("selfcheck", ++step, steps, "attention " + describe(c));
    const double err = checkAttention(c, rng, s);
    writeCheck(j, "attention", describe(c), err, tolerance(c.dtype));
    all = all && err <= tolerance(c.dtype);
  }
  for (const GemmCase& c : gemmCases) {
    const std::string what = std::string(c.dtype == DType::kBf16 ? "bf16" : "fp16") + " M " + std::to_string(c.m) + " N " + std::to_string(c.n) + " K " + std::to_string(c.k);
    progress("selfcheck", ++step, steps, "gemm " + what);
    const double err = checkGemm(c, rng, s);
    writeCheck(j, "gemm", what, err, tolerance(c.dtype));
    all = all && err <= tolerance(c.dtype);
  }
  progress("selfcheck", ++step, steps, "gather");
  const double gerr = checkGather(rng, s);
  writeCheck(j, "gather", "9 blocks of 4 KiB", gerr, 0.0);
  all = all && gerr == 0.0;
  j.endArray();
  j.kvBool("passed", all);
  j.endObject();
  return all;
}

}  // namespace probe
