// Linear layer kernels: the GEMM template of gemm.cuh with three epilogues,
// and the row softmax of an output layer. Formulas and rounding follow
// host/cpu/linear_cpu.cpp (its twin): the activation comes from
// host/shared/activation.h and the dropout mask from rng::dropout_keep keyed by
// (seed, layer, step, element index), so masks equal the CPU's bit for bit.
// On a GPU, the wide products whose epilogue cuBLASLt has go to it instead
// (cuda/lt_gemm.cuh), after a check against the GEMM here.
#include "cuda/linear.cuh"

#include "cuda/dropout.cuh"
#include "cuda/gemm_group.cuh"
#include "cuda/loss_rows.cuh"
#include "host/shared/rng.h"
#if defined(__CUDACC__)
#include "cuda/lt_gemm.cuh"
#endif

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

// The epilogues: operator() for one output (i, j); four() for (i, j..j+3),
// j + 3 < the row length, with float4 accesses, used by the GEMM when `vec4`
// (every pointer 16-byte aligned, rows a multiple of 4 floats). Both compute
// each element the same way, so the bits do not depend on which one ran.

// Forward: bias, activation (softmax is left to the row kernel), dropout.
struct ForwardEpilogue {
  const float* b;
  float* y;
  float* y_drop;  // null: no dropout here
  int N, act;
  float alpha;
  Dropout drop;
  bool vec4 = false;

  void set_vec4() { vec4 = N % 4 == 0 && aligned16(y) && (!b || aligned16(b)) && (!y_drop || aligned16(y_drop)); }
  __device__ float value(float acc, float bias) const {
    float v = acc;
    if (b) v += bias;
    if (act != ops::kSoftmax) v = ops::act_forward(act, v, alpha);
    // Bias add, activation (one operation; softmax counts in its own kernel), dropout scale.
    CUMLP_COUNT_FLOPS((b ? 1 : 0) + (act != ops::kIdentity && act != ops::kSoftmax ? 1 : 0) + (y_drop ? 1 : 0));
    return v;
  }
  __device__ void operator()(int i, int j, float acc) const {
    const float v = value(acc, b ? b[j] : 0.0f);
    const int64_t e = static_cast<int64_t>(i) * N + j;
    y[e] = v;
    if (y_drop) y_drop[e] = v * drop.factor(e);
  }
  __device__ void four(int i, int j, const float (&acc)[4]) const {
    const float4 bias = b ? ld_float4(b + j) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    const float4 v = make_float4(value(acc[0], bias.x), value(acc[1], bias.y), value(acc[2], bias.z), value(acc[3], bias.w));
    const int64_t e = static_cast<int64_t>(i) * N + j;
    st_float4(y + e, v);
    if (y_drop)
      st_float4(y_drop + e, make_float4(v.x * drop.factor(e), v.y * drop.factor(e + 1), v.z * drop.factor(e + 2),
                                        v.w * drop.factor(e + 3)));
  }
};

// Input gradient: the previous layer's dropout, then its activation derivative.
struct BackwardDataEpilogue {
  const float* y_prev;
  float* dz_prev;
  int K, act;
  float alpha;
  Dropout drop;
  bool vec4 = false;

  void set_vec4() { vec4 = K % 4 == 0 && aligned16(y_prev) && aligned16(dz_prev); }
  __device__ float value(int64_t e, float acc, float y) const {
    float g = acc;
    if (drop.p > 0) g *= drop.factor(e);
    // Dropout scale, the derivative (one operation unless identity) and the product.
    CUMLP_COUNT_FLOPS((drop.p > 0 ? 1 : 0) + (act != ops::kIdentity ? 1 : 0) + 1);
    return g * ops::act_derivative(act, y, alpha);
  }
  __device__ void operator()(int i, int j, float acc) const {
    const int64_t e = static_cast<int64_t>(i) * K + j;
    dz_prev[e] = value(e, acc, y_prev[e]);
  }
  __device__ void four(int i, int j, const float (&acc)[4]) const {
    const int64_t e = static_cast<int64_t>(i) * K + j;
    const float4 y = ld_float4(y_prev + e);
    st_float4(dz_prev + e, make_float4(value(e, acc[0], y.x), value(e + 1, acc[1], y.y), value(e + 2, acc[2], y.z),
                                       value(e + 3, acc[3], y.w)));
  }
};

