// orbitflow probe: skinny GEMM (weight streaming at decode batch sizes), fill, copy and gather kernels.
#include <mma.h>

#include "device.cuh"
#include "kernels.cuh"

namespace probe {
namespace kernels_impl {

constexpr int kGemmWarps = 8;

// Grid (N/16, ⌈M/64⌉); 8 warps. A block owns 16 output columns and MT·16 rows; its warps split K
// (warp w takes k-steps w, w+8, …, so at any moment the block reads one contiguous stretch of each
// weight row) and their fp32 partial tiles are summed through shared memory. Every weight element
// is read once per 64 rows of X: at decode batch sizes the kernel streams the weights.
template <typename T, int MT>
__global__ void __launch_bounds__(kGemmWarps * 32) gemmKernel(const T* __restrict__ x, const T* __restrict__ w, uint16_t* __restrict__ y, int M, int N, int K) {
  using namespace nvcuda;
  __shared__ __align__(32) float red[kGemmWarps][MT][256];
  const int warp = threadIdx.x >> 5;
  const int n0 = blockIdx.x * 16;
  const int m0 = blockIdx.y * 64;
  const int steps = K / 16;
  const T* wTile = w + (size_t)n0 * K;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[MT];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) wmma::fill_fragment(acc[mt], 0.0f);

  int s = warp;
  // Four weight fragments in flight per warp before they are consumed.
  for (; s + 3 * kGemmWarps < steps; s += 4 * kGemmWarps) {
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) wmma::load_matrix_sync(b[u], wTile + (size_t)(s + u * kGemmWarps) * 16, K);
#pragma unroll
    for (int u = 0; u < 4; ++u) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> af;
        wmma::load_matrix_sync(af, x + (size_t)(m0 + mt * 16) * K + (size_t)(s + u * kGemmWarps) * 16, K);
        wmma::mma_sync(acc[mt], af, b[u], acc[mt]);
      }
    }
  }
  for (; s < steps; s += kGemmWarps) {
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
    wmma::load_matrix_sync(b, wTile + (size_t)s * 16, K);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> af;
      wmma::load_matrix_sync(af, x + (size_t)(m0 + mt * 16) * K + (size_t)s * 16, K);
      wmma::mma_sync(acc[mt], af, b, acc[mt]);
    }
  }
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) wmma::store_matrix_sync(&red[warp][mt][0], acc[mt], 16, wmma::mem_row_major);
  __syncthreads();
  for (int i = threadIdx.x; i < MT * 256; i += blockDim.x) {
    const int mt = i / 256, r = (i % 256) / 16, c = i % 16;
    float v = 0.f;
#pragma unroll
    for (int wi = 0; wi < kGemmWarps; ++wi) v += red[wi][mt][r * 16 + c];
    const int m = m0 + mt * 16 + r;
    if (m < M) y[(size_t)m * N + n0 + c] = fToBits<T>(v);
  }
}

template <typename T>
void gemmTyped(const void* x, const void* w, void* y, int m, int n, int k, cudaStream_t s) {
  const T* xt = static_cast<const T*>(x);
  const T* wt = static_cast<const T*>(w);
  uint16_t* yt = static_cast<uint16_t*>(y);
  const dim3 grid(n / 16, (m + 63) / 64);
  const int rows = m > 64 ? 64 : m;
  // Row tiles of 1, 2 or 4 (33–48 rows use 4: one padded tile costs nothing in a memory-bound
  // kernel, and each variant costs build time).
  if (rows <= 16) gemmKernel<T, 1><<<grid, kGemmWarps * 32, 0, s>>>(xt, wt, yt, m, n, k);
  else if (rows <= 32) gemmKernel<T, 2><<<grid, kGemmWarps * 32, 0, s>>>(xt, wt, yt, m, n, k);
  else gemmKernel<T, 4><<<grid, kGemmWarps * 32, 0, s>>>(xt, wt, yt, m, n, k);
  CK_LAUNCH();
}

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fillKernel(uint16_t* p, size_t n, uint32_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const uint64_t h = mix64(i + 0x9e3779b97f4a7c15ull * (seed + 1));
    const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    p[i] = fToBits<T>((2.0f * u - 1.0f) * scale);
  }
}

__global__ void copyKernel(const uint4* __restrict__ src, uint4* __restrict__ dst, size_t words) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < words; i += (size_t)gridDim.x * blockDim.x) dst[i] = src[i];
}

