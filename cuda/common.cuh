// What every kernel file of the CUDA backend shares: the namespace that keeps
// the nvcc build and the simulator build of the same sources apart, the one
// error-check macro, the NVTX range of a launcher, the launch helper for
// elementwise kernels and the deterministic block reduction.
//
// Each source here is compiled twice into libcumlp: by nvcc for the `cuda`
// device and by g++ against cuda/sim for the `sim` device. The two builds
// define the same kernels and classes, so each lives in its own inline
// namespace (cumlp::gpu::nv or cumlp::gpu::simt); code inside a build writes
// cumlp::gpu::name and gets its own copy.
#pragma once

#include <cstdint>

#include "cuda/sim/portable.h"
#include "host/shared/error_macros.h"

#if defined(__CUDACC__)
#include <nvtx3/nvToolsExt.h>
#define CUMLP_GPU_BUILD nv
#elif defined(CUMLP_SIM_TRACED)
#define CUMLP_GPU_BUILD simt_traced  // the access-traced twin of the simulator build
#else
#define CUMLP_GPU_BUILD simt
#endif

#define CUMLP_GPU_NAMESPACE_BEGIN \
  namespace cumlp::gpu {          \
  inline namespace CUMLP_GPU_BUILD {
#define CUMLP_GPU_NAMESPACE_END \
  }                             \
  }