struct StoreEpilogue {
  float* c;
  int ldc;
  bool vec4 = false;

  void set_vec4() { vec4 = ldc % 4 == 0 && aligned16(c); }
  __device__ void operator()(int i, int j, float acc) const { c[static_cast<int64_t>(i) * ldc + j] = acc; }
  __device__ void four(int i, int j, const float (&acc)[4]) const {
    st_float4(c + static_cast<int64_t>(i) * ldc + j, make_float4(acc[0], acc[1], acc[2], acc[3]));
  }
};

// The output layer's forward with the loss fused (outputs <= 32 wide, one
// tile column): the forward epilogue writes y (a softmax output's logits, which
// the loss normalises), then, once the tile is written, each warp of the block
// computes the loss of rows m0 + warp, m0 + warp + warps, ... with
// cuda/loss_rows.cuh's row functions (WarpRow: the same bits as the loss
// kernel's 32-thread block), and the last tile's block adds the rows' losses
// in loss.cu's fixed order (the same counter pattern, reset for the next launch).
struct LossEpilogue {
  using finishes_tile = void;
  ForwardEpilogue fwd;
  RowLoss a;
  const void* target;
  float* dz;
  LossScratch out;
  float scale;
  float* loss;
  StepRecord* record;
  bool vec4 = false;

  void set_vec4() {
    fwd.set_vec4();
    vec4 = fwd.vec4;
  }
  __device__ void operator()(int i, int j, float acc) const { fwd(i, j, acc); }
  __device__ void four(int i, int j, const float (&acc)[4]) const { fwd.four(i, j, acc); }
  __device__ void finish_tile(int m0, int bm, int tiles, float* scratch) const {
    __syncthreads();  // the tile's outputs, written by every thread, are visible to the block
    const WarpRow t;
    const int warps = static_cast<int>(blockDim.x) / 32, w = static_cast<int>(threadIdx.x) / 32;
    for (int r = w; r < bm && m0 + r < a.rows; r += warps) {  // uniform across the warp
      const float v = loss_row(t, a, m0 + r, fwd.y, target, dz);
      if (t.lane() == 0) out.row_loss[m0 + r] = v;
    }
    __threadfence();  // this block's rows' losses are visible before it counts itself done
    __syncthreads();
    const int last = __syncthreads_or(threadIdx.x == 0 &&
                                      atomicAdd(out.blocks_done, 1u) == static_cast<unsigned>(tiles - 1));
    if (!last) return;
    __threadfence();  // every other block's rows are visible from here
    finish_loss(a, out, scale, loss, record, scratch);
  }
};

// Softmax of each row of y in place (one block per row), then its dropout
// (each thread drops the columns it normalised).
__global__ void __launch_bounds__(kMaxRowThreads)
    softmax_rows_kernel(int64_t cols, float* __restrict__ y, float* __restrict__ y_drop, Dropout drop) {
  CUMLP_SHARED(float, scratch, [kMaxRowThreads]);
  float* row = y + blockIdx.x * cols;
  softmax_row(row, cols, scratch);
  if (!y_drop) return;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const int64_t e = blockIdx.x * cols + j;
    CUMLP_COUNT_FLOPS(1);
    y_drop[e] = row[j] * drop.factor(e);
  }
}

// The GEMM tiles of a precision: the fp32 SIMT block, or the tensor-core
// block for TF32 / TF32x3 (cuBLASLt, fp32 only, is left out by the callers
// then); f(tiles) launches with them.
template <class F>
int at_precision(Precision precision, F f) {
  switch (precision) {
    case Precision::FP32: return f(SimtTiles{});
    case Precision::TF32x3: return f(Tf32Tiles<Tf32Mode::tf32x3>{});
    default: return f(Tf32Tiles<Tf32Mode::tf32>{});
  }
}

template <class P>
int launch_gemm_at(Precision precision, const P& p, const GemmWorkspace& ws, cudaStream_t stream) {
  return at_precision(precision, [&](auto tiles) { return launch_gemm<decltype(tiles)>(p, ws, stream); });
}

