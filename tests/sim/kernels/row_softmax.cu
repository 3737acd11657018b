// Row softmax, one block per row: block-wide max, then block-wide sum of
// exp(x - max), each a warp shuffle reduction plus a pass through shared memory.
#include "tests/sim/kernels/reference.cuh"

namespace {

constexpr int kMaxWarps = 32;

template <class Op>
__device__ __forceinline__ float warp_reduce(float v, Op op) {
  for (int mask = warpSize / 2; mask > 0; mask /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, mask));
  return v;
}

// Every thread gets the block's result. `partials` is reused by the next call,
// so the trailing barrier keeps a fast warp from overwriting it early.
template <class Op>
__device__ float block_reduce(float v, Op op, float* partials) {
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int warps = blockDim.x / warpSize;
  v = warp_reduce(v, op);
  if (lane == 0) partials[warp] = v;
  __syncthreads();
  v = partials[0];
  for (int w = 1; w < warps; ++w) v = op(v, partials[w]);
  __syncthreads();
  return v;
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};

__global__ void row_softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int cols) {
  CUMLP_SHARED(float, partials, [kMaxWarps]);
  const float* row = x + static_cast<long long>(blockIdx.x) * cols;
  float* out = y + static_cast<long long>(blockIdx.x) * cols;
  float m = -INFINITY;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c]);
  m = block_reduce(m, Max{}, partials);
  float s = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += __expf(row[c] - m);
  s = block_reduce(s, Sum{}, partials);
  const float inv = __fdividef(1.0f, s);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) out[c] = __expf(row[c] - m) * inv;
}

}  // namespace

void launch_row_softmax(const float* x, float* y, int rows, int cols, int threads, cudaStream_t stream) {
  if (rows == 0) return;
  const int warps = threads < 32 ? 1 : (threads > 32 * kMaxWarps ? kMaxWarps : threads / 32);
  CUMLP_LAUNCH(row_softmax_kernel, rows, warps * 32, 0, stream, x, y, cols);
}
