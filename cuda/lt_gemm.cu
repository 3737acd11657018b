// cuBLASLt for the Linear layer's wide products: the context, its per-key
// cache of descriptors and algos, and the validation against the own GEMM.
// See lt_gemm.cuh for the dispatch rule and the layouts.
#include "cuda/lt_gemm.cuh"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

thread_local LtPath last_path = LtPath::Own;

const char* op_name(LtOp op) {
  switch (op) {
    case LtOp::Forward: return "linear_act_forward";
    case LtOp::BackwardData: return "linear_backward_data";
    case LtOp::BackwardWeight: return "linear_backward_weight";
  }
  return "?";
}

const char* epilogue_name(cublasLtEpilogue_t e) {
  switch (e) {
    case CUBLASLT_EPILOGUE_DEFAULT: return "DEFAULT";
    case CUBLASLT_EPILOGUE_RELU: return "RELU";
    case CUBLASLT_EPILOGUE_BIAS: return "BIAS";
    case CUBLASLT_EPILOGUE_RELU_BIAS: return "RELU_BIAS";
    case CUBLASLT_EPILOGUE_BGRADB: return "BGRADB";
    default: return "other";
  }
}

// The largest power of two up to 256 dividing every address (cuBLASLt's
// alignment preferences default to 256 and exclude algos needing more).
unsigned alignment_of(std::initializer_list<const void*> ptrs) {
  uintptr_t bits = 256;
  for (const void* p : ptrs)
    if (p) bits |= reinterpret_cast<uintptr_t>(p);
  return static_cast<unsigned>(bits & (~bits + 1));
}

// A device buffer for one validation, freed when it ends.
struct Scratch {
  float* p = nullptr;
  explicit Scratch(int64_t n) {
    if (n > 0) CUMLP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), static_cast<std::size_t>(n) * sizeof(float)));
  }
  ~Scratch() {
    if (p) CUMLP_CUDA_WARN(cudaFree(p));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Copies n floats of device buffer p into the host, once the stream gets there.
void read_back(std::vector<float>& v, const float* p, int64_t n, cudaStream_t stream) {
  v.resize(static_cast<std::size_t>(n));
  if (n > 0) CUMLP_CUDA_CHECK(cudaMemcpyAsync(v.data(), p, v.size() * sizeof(float), cudaMemcpyDeviceToHost, stream));
}

// "" when every element agrees, else the first disagreement. fp32 GEMMs that
// sum the same K terms in different orders (tiles, split-K) differ by a few
// ulps of the partial sums: max |a - b| <= 1e-4 * max(1, |ref|) allows that
// and still catches a wrong layout, operand or epilogue. Non-finite values
// must match exactly (NaN with NaN).
std::string disagreement(const char* what, const std::vector<float>& got, const std::vector<float>& ref) {
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const float a = got[i], r = ref[i];
    if (a == r || (std::isnan(a) && std::isnan(r))) continue;
    if (std::isfinite(a) && std::isfinite(r) && std::fabs(a - r) <= 1e-4f * std::fmax(1.0f, std::fabs(r))) continue;
    return detail::concat(what, "[", i, "] = ", a, " against the own GEMM's ", r);
  }
  return "";
}

}  // namespace

bool lt_wide(int64_t M, int64_t N, int64_t K) {
  return static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) >= double(1 << 21) && N % 4 == 0 &&
         K % 4 == 0 && M <= 0x7fffffff && N <= 0x7fffffff && K <= 0x7fffffff;
}

void note_linear_path(LtPath path) { last_path = path; }

// Everything cuBLASLt needs for one key, built once.
struct LtContext::Entry {
  enum class State { Pending, Ready, Rejected } state = State::Pending;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulAlgo_t algo{};

  ~Entry() { release(); }
  void release() noexcept {  // destroy errors are not actionable: the handles are gone either way
    if (pref) (void)cublasLtMatmulPreferenceDestroy(pref);
    if (d) (void)cublasLtMatrixLayoutDestroy(d);
    if (b) (void)cublasLtMatrixLayoutDestroy(b);
    if (a) (void)cublasLtMatrixLayoutDestroy(a);
    if (desc) (void)cublasLtMatmulDescDestroy(desc);
    pref = nullptr, d = b = a = nullptr, desc = nullptr;
  }