void check_shape(const char* op, int64_t M, int64_t N, int64_t K) {
  CUMLP_CHECK(M >= 0 && N >= 0 && K >= 0, op, ": negative size M=", M, " N=", N, " K=", K);
}

// dz_prev [M, K] = dz [M, N] w [N, K]: the GEMM's inner dimension is N.
GemmProblem<false, false, BackwardDataEpilogue> data_problem(int64_t M, int64_t N, int64_t K, const float* dz,
                                                             const float* w, const float* y_prev, const Epilogue& ep,
                                                             float* dz_prev) {
  check_shape("linear_backward_data", M, N, K);
  CUMLP_CHECK(ep.dropout_p >= 0 && ep.dropout_p < 1, "linear_backward_data: dropout p ", ep.dropout_p,
              " not in [0, 1)");
  BackwardDataEpilogue epi{y_prev, dz_prev, static_cast<int>(K), ep.act, static_cast<float>(ep.alpha),
                           Dropout::of(ep)};
  epi.set_vec4();
  return make_gemm_problem<false, false>(M, K, N, dz, w, nullptr, epi);
}

// dw [N, K] = dz^T [N, M] x [M, K]: op(A) = dz transposed, inner dimension M;
// the row sums of op(A) are the column sums of dz, the bias gradient.
GemmProblem<true, false, StoreEpilogue> weight_problem(int64_t M, int64_t N, int64_t K, const float* dz,
                                                       const float* x, float* dw, float* db) {
  check_shape("linear_backward_weight", M, N, K);
  if (N > 0 && K == 0 && db) {
    // dw is empty, so no GEMM block runs to sum the bias gradient: a degenerate
    // layer the plan never builds (no inputs). Refuse it rather than skip db.
    CUMLP_THROW("linear_backward_weight: bias gradient of a layer with no inputs");
  }
  StoreEpilogue epi{dw, static_cast<int>(K)};
  epi.set_vec4();
  return make_gemm_problem<true, false>(N, K, M, dz, x, db, epi);
}

}  // namespace

int launch_linear_act_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b,
                              const Epilogue& ep, float* y, float* y_drop, const GemmWorkspace& ws, LtContext* lt,
                              cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_act_forward", M, N, K);
  check_shape("linear_act_forward", M, N, K);
  CUMLP_CHECK(ep.act >= ops::kIdentity && ep.act <= ops::kSoftmax, "linear_act_forward: unknown activation ", ep.act);
  CUMLP_CHECK(ep.dropout_p >= 0 && ep.dropout_p < 1, "linear_act_forward: dropout p ", ep.dropout_p, " not in [0, 1)");
  CUMLP_CHECK(ep.dropout_p == 0 || y_drop, "linear_act_forward: dropout without a y_drop buffer");
  const bool softmax = ep.act == ops::kSoftmax;
  const Dropout drop = Dropout::of(ep);
  float* gemm_drop = softmax || ep.dropout_p == 0 ? nullptr : y_drop;  // softmax drops after normalising
  ForwardEpilogue epi{b, y, gemm_drop, static_cast<int>(N), ep.act, static_cast<float>(ep.alpha), drop};
  epi.set_vec4();
  auto gemm = [&] {
    return launch_gemm_at(precision, make_gemm_problem<false, true>(M, N, K, x, w, nullptr, epi), ws, stream);
  };
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
  if (softmax && launches > 0 && !ep.softmax_in_loss) {
    CUMLP_CHECK(M <= 0x7fffffff, "linear_act_forward: ", M, " rows exceed the grid");
    CUMLP_LAUNCH(softmax_rows_kernel, dim3(static_cast<unsigned>(M)), dim3(row_threads(N)), 0, stream, N, y,
                 ep.dropout_p > 0 ? y_drop : nullptr, drop);
    CUMLP_CUDA_CHECK(cudaGetLastError());
    ++launches;
  }
  return launches;
}

bool linear_loss_fusable(int64_t N, const Epilogue& ep) {
  return N >= 1 && N <= kLossFusedMaxCols && ep.dropout_p == 0 &&
         (ep.act != ops::kSoftmax || ep.softmax_in_loss);
}

