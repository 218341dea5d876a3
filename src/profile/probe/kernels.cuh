// orbitflow probe: the kernels shared by several subcommands, all our own (no cuBLAS).
#pragma once

#include "common.cuh"

namespace probe {

// Paged decode attention, one query token per sequence, grouped-query heads, 16-token blocks
// in the layout drawn in common.cuh. Split into partitions of kAttnPartitionTokens tokens
// (flash-decoding), each computing a partial online softmax, then merged by a second kernel.
constexpr int kAttnPartitionTokens = 512;

struct AttentionArgs {
  const void* q = nullptr;            // [batch][q_heads][head_dim], dtype
  const void* pool = nullptr;         // KV blocks
  const int* blockTable = nullptr;    // [batch][maxBlocks] block indices into pool
  const int* contextLens = nullptr;   // [batch], each ≥ 1
  void* out = nullptr;                // [batch][q_heads][head_dim], dtype
  float* partOut = nullptr;           // workspace, attentionWorkspaceFloats() floats
  int batch = 0;
  int qHeads = 0;
  int kvHeads = 0;
  int headDim = 0;
  int maxBlocks = 0;                  // row stride of blockTable
  int maxContext = 0;                 // the longest context_lens entry (sizes the grid)
  DType dtype = DType::kBf16;
};

size_t attentionWorkspaceFloats(int batch, int qHeads, int headDim, int maxContext);
void launchAttention(const AttentionArgs& a, cudaStream_t s);

// Y[M][N] = X[M][K] · W[N][K]ᵀ with tensor cores (WMMA 16×16×16, fp32 accumulate). N and K must
// be multiples of 16; X must have rows up to M rounded up to a multiple of 64 (zero padding).
void launchGemm(const void* x, const void* w, void* y, int m, int n, int k, DType dtype, cudaStream_t s);
inline int gemmPaddedRows(int m) { return ((m + 63) / 64) * 64; }

// Fill with deterministic pseudo-random values in [-scale, scale).
void launchFillRandom(void* p, size_t elems, DType dtype, uint32_t seed, float scale, cudaStream_t s);

// Device-to-device copy through the SMs (the memory-bandwidth reference), 16-byte words.
void launchCopyKernel(const void* src, void* dst, size_t bytes, cudaStream_t s);

// Copies `blocks` KV blocks of `blockBytes` each from src (e.g. mapped pinned host memory) at
// srcIndex[i]·blockBytes to dst at i·blockBytes: the zero-copy gather.
void launchGatherBlocks(const void* src, const int* srcIndex, void* dst, int blocks, size_t blockBytes, cudaStream_t s);

// One transformer layer of decode for a batch: attention plus the dense GEMMs (QKV, O, gate+up,
// down). Buffers are sized for up to maxBatch sequences.
struct LayerWeights {
  DeviceBuffer<uint16_t> qkv, o, gateUp, down;
};

struct DenseShape {
  int qkvN, qkvK, oN, oK, guN, guK, downN, downK;
};

inline int roundUp16(int v) { return ((v + 15) / 16) * 16; }

inline DenseShape denseShape(const ModelShape& m) {
  DenseShape d;
  d.qkvN = roundUp16((m.qHeads + 2 * m.kvHeads) * m.headDim);
  d.qkvK = roundUp16(m.hidden);
  d.oN = roundUp16(m.hidden);
  d.oK = roundUp16(m.qHeads * m.headDim);
  d.guN = roundUp16(2 * m.intermediate);
  d.guK = roundUp16(m.hidden);
  d.downN = roundUp16(m.hidden);
  d.downK = roundUp16(m.intermediate);
  return d;
}

inline size_t denseWeightBytes(const DenseShape& d) {
  return 2 * ((size_t)d.qkvN * d.qkvK + (size_t)d.oN * d.oK + (size_t)d.guN * d.guK + (size_t)d.downN * d.downK);
}

class DenseLayer {
 public:
  DenseLayer(const ModelShape& m, int maxBatch, cudaStream_t s);
  // Enqueue the four GEMMs of one layer for `batch` sequences.
  void run(int batch, cudaStream_t s);
  size_t weightBytes() const { return denseWeightBytes(shape_); }
  const DenseShape& shape() const { return shape_; }

 private:
  ModelShape model_;
  DenseShape shape_;
  LayerWeights w_;
  DeviceBuffer<uint16_t> x_, y_;
};

// The buffers of a decode-attention batch: a KV pool on the device, queries, outputs, workspace
// and `tableSets` block tables (validate uses one per layer: resident and staged blocks differ).
class AttentionBatch {
 public:
  AttentionBatch(const ModelShape& m, int maxBatch, int maxContext, size_t poolBlocks, int tableSets, cudaStream_t s);
  // contexts[b] tokens of sequence b; tables[set][b][i] = pool block of its i-th 16-token block.
  void upload(const std::vector<int>& contexts, const std::vector<std::vector<std::vector<int>>>& tables);
  void run(int set, cudaStream_t s);
  uint16_t* pool() const { return pool_.get(); }
  uint16_t* queries() const { return q_.get(); }
  uint16_t* outputs() const { return out_.get(); }
  size_t poolBlocks() const { return poolBlocks_; }
  int batch() const { return batch_; }

 private:
  ModelShape model_;
  int maxBatch_, maxContext_, maxBlocksPerSeq_, tableSets_;
  size_t poolBlocks_;
  int batch_ = 0, longest_ = 0;
  DeviceBuffer<uint16_t> pool_, q_, out_;
  DeviceBuffer<float> work_;
  DeviceBuffer<int> tables_, lens_;
};

// One table set giving each sequence distinct pool blocks, scattered as in a paged cache.
std::vector<std::vector<int>> scatteredTable(const std::vector<int>& contexts, size_t poolBlocks, Rng& rng);

inline int blocksFor(int tokens) { return (tokens + kBlockTokens - 1) / kBlockTokens; }

}  // namespace probe
