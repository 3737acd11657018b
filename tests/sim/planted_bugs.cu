// Planted bugs; see planted_bugs.cuh. Compiled for the simulator only.
#include "tests/sim/planted_bugs.cuh"

namespace {

constexpr int kReduceThreads = 128;

template <bool kSynced>
__global__ void reduce_kernel(const float* x, float* out, int n) {
  CUMLP_SHARED(float, buf, [kReduceThreads]);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  buf[threadIdx.x] = i < n ? x[i] : 0.0f;
  if (kSynced) __syncthreads();  // the planted bug: without it, reads below race the writes above
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = buf[0];
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void early_exit_barrier_kernel(float* out, int n) {
  if (int(threadIdx.x) >= n) return;
  out[threadIdx.x] = 1.0f;
  __syncthreads();
}

__global__ void shuffle_outside_mask_kernel(float* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0xffffu, float(threadIdx.x), 20);
}

__global__ void deadlock_kernel(float* out) {
  float v = float(threadIdx.x);
  if (threadIdx.x == 0) v = __shfl_sync(0x3u, v, 1);
  else __syncthreads();
  out[threadIdx.x] = v;
}

__global__ void overflow_shared_kernel(float* out) {
  CUMLP_SHARED(float, buf, [64]);
  // In block 1 only, so the report's coordinates are predictable: thread 64
  // writes one past the end.
  // Through a pointer, as most overflows happen, so AddressSanitizer (not the
  // array-bounds check of UBSan) is what sees it.
  const unsigned slot = blockIdx.x == 1 ? threadIdx.x : threadIdx.x % 64;
  float* p = buf;
  p[slot] = float(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = buf[threadIdx.x % 64];
}

}  // namespace

void launch_reduce_missing_sync(const float* x, float* out, int n, cudaStream_t stream) {
  CUMLP_LAUNCH(reduce_kernel<false>, (n + kReduceThreads - 1) / kReduceThreads, kReduceThreads, 0, stream, x, out, n);
}
void launch_reduce_with_sync(const float* x, float* out, int n, cudaStream_t stream) {
  CUMLP_LAUNCH(reduce_kernel<true>, (n + kReduceThreads - 1) / kReduceThreads, kReduceThreads, 0, stream, x, out, n);
}
void launch_divergent_barrier(float* out, cudaStream_t stream) {
  CUMLP_LAUNCH(divergent_barrier_kernel, 1, 64, 0, stream, out);
}
void launch_early_exit_barrier(float* out, int n, cudaStream_t stream) {
  CUMLP_LAUNCH(early_exit_barrier_kernel, 1, 64, 0, stream, out, n);
}
void launch_shuffle_outside_mask(float* out, cudaStream_t stream) {
  CUMLP_LAUNCH(shuffle_outside_mask_kernel, 1, 32, 0, stream, out);
}
void launch_deadlock(float* out, cudaStream_t stream) { CUMLP_LAUNCH(deadlock_kernel, 1, 64, 0, stream, out); }
void launch_overflow_shared(float* out, cudaStream_t stream) {
  CUMLP_LAUNCH(overflow_shared_kernel, 2, 65, 0, stream, out);
}