int launch_linear_loss_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b,
                               const Epilogue& ep, float* y, const LossArgs& a, const void* target, float* dz,
                               float* loss, LossScratch scratch, const GemmWorkspace& ws, cudaStream_t stream,
                               Precision precision) {
  NvtxRange range("linear_loss_forward", M, N, K);
  check_shape("linear_loss_forward", M, N, K);
  CUMLP_CHECK(ep.act >= ops::kIdentity && ep.act <= ops::kSoftmax, "linear_loss_forward: unknown activation ", ep.act);
  CUMLP_CHECK(linear_loss_fusable(N, ep),
              "linear_loss_forward: an output of ", N, " columns, activation ", ep.act, ", dropout ", ep.dropout_p,
              " does not fuse the loss (at most ", kLossFusedMaxCols, " columns, no dropout, softmax_in_loss)");
  CUMLP_CHECK(a.rows == M && a.cols == N && a.out_act == ep.act && a.normalise == (ep.act == ops::kSoftmax),
              "linear_loss_forward: loss [", a.rows, ", ", a.cols, "] does not match the layer [", M, ", ", N, "]");
  float scale = 1.0f;
  const RowLoss args = row_loss_args(a, &scale);
  CUMLP_CHECK(y && target && loss && scratch.row_loss && scratch.blocks_done && (dz || !a.want_grad),
              "linear_loss_forward: null buffer");
  LossEpilogue epi{ForwardEpilogue{b, y, nullptr, static_cast<int>(N), ep.act, static_cast<float>(ep.alpha), {}},
                   args, target, dz, scratch, scale, loss, a.record};
  epi.set_vec4();
  return launch_gemm_at(precision, make_gemm_problem<false, true>(M, N, K, x, w, nullptr, epi), ws, stream);
}

int launch_linear_backward_data(int64_t M, int64_t N, int64_t K, const float* dz, const float* w,
                                const float* y_prev, const Epilogue& ep, float* dz_prev, const GemmWorkspace& ws,
                                LtContext* lt, cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_backward_data", M, N, K);
  auto gemm = [&] { return launch_gemm_at(precision, data_problem(M, N, K, dz, w, y_prev, ep, dz_prev), ws, stream); };
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
                                  float* db, const GemmWorkspace& ws, LtContext* lt, cudaStream_t stream,
                                  Precision precision) {
  NvtxRange range("linear_backward_weight", M, N, K);
  auto gemm = [&] { return launch_gemm_at(precision, weight_problem(M, N, K, dz, x, dw, db), ws, stream); };
  if (precision != Precision::FP32) lt = nullptr;
#if defined(__CUDACC__)
  if (lt) return lt->run(true, LtCall::backward_weight(M, N, K, dz, x, dw, db), stream, gemm);  // db: BGRADB
#else
  (void)lt;
#endif
  return gemm();
}

int launch_linear_backward(int64_t M, int64_t N, int64_t K, const float* dz, const float* w, const float* x,
                           const float* y_prev, const Epilogue& ep, float* dw, float* db, float* dz_prev,
                           const GemmWorkspace& ws, cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_backward", M, N, K);
  const auto data = data_problem(M, N, K, dz, w, y_prev, ep, dz_prev);
  const auto weight = weight_problem(M, N, K, dz, x, dw, db);
  return at_precision(precision,
                      [&](auto tiles) { return launch_gemm_pair<decltype(tiles)>(data, weight, ws, stream); });
}

int launch_linear_backward_weights(int64_t M, const WeightGradArgs* layers, int count, const GemmWorkspace& ws,
                                   cudaStream_t stream, Precision precision) {
  NvtxRange range("linear_backward_weights", M, count);
  CUMLP_CHECK(count >= 1 && count <= kGemmGroupMax, "linear_backward_weights: ", count, " layers (1 to ",
              kGemmGroupMax, ")");
  GemmGroup<GemmProblem<true, false, StoreEpilogue>> g;
  g.count = count;
  for (int i = 0; i < count; ++i) {
    const WeightGradArgs& l = layers[i];
    g.p[i] = weight_problem(M, l.N, l.K, l.dz, l.x, l.dw, l.db);
  }
  return at_precision(precision, [&](auto tiles) { return launch_gemm_group<decltype(tiles)>(g, ws, stream); });
}

CUMLP_GPU_NAMESPACE_END
