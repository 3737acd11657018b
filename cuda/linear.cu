// Linear layer kernels: the GEMM template of gemm.cuh with three epilogues,
// and the row softmax of an output layer. Formulas and rounding follow
// host/cpu/linear_cpu.cpp (its twin): the activation comes from
// host/shared/activation.h and the dropout mask from rng::dropout_keep keyed by
// (seed, layer, step, element index), so masks equal the CPU's bit for bit.
// On a GPU, the wide products whose epilogue cuBLASLt has go to it instead
// (cuda/lt_gemm.cuh), after a check against the GEMM here.
#include "cuda/linear.cuh"

#include "cuda/gemm.cuh"
#include "cuda/gemm_tf32.cuh"
#include "host/shared/rng.h"
#if defined(__CUDACC__)
#include "cuda/lt_gemm.cuh"
#endif

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

// The dropout of one layer's [M, width] output, by element index. The step
// comes from the StepRecord when there is one (a replayed step reads it when
// it runs), else from the launch arguments.
struct Dropout {
  uint64_t seed = 0;
  uint32_t layer = 0, step = 0;
  float p = 0, scale = 0;  // p == 0: no dropout
  const StepRecord* record = nullptr;
  int64_t element0 = 0;  // key of element 0 (a rank's first row in the global batch)

  static Dropout of(const Epilogue& ep) {
    Dropout d;
    if (ep.dropout_p <= 0) return d;
    d.seed = ep.seed;
    d.layer = ep.layer;
    d.step = ep.step;
    d.record = ep.record;
    d.element0 = ep.element0;
    d.p = static_cast<float>(ep.dropout_p);
    d.scale = dropout_scale(ep.dropout_p);
    return d;
  }
  __device__ float factor(int64_t e) const {
    const uint32_t s = record ? static_cast<uint32_t>(record->updates) : step;
    return rng::dropout_keep(seed, layer, s, static_cast<uint64_t>(element0 + e), p) ? scale : 0.0f;
  }
};

// Forward: bias, activation (softmax is left to the row kernel), dropout.
struct ForwardEpilogue {
  const float* b;
  float* y;
  float* y_drop;  // null: no dropout here
  int N, act;
  float alpha;
  Dropout drop;
  __device__ void operator()(int i, int j, float acc) const {
    float v = acc;
    if (b) v += b[j];
    if (act != ops::kSoftmax) v = ops::act_forward(act, v, alpha);
    const int64_t e = static_cast<int64_t>(i) * N + j;
    y[e] = v;
    if (y_drop) y_drop[e] = v * drop.factor(e);
  }
};

// Input gradient: the previous layer's dropout, then its activation derivative.
struct BackwardDataEpilogue {
  const float* y_prev;
  float* dz_prev;
  int K, act;
  float alpha;
  Dropout drop;
  __device__ void operator()(int i, int j, float acc) const {
    const int64_t e = static_cast<int64_t>(i) * K + j;
    float g = acc;
    if (drop.p > 0) g *= drop.factor(e);
    dz_prev[e] = g * ops::act_derivative(act, y_prev[e], alpha);
  }
};

struct StoreEpilogue {
  float* c;
  int ldc;
  __device__ void operator()(int i, int j, float acc) const { c[static_cast<int64_t>(i) * ldc + j] = acc; }
};

// Softmax of each row of y in place (one block per row), then its dropout.
// The sums are block reductions of fixed shape; each thread touches only its
// own columns between them.
__global__ void __launch_bounds__(kMaxRowThreads)
    softmax_rows_kernel(int64_t cols, float* __restrict__ y, float* __restrict__ y_drop, Dropout drop) {
  CUMLP_SHARED(float, scratch, [kMaxRowThreads]);
  float* row = y + blockIdx.x * cols;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, row[j]);
  mx = block_reduce(mx, scratch, MaxOp{});
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    row[j] = expf(row[j] - mx);
    sum += row[j];
  }
  sum = block_reduce(sum, scratch, SumOp{});
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    row[j] = row[j] / sum;
    const int64_t e = blockIdx.x * cols + j;
    if (y_drop) y_drop[e] = row[j] * drop.factor(e);
  }
}

// The GEMM of a precision: the fp32 kernel, or the tensor-core kernel for
// TF32 / TF32x3. (cuBLASLt, fp32 only, is left out by the callers then.)
template <bool kTransA, bool kTransB, class Epi>
int launch_gemm_at(Precision precision, int64_t M, int64_t N, int64_t K, const float* A, const float* B,
                   float* a_row_sums, const Epi& epi, cudaStream_t stream) {
  if (precision == Precision::FP32) return launch_gemm<kTransA, kTransB>(M, N, K, A, B, a_row_sums, epi, stream);
  const Tf32Mode mode = precision == Precision::TF32x3 ? Tf32Mode::tf32x3 : Tf32Mode::tf32;
  return launch_gemm_tf32<kTransA, kTransB>(mode, M, N, K, A, B, a_row_sums, epi, stream);
}

void check_shape(const char* op, int64_t M, int64_t N, int64_t K) {
  CUMLP_CHECK(M >= 0 && N >= 0 && K >= 0, op, ": negative size M=", M, " N=", N, " K=", K);
}

}  // namespace