  // Descriptors, layouts and preference for c, and the heuristic's first
  // (best-ranked) algo: the same algo for this key on every later call.
  void build(cublasLtHandle_t handle, const LtCall& c, unsigned align) {
    release();
    const cublasComputeType_t compute = CUBLAS_COMPUTE_32F;  // plain fp32, no TF32: the tolerances assume it
    const cudaDataType_t f32 = CUDA_R_32F;
    CUMLP_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, compute, f32));
    CUMLP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &c.ta, sizeof c.ta));
    CUMLP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &c.tb, sizeof c.tb));
    CUMLP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epilogue,
                                                      sizeof c.epilogue));
    set_bias(c);  // the heuristic reads the pointer's alignment
    const bool ta = c.ta == CUBLAS_OP_T, tb = c.tb == CUBLAS_OP_T;
    const uint64_t m = c.m, n = c.n, k = c.k;
    // Stored (before op) shapes, contiguous columns: ld = rows.
    CUMLP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a, f32, ta ? k : m, ta ? m : k, static_cast<int64_t>(ta ? k : m)));
    CUMLP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b, f32, tb ? n : k, tb ? k : n, static_cast<int64_t>(tb ? n : k)));
    CUMLP_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d, f32, m, n, static_cast<int64_t>(m)));
    CUMLP_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = kWorkspaceBytes;
    CUMLP_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    for (const auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                            CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      CUMLP_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    CUMLP_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, d, d, pref, 1, &result, &found));
    CUMLP_CHECK(found > 0 && result.state == CUBLAS_STATUS_SUCCESS, "no cuBLASLt heuristic result");
    CUMLP_CHECK(result.workspaceSize <= kWorkspaceBytes, "the heuristic's algo needs ", result.workspaceSize,
                " bytes of workspace");
    algo = result.algo;
  }

  // The bias (input) or bias-gradient (output) pointer of this call: the
  // descriptor is shared by the key's calls, the buffers are not.
  void set_bias(const LtCall& c) {
    const void* p = c.bias ? static_cast<const void*>(c.bias) : static_cast<const void*>(c.bias_grad);
    if (!p) return;
    CUMLP_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p, sizeof p));
  }
};

LtContext::LtContext() {
  CUMLP_CUBLAS_CHECK(cublasLtCreate(&handle_));
  const cudaError_t err = cudaMalloc(&workspace_, kWorkspaceBytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    (void)cublasLtDestroy(handle_);
    CUMLP_THROW("cudaMalloc of the ", kWorkspaceBytes, "-byte cuBLASLt workspace: ", cudaGetErrorString(err));
  }
}

LtContext::~LtContext() {
  entries_.clear();
  if (workspace_) CUMLP_CUDA_WARN(cudaFree(workspace_));  // synchronizes: no matmul still uses it
  if (handle_) (void)cublasLtDestroy(handle_);
}

LtContext::Key LtContext::key_of(const LtCall& c) {
  return {static_cast<int>(c.op), c.M,   c.N, c.K, static_cast<int>(c.epilogue),
          alignment_of({c.A, c.B, c.D, c.bias, c.bias_grad})};
}

LtContext::Route LtContext::route(const LtCall& c, cudaStream_t stream) {
  const Key key = key_of(c);
  if (!lt_wide(c.M, c.N, c.K) || std::get<5>(key) < 16) return Route::Own;
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second->state != Entry::State::Pending)
    return it->second->state == Entry::State::Ready ? Route::Lt : Route::Own;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  CUMLP_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
  if (capture != cudaStreamCaptureStatusNone) return Route::Own;  // validate on the next eager call
  if (it == entries_.end()) it = entries_.emplace(key, std::make_unique<Entry>()).first;
  Entry& e = *it->second;
  try {
    e.build(handle_, c, std::get<5>(key));
  } catch (const Error& err) {
    reject(e, c, err.what(), stream);
    return Route::Own;
  }
  return Route::Validate;
}

cublasStatus_t LtContext::launch(Entry& e, const LtCall& c, cudaStream_t stream) {
  e.set_bias(c);
  const float one = 1.0f, zero = 0.0f;  // beta = 0: C (= D) is not read
  return cublasLtMatmul(handle_, e.desc, &one, c.A, e.a, c.B, e.b, &zero, c.D, e.d, c.D, e.d, &e.algo, workspace_,
                        kWorkspaceBytes, stream);
}

bool LtContext::matmul(const LtCall& c, cudaStream_t stream) {
  Entry& e = *entries_.at(key_of(c));
  cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
  try {
    st = launch(e, c, stream);
  } catch (const Error& err) {
    reject(e, c, err.what(), stream);
    return false;
  }
  if (st != CUBLAS_STATUS_SUCCESS) {
    reject(e, c, std::string("cublasLtMatmul: ") + cublasLtGetStatusName(st), stream);
    return false;
  }
  note_linear_path(LtPath::Lt);
  return true;
}