// One thread block per KV block (grid-stride over blocks), four 16-byte loads in flight per thread:
// reads over PCIe from mapped host memory need many outstanding requests to reach full rate.
__global__ void gatherKernel(const uint4* __restrict__ src, const int* __restrict__ srcIndex, uint4* __restrict__ dst, int blocks, size_t words) {
  for (int b = blockIdx.x; b < blocks; b += gridDim.x) {
    const uint4* from = src + (size_t)srcIndex[b] * words;
    uint4* to = dst + (size_t)b * words;
    for (size_t i = threadIdx.x; i < words; i += (size_t)blockDim.x * 4) {
      uint4 r[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const size_t j = i + (size_t)u * blockDim.x;
        if (j < words) r[u] = from[j];
      }
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const size_t j = i + (size_t)u * blockDim.x;
        if (j < words) to[j] = r[u];
      }
    }
  }
}

// The probe uses one device for its whole run, so the count is read once.
int smCount() {
  static int sms = 0;
  if (!sms) {
    int dev = 0;
    CK(cudaGetDevice(&dev));
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  }
  return sms;
}

}  // namespace kernels_impl

void launchGemm(const void* x, const void* w, void* y, int m, int n, int k, DType dtype, cudaStream_t s) {
  using namespace kernels_impl;
  if (m < 1) return;
  if (n % 16 || k % 16) failUsage("gemm: N and K must be multiples of 16");
  if (dtype == DType::kBf16) gemmTyped<__nv_bfloat16>(x, w, y, m, n, k, s);
  else gemmTyped<__half>(x, w, y, m, n, k, s);
}

void launchFillRandom(void* p, size_t elems, DType dtype, uint32_t seed, float scale, cudaStream_t s) {
  using namespace kernels_impl;
  if (!elems) return;
  const int threads = 256;
  const size_t want = (elems + threads - 1) / threads;
  const int blocks = static_cast<int>(std::min<size_t>(want, (size_t)smCount() * 16));
  if (dtype == DType::kBf16) fillKernel<__nv_bfloat16><<<blocks, threads, 0, s>>>(static_cast<uint16_t*>(p), elems, seed, scale);
  else fillKernel<__half><<<blocks, threads, 0, s>>>(static_cast<uint16_t*>(p), elems, seed, scale);
  CK_LAUNCH();
}

void launchCopyKernel(const void* src, void* dst, size_t bytes, cudaStream_t s) {
  using namespace kernels_impl;
  const size_t words = bytes / 16;
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<size_t>((words + threads - 1) / threads, (size_t)smCount() * 32));
  copyKernel<<<blocks, threads, 0, s>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst), words);
  CK_LAUNCH();
}

void launchGatherBlocks(const void* src, const int* srcIndex, void* dst, int blocks, size_t blockBytes, cudaStream_t s) {
  using namespace kernels_impl;
  if (blocks < 1) return;
  if (blockBytes % 16) failUsage("gather: block bytes must be a multiple of 16");
  const int grid = std::min(blocks, smCount() * 8);
  gatherKernel<<<grid, 256, 0, s>>>(static_cast<const uint4*>(src), srcIndex, static_cast<uint4*>(dst), blocks, blockBytes / 16);
  CK_LAUNCH();
}

DenseLayer::DenseLayer(const ModelShape& m, int maxBatch, cudaStream_t s) : model_(m), shape_(denseShape(m)) {
  const DenseShape& d = shape_;
  w_.qkv.alloc((size_t)d.qkvN * d.qkvK);
  w_.o.alloc((size_t)d.oN * d.oK);
  w_.gateUp.alloc((size_t)d.guN * d.guK);
  w_.down.alloc((size_t)d.downN * d.downK);
  const int maxK = std::max(std::max(d.qkvK, d.oK), std::max(d.guK, d.downK));
  const int maxN = std::max(std::max(d.qkvN, d.oN), std::max(d.guN, d.downN));
  x_.alloc((size_t)gemmPaddedRows(maxBatch) * maxK);
  y_.alloc((size_t)maxBatch * maxN);
  const float ws = 0.02f;  // weight-like magnitudes; the values do not change the timing
  launchFillRandom(w_.qkv.get(), w_.qkv.size(), m.dtype, 11, ws, s);
  launchFillRandom(w_.o.get(), w_.o.size(), m.dtype, 12, ws, s);
  launchFillRandom(w_.gateUp.get(), w_.gateUp.size(), m.dtype, 13, ws, s);
  launchFillRandom(w_.down.get(), w_.down.size(), m.dtype, 14, ws, s);
  launchFillRandom(x_.get(), x_.size(), m.dtype, 15, 1.0f, s);
}