int launch_linear_act_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b,
                              const Epilogue& ep, float* y, float* y_drop, LtContext* lt, cudaStream_t stream,
                              Precision precision) {
  NvtxRange range("linear_act_forward");
  check_shape("linear_act_forward", M, N, K);
  CUMLP_CHECK(ep.act >= ops::kIdentity && ep.act <= ops::kSoftmax, "linear_act_forward: unknown activation ", ep.act);
  CUMLP_CHECK(ep.dropout_p >= 0 && ep.dropout_p < 1, "linear_act_forward: dropout p ", ep.dropout_p, " not in [0, 1)");
  CUMLP_CHECK(ep.dropout_p == 0 || y_drop, "linear_act_forward: dropout without a y_drop buffer");
  const bool softmax = ep.act == ops::kSoftmax;
  const Dropout drop = Dropout::of(ep);
  float* gemm_drop = softmax || ep.dropout_p == 0 ? nullptr : y_drop;  // softmax drops after normalising
  const ForwardEpilogue epi{b, y, gemm_drop, static_cast<int>(N), ep.act, static_cast<float>(ep.alpha), drop};
  auto gemm = [&] { return launch_gemm_at<false, true>(precision, M, N, K, x, w, nullptr, epi, stream); };
  if (precision != Precision::FP32) lt = nullptr;
#if defined(__CUDACC__)
  // cuBLASLt has bias and ReLU epilogues; dropout, softmax and the other activations stay fused in the own GEMM.
  const bool plain = ep.dropout_p == 0 && (ep.act == ops::kIdentity || ep.act == ops::kReLU);
  int launches =
      lt ? lt->run(plain, LtCall::forward(M, N, K, x, w, b, ep.act == ops::kReLU, y), stream, gemm) : gemm();
#else
  (void)lt;
  int launches = gemm();
#endif
  if (softmax && launches > 0) {
    CUMLP_CHECK(M <= 0x7fffffff, "linear_act_forward: ", M, " rows exceed the grid");
    CUMLP_LAUNCH(softmax_rows_kernel, dim3(static_cast<unsigned>(M)), dim3(row_threads(N)), 0, stream, N, y,
                 ep.dropout_p > 0 ? y_drop : nullptr, drop);
    CUMLP_CUDA_CHECK(cudaGetLastError());
    ++launches;
  }
  return launches;
}

int launch_linear_backward_data(int64_t M, int64_t N, int64_t K, const float* dz, const float* w,
                                const float* y_prev, const Epilogue& ep, float* dz_prev, LtContext* lt,
                                cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_backward_data");
  check_shape("linear_backward_data", M, N, K);
  CUMLP_CHECK(ep.dropout_p >= 0 && ep.dropout_p < 1, "linear_backward_data: dropout p ", ep.dropout_p,
              " not in [0, 1)");
  const BackwardDataEpilogue epi{y_prev, dz_prev, static_cast<int>(K), ep.act, static_cast<float>(ep.alpha),
                                 Dropout::of(ep)};
  // dz_prev [M, K] = dz [M, N] w [N, K]: the GEMM's inner dimension is N.
  auto gemm = [&] { return launch_gemm_at<false, false>(precision, M, K, N, dz, w, nullptr, epi, stream); };
  if (precision != Precision::FP32) lt = nullptr;
#if defined(__CUDACC__)
  // cuBLASLt's DEFAULT epilogue only when there is nothing to fuse. (ReLU would need DRELU with the
  // forward's RELU_AUX bitmask, a buffer per layer the executor does not keep.)
  const bool plain = ep.dropout_p == 0 && ep.act == ops::kIdentity;
  if (lt) return lt->run(plain, LtCall::backward_data(M, N, K, dz, w, dz_prev), stream, gemm);
#else
  (void)lt;
#endif
  return gemm();
}

int launch_linear_backward_weight(int64_t M, int64_t N, int64_t K, const float* dz, const float* x, float* dw,
                                  float* db, LtContext* lt, cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_backward_weight");
  check_shape("linear_backward_weight", M, N, K);
  if (N > 0 && K == 0 && db) {
    // dw is empty, so no GEMM block runs to sum the bias gradient: a degenerate
    // layer the plan never builds (no inputs). Refuse it rather than skip db.
    CUMLP_THROW("linear_backward_weight: bias gradient of a layer with no inputs");
  }
  // dw [N, K] = dz^T [N, M] x [M, K]: op(A) = dz transposed, inner dimension M;
  // the row sums of op(A) are the column sums of dz, the bias gradient.
  auto gemm = [&] {
    return launch_gemm_at<true, false>(precision, N, K, M, dz, x, db, StoreEpilogue{dw, static_cast<int>(K)}, stream);
  };
  if (precision != Precision::FP32) lt = nullptr;
#if defined(__CUDACC__)
  if (lt) return lt->run(true, LtCall::backward_weight(M, N, K, dz, x, dw, db), stream, gemm);  // db: BGRADB
#else
  (void)lt;
#endif
  return gemm();
}

CUMLP_GPU_NAMESPACE_END
