// orbitflow probe: paged decode attention (GQA, 16-token blocks, online softmax, split context).
#include "device.cuh"
#include "kernels.cuh"

namespace probe {
namespace attention_impl {

constexpr int kAttnWarps = 4;
constexpr int kMaxGroup = 8;

// Workspace row per (sequence, query head, partition): D unnormalised output sums, then the
// partition's running max and sum of exponentials.
__host__ __device__ constexpr int rowFloats(int d) { return d + 2; }

// Grid (partition, kv head, sequence); 4 warps. Each warp walks 32-token chunks of the partition:
//   1. lane i scores token chunk+i against the group's G query heads (its own K row, 16-byte loads);
//   2. the warp updates its running max / sum / output for each head (online softmax);
//   3. the warp accumulates V rows, each lane owning D/32 output dimensions.
// The four warps' partial states are merged through shared memory at the end.
template <typename T, int D>
__global__ void __launch_bounds__(kAttnWarps * 32) attnPartitionKernel(AttentionArgs a, int numPartitions, float scale) {
  constexpr int DPL = D / 32;  // output dimensions per lane
  const int part = blockIdx.x, kvh = blockIdx.y, seq = blockIdx.z;
  const int ctx = a.contextLens[seq];
  const int tokStart = part * kAttnPartitionTokens;
  if (tokStart >= ctx) return;  // uniform for the whole block
  const int tokEnd = min(ctx, tokStart + kAttnPartitionTokens);
  const int G = a.qHeads / a.kvHeads;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const uint16_t* q = static_cast<const uint16_t*>(a.q);
  const uint16_t* pool = static_cast<const uint16_t*>(a.pool);
  const int* table = a.blockTable + (size_t)seq * a.maxBlocks;
  const size_t blockElems = (size_t)2 * a.kvHeads * kBlockTokens * D;
  const size_t vOffset = (size_t)a.kvHeads * kBlockTokens * D;

  __shared__ float qs[kMaxGroup][D];
  __shared__ float wMax[kAttnWarps][kMaxGroup];
  __shared__ float wSum[kAttnWarps][kMaxGroup];
  __shared__ float wAcc[kAttnWarps][kMaxGroup][D];

  for (int i = threadIdx.x; i < G * D; i += blockDim.x) {
    const int g = i / D, d = i % D;
    qs[g][d] = bitsToF<T>(q[((size_t)seq * a.qHeads + kvh * G + g) * D + d]) * scale;
  }
  __syncthreads();

  float m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][DPL];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[g][i] = 0.f;
  }

  for (int chunk = tokStart + warp * 32; chunk < tokEnd; chunk += kAttnWarps * 32) {
    const int t = chunk + lane;
    const bool valid = t < tokEnd;
    float s[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) s[g] = 0.f;
    if (valid) {
      const uint16_t* k = pool + (size_t)table[t / kBlockTokens] * blockElems + ((size_t)kvh * kBlockTokens + (t % kBlockTokens)) * D;
      // Not unrolled: the per-group accumulators are already unrolled, and unrolling D as well
      // multiplies compile time for no measurable gain in a memory-bound kernel.
#pragma unroll 1
      for (int d0 = 0; d0 < D; d0 += 8) {
        float kf[8];
        loadF<T, 8>(k + d0, kf);
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g) {
          if (g < G) {
#pragma unroll
            for (int j = 0; j < 8; ++j) s[g] += qs[g][d0 + j] * kf[j];
          }
        }
      }
    }
    // chunk < tokEnd, so lane 0 holds a real token and every warp max below is finite.
    float p[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      p[g] = 0.f;
      if (g < G) {
        const float sg = valid ? s[g] : -INFINITY;
        const float mNew = fmaxf(m[g], warpMax(sg));
        const float corr = __expf(m[g] - mNew);  // 0 on the first chunk (m = −∞)
        p[g] = valid ? __expf(sg - mNew) : 0.f;
        l[g] = l[g] * corr + warpSum(p[g]);
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[g][i] *= corr;
        m[g] = mNew;
      }
    }
    const int n = min(32, tokEnd - chunk);
    for (int j = 0; j < n; ++j) {
      const int tj = chunk + j;
      const uint16_t* v = pool + (size_t)table[tj / kBlockTokens] * blockElems + vOffset +
                          ((size_t)kvh * kBlockTokens + (tj % kBlockTokens)) * D + lane * DPL;
      float vf[DPL];
      loadF<T, DPL>(v, vf);
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g < G) {
          const float pj = __shfl_sync(0xffffffffu, p[g], j);
#pragma unroll
          for (int i = 0; i < DPL; ++i) acc[g][i] += pj * vf[i];
        }
      }
    }
  }