void DenseLayer::run(int batch, cudaStream_t s) {
  const DenseShape& d = shape_;
  launchGemm(x_.get(), w_.qkv.get(), y_.get(), batch, d.qkvN, d.qkvK, model_.dtype, s);
  launchGemm(x_.get(), w_.o.get(), y_.get(), batch, d.oN, d.oK, model_.dtype, s);
  launchGemm(x_.get(), w_.gateUp.get(), y_.get(), batch, d.guN, d.guK, model_.dtype, s);
  launchGemm(x_.get(), w_.down.get(), y_.get(), batch, d.downN, d.downK, model_.dtype, s);
}

AttentionBatch::AttentionBatch(const ModelShape& m, int maxBatch, int maxContext, size_t poolBlocks, int tableSets, cudaStream_t s)
    : model_(m), maxBatch_(maxBatch), maxContext_(maxContext), maxBlocksPerSeq_(blocksFor(maxContext)), tableSets_(tableSets), poolBlocks_(poolBlocks) {
  pool_.alloc(poolBlocks * m.blockElems());
  q_.alloc((size_t)maxBatch * m.qHeads * m.headDim);
  out_.alloc((size_t)maxBatch * m.qHeads * m.headDim);
  work_.alloc(attentionWorkspaceFloats(maxBatch, m.qHeads, m.headDim, maxContext));
  tables_.alloc((size_t)tableSets * maxBatch * maxBlocksPerSeq_);
  lens_.alloc(maxBatch);
  launchFillRandom(pool_.get(), pool_.size(), m.dtype, 21, 1.0f, s);
  launchFillRandom(q_.get(), q_.size(), m.dtype, 22, 1.0f, s);
  CK(cudaStreamSynchronize(s));
}

void AttentionBatch::upload(const std::vector<int>& contexts, const std::vector<std::vector<std::vector<int>>>& tables) {
  const int b = (int)contexts.size();
  if (b < 1 || b > maxBatch_ || (int)tables.size() > tableSets_) failUsage("attention batch: more sequences or table sets than allocated");
  std::vector<int> host((size_t)tableSets_ * maxBatch_ * maxBlocksPerSeq_, 0);
  longest_ = 0;
  for (int i = 0; i < b; ++i) {
    if (contexts[i] < 1 || contexts[i] > maxContext_) failUsage("attention batch: context length out of range");
    longest_ = std::max(longest_, contexts[i]);
  }
  for (size_t set = 0; set < tables.size(); ++set) {
    if ((int)tables[set].size() != b) failUsage("attention batch: a table set has the wrong number of sequences");
    for (int i = 0; i < b; ++i) {
      const std::vector<int>& row = tables[set][i];
      if ((int)row.size() < blocksFor(contexts[i])) failUsage("attention batch: a block table is shorter than its context");
      for (int k = 0; k < blocksFor(contexts[i]); ++k) {
        if (row[k] < 0 || (size_t)row[k] >= poolBlocks_) failUsage("attention batch: block index outside the pool");
        host[((size_t)set * maxBatch_ + i) * maxBlocksPerSeq_ + k] = row[k];
      }
    }
  }
  CK(cudaMemcpy(tables_.get(), host.data(), host.size() * sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(lens_.get(), contexts.data(), b * sizeof(int), cudaMemcpyHostToDevice));
  batch_ = b;
}

void AttentionBatch::run(int set, cudaStream_t s) {
  AttentionArgs a;
  a.q = q_.get();
  a.pool = pool_.get();
  a.blockTable = tables_.get() + (size_t)set * maxBatch_ * maxBlocksPerSeq_;
  a.contextLens = lens_.get();
  a.out = out_.get();
  a.partOut = work_.get();
  a.batch = batch_;
  a.qHeads = model_.qHeads;
  a.kvHeads = model_.kvHeads;
  a.headDim = model_.headDim;
  a.maxBlocks = maxBlocksPerSeq_;
  a.maxContext = longest_;
  a.dtype = model_.dtype;
  launchAttention(a, s);
}

std::vector<std::vector<int>> scatteredTable(const std::vector<int>& contexts, size_t poolBlocks, Rng& rng) {
  size_t need = 0;
  for (int c : contexts) need += blocksFor(c);
  if (need > poolBlocks) failUsage("attention batch: the pool is too small for the batch");
  const std::vector<int> perm = rng.permutation((int)poolBlocks);
  std::vector<std::vector<int>> table;
  size_t next = 0;
  for (int c : contexts) {
    std::vector<int> row(blocksFor(c));
    for (int& r : row) r = perm[next++];
    table.push_back(std::move(row));
  }
  return table;
}

}  // namespace probe
