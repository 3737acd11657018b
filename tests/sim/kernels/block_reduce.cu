// Block reduction: grid-stride partial sums, a shuffle reduction per warp, the
// warps' partials through dynamic shared memory, then warp 0 finishes.
#include "tests/sim/kernels/reference.cuh"

namespace {

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = warpSize / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

__global__ void block_reduce_kernel(const float* __restrict__ x, float* __restrict__ out, int n) {
  CUMLP_DYNAMIC_SHARED(float, warp_partials);
  float v = 0.0f;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
  v = warp_sum(v);
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  if (lane == 0) warp_partials[warp] = v;
  __syncthreads();  // partials written before warp 0 reads them
  if (warp == 0) {
    const int warps = (blockDim.x + warpSize - 1) / warpSize;
    v = lane < warps ? warp_partials[lane] : 0.0f;
    v = warp_sum(v);
    if (lane == 0) out[blockIdx.x] = v;
  }
}

}  // namespace

void launch_block_reduce(const float* x, float* out, int n, int blocks, int threads, cudaStream_t stream) {
  // Whole warps only: the shuffles name all 32 lanes.
  const int warps = (threads + 31) / 32;
  CUMLP_LAUNCH(block_reduce_kernel, blocks, warps * 32, warps * sizeof(float), stream, x, out, n);
}