#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < G) {
      if (lane == 0) {
        wMax[warp][g] = m[g];
        wSum[warp][g] = l[g];
      }
#pragma unroll
      for (int i = 0; i < DPL; ++i) wAcc[warp][g][lane * DPL + i] = acc[g][i];
    }
  }
  __syncthreads();

  for (int i = threadIdx.x; i < G * D; i += blockDim.x) {
    const int g = i / D, d = i % D;
    float mAll = -INFINITY;
#pragma unroll
    for (int w = 0; w < kAttnWarps; ++w) mAll = fmaxf(mAll, wMax[w][g]);
    float lAll = 0.f, aAll = 0.f;
#pragma unroll
    for (int w = 0; w < kAttnWarps; ++w) {
      const float mw = wMax[w][g];
      if (mw == -INFINITY) continue;  // this warp had no tokens in the partition
      const float f = __expf(mw - mAll);
      lAll += wSum[w][g] * f;
      aAll += wAcc[w][g][d] * f;
    }
    const size_t row = ((size_t)seq * a.qHeads + kvh * G + g) * numPartitions + part;
    float* out = a.partOut + row * rowFloats(D);
    out[d] = aAll;
    if (d == 0) {
      out[D] = mAll;
      out[D + 1] = lAll;
    }
  }
}

// Grid (query head, sequence); D threads. Merges the partitions of one head's output.
template <typename T, int D>
__global__ void __launch_bounds__(256) attnReduceKernel(AttentionArgs a, int numPartitions) {
  const int h = blockIdx.x, seq = blockIdx.y, d = threadIdx.x;
  const int ctx = a.contextLens[seq];
  const int parts = (ctx + kAttnPartitionTokens - 1) / kAttnPartitionTokens;
  const float* base = a.partOut + ((size_t)seq * a.qHeads + h) * numPartitions * rowFloats(D);
  float mAll = -INFINITY;
  for (int p = 0; p < parts; ++p) mAll = fmaxf(mAll, base[(size_t)p * rowFloats(D) + D]);
  float lAll = 0.f, aAll = 0.f;
  for (int p = 0; p < parts; ++p) {
    const float* row = base + (size_t)p * rowFloats(D);
    const float f = __expf(row[D] - mAll);
    lAll += row[D + 1] * f;
    aAll += row[d] * f;
  }
  uint16_t* out = static_cast<uint16_t*>(a.out);
  out[((size_t)seq * a.qHeads + h) * D + d] = fToBits<T>(lAll > 0.f ? aAll / lAll : 0.f);
}

template <typename T, int D>
void launchTyped(const AttentionArgs& a, cudaStream_t s) {
  const int parts = (a.maxContext + kAttnPartitionTokens - 1) / kAttnPartitionTokens;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  attnPartitionKernel<T, D><<<dim3(parts, a.kvHeads, a.batch), kAttnWarps * 32, 0, s>>>(a, parts, scale);
  CK_LAUNCH();
  attnReduceKernel<T, D><<<dim3(a.qHeads, a.batch), D, 0, s>>>(a, parts);
  CK_LAUNCH();
}

template <typename T>
void launchForDim(const AttentionArgs& a, cudaStream_t s) {
  switch (a.headDim) {
    case 64: launchTyped<T, 64>(a, s); break;
    case 128: launchTyped<T, 128>(a, s); break;
    case 256: launchTyped<T, 256>(a, s); break;
    default: failUsage("attention: head_dim must be 64, 128 or 256");
  }
}

}  // namespace attention_impl

size_t attentionWorkspaceFloats(int batch, int qHeads, int headDim, int maxContext) {
  using namespace attention_impl;
  const size_t parts = (maxContext + kAttnPartitionTokens - 1) / kAttnPartitionTokens;
  return (size_t)batch * qHeads * parts * rowFloats(headDim);
}

void launchAttention(const AttentionArgs& a, cudaStream_t s) {
  using namespace attention_impl;
  if (a.batch < 1 || a.maxContext < 1) return;
  if (a.qHeads % a.kvHeads || a.qHeads / a.kvHeads > kMaxGroup) failUsage("attention: unsupported head grouping");
  if (a.dtype == DType::kBf16) launchForDim<__nv_bfloat16>(a, s);
  else launchForDim<__half>(a, s);
}

}  // namespace probe