// The own GEMM has just written c's outputs; cuBLASLt writes the same product
// into scratch, and the two are compared on the host.
int LtContext::validate(const LtCall& c, cudaStream_t stream) {
  Entry& e = *entries_.at(key_of(c));
  int launches = 0;
  std::string why;
  try {
    Scratch d(c.m * c.n), bias_grad(c.bias_grad ? c.n : 0);
    LtCall trial = c;
    trial.D = d.p;
    trial.bias_grad = bias_grad.p;
    const cublasStatus_t st = launch(e, trial, stream);
    CUMLP_CHECK(st == CUBLAS_STATUS_SUCCESS, "cublasLtMatmul: ", cublasLtGetStatusName(st));
    launches = 1;
    std::vector<float> got, ref, got_bias, ref_bias;
    read_back(got, d.p, c.m * c.n, stream);
    read_back(ref, c.D, c.m * c.n, stream);
    read_back(got_bias, bias_grad.p, bias_grad.p ? c.n : 0, stream);
    read_back(ref_bias, c.bias_grad, c.bias_grad ? c.n : 0, stream);
    CUMLP_CUDA_CHECK(cudaStreamSynchronize(stream));  // the copies are complete, the vectors filled
    why = disagreement("D", got, ref);
    if (why.empty()) why = disagreement("bias gradient", got_bias, ref_bias);
    if (why.empty()) {
      e.state = Entry::State::Ready;
      note_linear_path(LtPath::Validated);
      return launches;
    }
  } catch (const Error& err) {
    why = err.what();
  }
  reject(e, c, why, stream);
  return launches;
}

// A rejection after a CUDA error: a recoverable one (a failed scratch
// cudaMalloc, an invalid argument) is still pending as the thread's last
// error and would be reported by the next own-GEMM launch as its own, so it is
// cleared; a sticky one (a fault inside a cuBLASLt kernel) leaves the context
// unusable, so it is not a "reject" but an error, naming the op and shape.
// (Only a GPU shows either: the simulator has no cuBLASLt.)
void LtContext::reject(Entry& e, const LtCall& c, const std::string& why, cudaStream_t stream) {
  e.state = Entry::State::Rejected;
  e.release();
  note_linear_path(LtPath::Rejected);
  (void)cudaGetLastError();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  const cudaError_t query = cudaStreamIsCapturing(stream, &capture);
  if (query == cudaSuccess && capture == cudaStreamCaptureStatusNone) {
    const cudaError_t sticky = cudaStreamSynchronize(stream);  // a kernel fault surfaces here
    if (sticky != cudaSuccess)
      CUMLP_THROW("cuBLASLt ", op_name(c.op), " M=", c.M, " N=", c.N, " K=", c.K, " (", epilogue_name(c.epilogue),
                  ") failed: ", why, "; the GPU reports ", cudaGetErrorString(sticky), " (not recoverable)");
  } else if (query != cudaSuccess) {
    CUMLP_THROW("cuBLASLt ", op_name(c.op), " M=", c.M, " N=", c.N, " K=", c.K, " failed: ", why, "; the GPU reports ",
                cudaGetErrorString(query), " (not recoverable)");
  }
  std::fprintf(stderr, "cumlp: warning: cuBLASLt not used for %s M=%lld N=%lld K=%lld (%s): %s; own GEMM instead\n",
               op_name(c.op), static_cast<long long>(c.M), static_cast<long long>(c.N), static_cast<long long>(c.K),
               epilogue_name(c.epilogue), why.c_str());
}

std::unique_ptr<LtContext> make_lt_context() noexcept {
  // Off unless asked for: with the register-tiled own GEMM, cuBLASLt is used
  // only where a GPU measurement shows it faster, and none does yet.
  const char* env = std::getenv("CUMLP_CUBLASLT");
  if (!env || std::strcmp(env, "1") != 0) return nullptr;
  try {
    return std::make_unique<LtContext>();
  } catch (const std::exception& err) {
    std::fprintf(stderr, "cumlp: warning: cuBLASLt unavailable, the own GEMM serves every layer: %s\n", err.what());
    return nullptr;
  }
}

CUMLP_GPU_NAMESPACE_END

namespace cumlp {

/// For `cumlp check` (host/opcheck/op_check.cpp): the path the last Linear
/// product issued on this thread by a cuda device took.
const char* cuda_linear_last_path() {
  switch (gpu::last_path) {
    case gpu::LtPath::Lt: return "cuBLASLt";
    case gpu::LtPath::Validated: return "own GEMM, cuBLASLt validated";
    case gpu::LtPath::Rejected: return "own GEMM, cuBLASLt rejected";
    case gpu::LtPath::Own: break;
  }
  return "own GEMM";
}

}  // namespace cumlp
