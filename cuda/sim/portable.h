// The one header a cumlp kernel source includes besides the CUDA ones.
//
// Under nvcc it only adds the three macros that differ between the GPU and the
// simulator (static and dynamic shared memory, the launch). Under g++ it brings
// in the SIMT simulator: CUDA's built-in variables, barriers, warp shuffles and
// votes, atomics, math intrinsics and vector types, so the same .cu source runs
// on the CPU with faithfulness checks (see the top-level DESIGN.md, "The SIMT simulator").
//
//   CUMLP_SHARED(float, tile, [32][33]);   // __shared__ float tile[32][33];
//   CUMLP_DYNAMIC_SHARED(float, smem);      // extern __shared__ float smem[];
//   CUMLP_LAUNCH(kernel, grid, block, smem_bytes, stream, args...);
//   CUMLP_COUNT_FMA(n);    // this thread did n FMAs (counted by access tracing only)
//   CUMLP_COUNT_FLOPS(n);  // this thread did n other floating-point operations
//   float4 v = ld_float4(p);  st_float4(p, v);   // one 16-byte access (p 16-byte aligned)
//   float4 v = ld_float4_cg(p);   // the same, past L1: data other blocks wrote
//   float v = ld_cg(p);           // one float, past L1
//
// ld_float4/st_float4 keep a float4 access one 16-byte instruction in the
// simulator too (g++ would split `*(float4*)p` into four 4-byte loads once the
// fields are used apart), so access tracing counts it as the GPU issues it.
//
// Kernels must not rely on warp lockstep, must keep barriers uniform across the
// block, must not wait on other blocks and must not keep static device state.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#define CUMLP_SHARED(T, name, ...) __shared__ T name __VA_ARGS__
#define CUMLP_DYNAMIC_SHARED(T, name) extern __shared__ __align__(16) T name[]
#define CUMLP_LAUNCH(kernel, grid, block, smem, stream, ...) kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#define CUMLP_COUNT_FMA(n) ((void)0)
#define CUMLP_COUNT_FLOPS(n) ((void)0)

__device__ __forceinline__ float4 ld_float4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st_float4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
/// A float4 another block wrote (after a fence), read past the L1 cache.
__device__ __forceinline__ float4 ld_float4_cg(const float* p) { return __ldcg(reinterpret_cast<const float4*>(p)); }
/// A float another block wrote (after a fence), read past the L1 cache.
__device__ __forceinline__ float ld_cg(const float* p) { return __ldcg(p); }

#else

#include "cuda/sim/device.h"

#endif
