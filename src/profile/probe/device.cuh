// orbitflow probe: device-side helpers for 16-bit data kept as raw uint16_t bits.
#pragma once

#include "common.cuh"

namespace probe {

template <typename T>
__device__ __forceinline__ float bitsToF(uint16_t b);
template <>
__device__ __forceinline__ float bitsToF<__nv_bfloat16>(uint16_t b) {
  return __uint_as_float(static_cast<uint32_t>(b) << 16);  // bf16 is the top half of an fp32
}
template <>
__device__ __forceinline__ float bitsToF<__half>(uint16_t b) {
  return __half2float(__ushort_as_half(b));
}

template <typename T>
__device__ __forceinline__ uint16_t fToBits(float f);
template <>
__device__ __forceinline__ uint16_t fToBits<__nv_bfloat16>(float f) {
  return __bfloat16_as_ushort(__float2bfloat16(f));
}
template <>
__device__ __forceinline__ uint16_t fToBits<__half>(float f) {
  return __half_as_ushort(__float2half(f));
}

template <typename T>
__device__ __forceinline__ void unpack2(uint32_t v, float* o) {
  o[0] = bitsToF<T>(static_cast<uint16_t>(v & 0xffffu));  // little-endian: element 0 is the low half
  o[1] = bitsToF<T>(static_cast<uint16_t>(v >> 16));
}

// Load N consecutive 16-bit elements (N·2 bytes, naturally aligned) as floats in one vector load.
template <typename T, int N>
__device__ __forceinline__ void loadF(const uint16_t* p, float* out) {
  if constexpr (N == 2) {
    unpack2<T>(*reinterpret_cast<const uint32_t*>(p), out);
  } else if constexpr (N == 4) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    unpack2<T>(v.x, out);
    unpack2<T>(v.y, out + 2);
  } else {
    static_assert(N == 8, "loadF loads 2, 4 or 8 elements");
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    unpack2<T>(v.x, out);
    unpack2<T>(v.y, out + 2);
    unpack2<T>(v.z, out + 4);
    unpack2<T>(v.w, out + 6);
  }
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace probe