/// Throws cumlp::Error naming the call, file:line and CUDA's error string.
#define CUMLP_CUDA_CHECK(call)                                                                      \
  do {                                                                                             \
    const cudaError_t cumlp_err_ = (call);                                                         \
    if (cumlp_err_ != cudaSuccess) CUMLP_THROW(#call, ": ", cudaGetErrorString(cumlp_err_));       \
  } while (0)

/// For destructors and release paths, which must not throw: reports and goes on.
#define CUMLP_CUDA_WARN(call) ::cumlp::gpu::warn_on_error((call), #call, __FILE__, __LINE__)

CUMLP_GPU_NAMESPACE_BEGIN

void warn_on_error(cudaError_t err, const char* call, const char* file, int line) noexcept;

/// An NVTX range for the lifetime of a launcher (on the simulator, the op name
/// access tracing gives the launches made inside it). The dimensions, when
/// given, are the op's shape (a GEMM's M, N, K; an elementwise op's rows and
/// cols; < 0: absent): the profile keys its rows by op and shape, so two ops
/// with the same grid stay apart. A GPU build ignores them.
class NvtxRange {
 public:
#if defined(__CUDACC__)
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  NvtxRange(const char* name, int64_t, int64_t = -1, int64_t = -1) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
#else
  // The simulator keeps the name, so access tracing can say which op launched a kernel.
  explicit NvtxRange(const char* name) { ::sim::detail::push_range(name); }
  NvtxRange(const char* name, int64_t d0, int64_t d1 = -1, int64_t d2 = -1) {
    ::sim::detail::push_range(name, d0, d1, d2);
  }
  ~NvtxRange() { ::sim::detail::pop_range(); }
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

constexpr int kElementwiseThreads = 256;

/// kernel(n, args...) over n elements, one thread each: ceil-div grid, nothing
/// launched for n == 0, the launch checked. Returns the launches made (0 or 1).
template <class... Params, class... Args>
int launch_elementwise(void (*kernel)(int64_t, Params...), int64_t n, cudaStream_t stream, Args... args) {
  if (n == 0) return 0;
  const int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  CUMLP_CHECK(blocks <= 0x7fffffff, "elementwise launch over ", n, " elements exceeds the grid limit");
  CUMLP_LAUNCH(kernel, dim3(static_cast<unsigned>(blocks)), dim3(kElementwiseThreads), 0, stream, n, args...);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

/// The largest block a row kernel uses; also the size of the reduction scratch.
constexpr int kMaxRowThreads = 256;

/// Threads for a kernel that gives one block to a row of `cols` values: a power
/// of two (the tree reduction needs it) from 32 to kMaxRowThreads.
inline int row_threads(int64_t cols) {
  int t = 32;
  while (t < kMaxRowThreads && t < cols) t *= 2;
  return t;
}

struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

/// Combines every thread's v with op over a block of a power-of-two size
/// (at most kMaxRowThreads) and returns the result to all threads. The tree
/// has a fixed shape, so the result is the same bits on every run and every
/// schedule. `scratch` is a shared array of kMaxRowThreads floats; the leading
/// barrier lets a caller reuse it for consecutive reductions.
template <class Op>
__device__ float block_reduce(float v, float* scratch, Op op) {
  const int t = threadIdx.x;
  __syncthreads();  // previous readers of scratch are done
  scratch[t] = v;
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    __syncthreads();
    if (t < half) {
      const float r = op(scratch[t], scratch[t + half]);
      CUMLP_COUNT_FLOPS(1);  // between the load and the store of scratch[t] (cuda/sim/trace.h)
      scratch[t] = r;
    }
  }
  __syncthreads();
  return scratch[0];
}

/// The threads that work on one row: the whole block (a block per row, of a
/// power-of-two size) or one warp (a row of at most 32 columns; the rows of a
/// GEMM tile in parallel warps, cuda/linear.cu). A warp's reduce is
/// block_reduce's tree for 32 threads done with shuffles (lane t adds lane
/// t + half for half = 16 .. 1), so for a row of <= 32 columns both give the
/// same bits as a 32-thread block (row_threads).
struct BlockRow {
  float* scratch;  // kMaxRowThreads floats of shared memory
  __device__ int lane() const { return static_cast<int>(threadIdx.x); }
  __device__ int width() const { return static_cast<int>(blockDim.x); }
  template <class Op>
  __device__ float reduce(float v, Op op) const {
    return block_reduce(v, scratch, op);
  }
};
struct WarpRow {
  __device__ int lane() const { return static_cast<int>(threadIdx.x) % 32; }
  __device__ int width() const { return 32; }
  template <class Op>
  __device__ float reduce(float v, Op op) const {
    for (int half = 16; half > 0; half /= 2) {
      const float other = __shfl_down_sync(0xffffffffu, v, half);
      if (lane() < half) {
        v = op(v, other);
        CUMLP_COUNT_FLOPS(1);
      }
    }
    return __shfl_sync(0xffffffffu, v, 0);
  }
};

/// Softmax of one row in place by its threads `t`: max, then exp and sum,
/// then the division, with t.reduce's fixed trees; each thread touches only
/// its own columns (j = lane + k * width) between the reductions. The softmax
/// forward and the loss that normalises the logits itself share it, so both
/// give the same bits.
template <class Row>
__device__ void softmax_row(const Row& t, float* row, int64_t cols) {
  float mx = -INFINITY;
  for (int64_t j = t.lane(); j < cols; j += t.width()) {
    mx = fmaxf(mx, row[j]);
    CUMLP_COUNT_FLOPS(1);
  }
  mx = t.reduce(mx, MaxOp{});
  float sum = 0.0f;
  for (int64_t j = t.lane(); j < cols; j += t.width()) {
    const float e = expf(row[j] - mx);
    CUMLP_COUNT_FLOPS(3);  // subtract, exp, add; between the load and the store (cuda/sim/trace.h)
    row[j] = e;
    sum += e;
  }
  sum = t.reduce(sum, SumOp{});
  for (int64_t j = t.lane(); j < cols; j += t.width()) {
    const float v = row[j] / sum;
    CUMLP_COUNT_FLOPS(1);  // between the load and the store
    row[j] = v;
  }
}

/// softmax_row by the whole block (one block per row).
__device__ inline void softmax_row(float* row, int64_t cols, float* scratch) { softmax_row(BlockRow{scratch}, row, cols); }

/// The inverted-dropout scale 1/(1-p), rounded to float exactly as the CPU
/// backend rounds it, so kept values match it bit for bit.
inline float dropout_scale(double p) { return 1.0f / (1.0f - static_cast<float>(p)); }

CUMLP_GPU_NAMESPACE_END
