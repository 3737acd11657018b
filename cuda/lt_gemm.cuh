// cuBLASLt for the Linear layer's wide products (nvcc build only: the
// simulator has no cuBLASLt, so the sim build keeps the own GEMM of gemm.cuh).
//
// The launchers of linear.cu hand a product here when its epilogue is one
// cuBLASLt has (forward identity/ReLU without dropout: BIAS / RELU_BIAS; input
// gradient when the previous layer's activation derivative and dropout are
// trivial: DEFAULT; weight gradient with the bias gradient: BGRADB). ReLU's
// derivative would need RELU_AUX_BIAS in the forward and DRELU_BGRAD here, with
// an aux bitmask buffer per layer owned by the executor: not done, the own GEMM
// fuses act' instead.
//
// "Wide" (worth cuBLASLt): M*N*K >= 2^21 multiply-adds, where below it both
// kernels are launch-bound and the own GEMM's fused epilogue is as good; N and
// K multiples of 4, so every leading dimension is 16 bytes; every pointer 16-byte
// aligned. The same rule for a layer's three products (all take its M, N, K).
//
// Safety: each (op, M, N, K, epilogue, pointer alignment) gets its matmul
// descriptor, layouts, preference and heuristic algo built once, then the first
// call runs both cuBLASLt and the own GEMM on the real inputs, synchronizes and
// compares. cuBLASLt serves that key only if they agree; a disagreement, a
// cuBLASLt error or no heuristic result sends the key to the own GEMM for the
// context's lifetime, with one warning line. Validation synchronizes, so it
// never runs while the stream is capturing a CUDA graph: an unvalidated key
// then takes the own GEMM (the executor runs a batch size's first step eagerly,
// so its keys are validated before the capture of the second).
//
// Not thread-safe: one context per backend, used from the thread that issues
// the backend's ops.
#pragma once

#include "cuda/common.cuh"

#if defined(__CUDACC__)

#include <cublasLt.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

/// Throws cumlp::Error naming the call, file:line and cuBLAS's status name and text.
#define CUMLP_CUBLAS_CHECK(call)                                                                 \
  do {                                                                                           \
    const cublasStatus_t cumlp_st_ = (call);                                                     \
    if (cumlp_st_ != CUBLAS_STATUS_SUCCESS)                                                      \
      CUMLP_THROW(#call, ": ", cublasLtGetStatusName(cumlp_st_), " (", cublasLtGetStatusString(cumlp_st_), ")"); \
  } while (0)

CUMLP_GPU_NAMESPACE_BEGIN

enum class LtOp : int { Forward, BackwardData, BackwardWeight };

/// One Linear product in cuBLASLt's column-major terms. Row-major X [r, c] is
/// column-major X^T [c, r] with ld c, so each product is computed transposed:
///   forward          y^T [N, M]  = (w^T)^T [N, K] x^T [K, M]    + b     A = w (T), B = x (N)
///   input gradient   dz_prev^T [K, M] = w^T [K, N] dz^T [N, M]          A = w (N), B = dz (N)
///   weight gradient  dw^T [K, N] = x^T [K, M] (dz^T)^T [M, N], db       A = x (N), B = dz (T)
/// db[n] = sum_m dz[m][n] sums op(B) over the GEMM's k (= M) per column of D:
/// BGRADB (BGRADA would sum op(A) per row of D, i.e. over x).
struct LtCall {
  LtOp op;
  int64_t M, N, K;                   // the Linear layer's, as in host/shared/backend.h
  cublasOperation_t ta, tb;
  int64_t m, n, k;                   // D [m, n] = op(A) [m, k] op(B) [k, n], column-major, contiguous
  const float *A, *B;
  float* D;
  const float* bias;                 // BIAS / RELU_BIAS input [m], or null
  float* bias_grad;                  // BGRADB output [n], or null
  cublasLtEpilogue_t epilogue;

  static LtCall forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b, bool relu,
                        float* y) {
    const cublasLtEpilogue_t e = b ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                   : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    return {LtOp::Forward, M, N, K, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, w, x, y, b, nullptr, e};
  }
  static LtCall backward_data(int64_t M, int64_t N, int64_t K, const float* dz, const float* w, float* dz_prev) {
    return {LtOp::BackwardData, M, N, K, CUBLAS_OP_N, CUBLAS_OP_N, K, M, N, w, dz, dz_prev, nullptr, nullptr,
            CUBLASLT_EPILOGUE_DEFAULT};
  }
  static LtCall backward_weight(int64_t M, int64_t N, int64_t K, const float* dz, const float* x, float* dw,
                                float* db) {
    return {LtOp::BackwardWeight, M, N, K, CUBLAS_OP_N, CUBLAS_OP_T, K, N, M, x, dz, dw, nullptr, db,
            db ? CUBLASLT_EPILOGUE_BGRADB : CUBLASLT_EPILOGUE_DEFAULT};
  }
};

/// Whether a Linear layer of these sizes is wide enough for cuBLASLt (see the top).
bool lt_wide(int64_t M, int64_t N, int64_t K);

/// The path the last Linear product issued on this thread took, for `cumlp check`.
enum class LtPath { Own, Lt, Validated, Rejected };
void note_linear_path(LtPath path);

class LtContext {
 public:
  /// 32 MiB: enough for the split-K and stream-K configurations the
  /// heuristic picks for fp32 at these sizes; allocated once, so that
  /// cublasLtMatmul allocates nothing (and can be captured in a graph).
  static constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;

  LtContext();  // throws Error when cuBLASLt or the workspace cannot be had
  ~LtContext();
  LtContext(const LtContext&) = delete;
  LtContext& operator=(const LtContext&) = delete;

  /// Issues product c through cuBLASLt when its key is validated, else `own`
  /// (the own GEMM writing the same outputs), validating the key first when
  /// the stream is not capturing. `eligible`: the product's epilogue is
  /// expressible in cuBLASLt at all. Returns the kernels launched (a
  /// cublasLtMatmul counts as 1; a validation runs both).
  template <class Own>
  int run(bool eligible, const LtCall& c, cudaStream_t stream, Own&& own) {
    switch (eligible ? route(c, stream) : Route::Own) {
      case Route::Lt:
        if (matmul(c, stream)) return 1;
        break;  // failed before launching: the key is now on the own GEMM
      case Route::Validate: {
        const int launches = own();
        return launches + validate(c, stream);
      }
      case Route::Own: break;
    }
    note_linear_path(LtPath::Own);
    return own();
  }

 private:
  enum class Route { Own, Lt, Validate };
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int, unsigned>;  // op, M, N, K, epilogue, alignment
  struct Entry;

  Route route(const LtCall& c, cudaStream_t stream);
  bool matmul(const LtCall& c, cudaStream_t stream);
  int validate(const LtCall& c, cudaStream_t stream);
  cublasStatus_t launch(Entry& e, const LtCall& c, cudaStream_t stream);
  void reject(Entry& e, const LtCall& c, const std::string& why, cudaStream_t stream);
  static Key key_of(const LtCall& c);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<Key, std::unique_ptr<Entry>> entries_;
};

/// The backend's context when the environment sets CUMLP_CUBLASLT=1 (off by
/// default: the own GEMM serves every product until a GPU measurement shows
/// cuBLASLt faster for a shape), or null (with a warning when cuBLASLt was
/// asked for but cannot be used).
std::unique_ptr<LtContext> make_lt_context() noexcept;

CUMLP_GPU_NAMESPACE_END

#endif  // __CUDACC__
