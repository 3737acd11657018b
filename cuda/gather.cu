// The batch gather kernel: one thread per output value of x, the targets
// written by the threads of each row's first columns. A pixel p becomes
// (float)(p * scale) with the product in double, as Dataset::gather rounds it,
// so a batch gathered here equals the host's bit for bit.
#include "cuda/gather.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

struct GatherKernelArgs {
  const void* samples;
  bool samples_u8;
  int64_t cols;
  double scale;
  const int32_t* labels;
  const float* target_table;
  int64_t target_cols;
};

__global__ void gather_batch_kernel(int64_t count, GatherKernelArgs a, const int64_t* __restrict__ rows,
                                    float* __restrict__ x, void* __restrict__ target) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= count) return;
  const int64_t i = e / a.cols, j = e % a.cols, r = rows[i];
  const double v = a.samples_u8 ? static_cast<double>(static_cast<const uint8_t*>(a.samples)[r * a.cols + j])
                                : static_cast<double>(static_cast<const float*>(a.samples)[r * a.cols + j]);
  x[e] = static_cast<float>(v * a.scale);
  CUMLP_COUNT_FLOPS(1);  // the scale (in double)
  if (a.labels) {
    if (j == 0) static_cast<int32_t*>(target)[i] = a.labels[r];
  } else {
    for (int64_t t = j; t < a.target_cols; t += a.cols)
      static_cast<float*>(target)[i * a.target_cols + t] = a.target_table[r * a.target_cols + t];
  }
}

}  // namespace

int launch_gather_batch(const GatherArgs& a, const int64_t* rows, int64_t n, float* x, void* target,
                        cudaStream_t stream) {
  NvtxRange range("gather_batch", n, a.cols);
  CUMLP_CHECK(n >= 0 && a.cols >= 1, "gather_batch: bad shape n=", n, " cols=", a.cols);
  CUMLP_CHECK(n == 0 || (a.samples && rows && x && target && (a.labels || a.target_table)),
              "gather_batch: null buffer");
  CUMLP_CHECK(a.labels || a.target_cols >= 1, "gather_batch: targets of width ", a.target_cols);
  const GatherKernelArgs k{a.samples,
                           a.samples_u8,
                           a.cols,
                           a.scale,
                           a.labels,
                           static_cast<const float*>(a.target_table),
                           a.target_cols};
  return launch_elementwise(gather_batch_kernel, n * a.cols, stream, k, rows, x, target);
}

CUMLP_GPU_NAMESPACE_END
