// The Backend on the CUDA runtime API: device buffers, one stream, and the
// launchers of linear.cu, loss.cu and optimizer.cu. Compiled by nvcc for the
// `cuda` device and by g++ against cuda/sim (whose runtime subset has the same
// names) for the `sim` device: one source, two devices.
//
// Every op is asynchronous on the backend's stream; download() synchronizes,
// since its caller reads the host buffer next. launches() counts kernels as
// they are issued (a replay issues none). Recording is stream capture into a
// CUDA graph (the simulator's runtime captures and replays the same way).
// The device registrations that make it are in cuda/device_types.cu.
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cuda/backend.cuh"
#include "cuda/gather.cuh"
#include "cuda/linear.cuh"
#include "cuda/loss.cuh"
#include "cuda/narrow.cuh"
#include "cuda/optimizer.cuh"
#if defined(__CUDACC__)
#include "cuda/lt_gemm.cuh"
#endif

CUMLP_GPU_NAMESPACE_BEGIN

void warn_on_error(cudaError_t err, const char* call, const char* file, int line) noexcept {
  if (err == cudaSuccess) return;
  std::fprintf(stderr, "cumlp: warning: %s failed at %s:%d: %s\n", call, file, line, cudaGetErrorString(err));
}

namespace {

class GpuBackend final : public Backend {
 public:
  GpuBackend(std::string name, int device) : name_(std::move(name)), device_(device) {
    CUMLP_CUDA_CHECK(cudaSetDevice(device_));
    CUMLP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUMLP_CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    for (cudaEvent_t* e : {&forked_, &joined_}) CUMLP_CUDA_CHECK(cudaEventCreateWithFlags(e, cudaEventDisableTiming));
    for (Staging& s : staging_) CUMLP_CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
#if defined(__CUDACC__)
    lt_ = make_lt_context();  // null: the own GEMM serves every product
#endif
  }
  ~GpuBackend() override {
    enter_noexcept();
    drop_recordings();
    CUMLP_CUDA_WARN(cudaStreamSynchronize(stream_));
    CUMLP_CUDA_WARN(cudaStreamSynchronize(side_));
#if defined(__CUDACC__)
    lt_.reset();
#endif
    if (row_loss_) CUMLP_CUDA_WARN(cudaFree(row_loss_));
    if (gemm_ws_.data) CUMLP_CUDA_WARN(cudaFree(gemm_ws_.data));
    if (gemm_ws_.counters) CUMLP_CUDA_WARN(cudaFree(gemm_ws_.counters));
    for (Staging& s : staging_) {  // the stream is idle: no copy still reads them
      if (s.host) CUMLP_CUDA_WARN(cudaFreeHost(s.host));
      if (s.copied) CUMLP_CUDA_WARN(cudaEventDestroy(s.copied));
    }
    for (cudaEvent_t e : {forked_, joined_}) CUMLP_CUDA_WARN(cudaEventDestroy(e));
    CUMLP_CUDA_WARN(cudaStreamDestroy(side_));
    CUMLP_CUDA_WARN(cudaStreamDestroy(stream_));
  }
  GpuBackend(const GpuBackend&) = delete;
  GpuBackend& operator=(const GpuBackend&) = delete;

  std::string name() const override { return name_; }
  bool supports(DType dtype) const override { return dtype == DType::F32; }
  void set_precision(Precision precision) override { precision_ = precision; }

  void* alloc(std::size_t bytes) override {
    enter();
    count_allocation();
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes ? bytes : 1);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // clear it, so the next check does not report it again
      CUMLP_THROW("out of memory on device ", name_, " allocating ", bytes, " bytes (", cudaGetErrorString(err), ")");
    }
    CUMLP_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));  // the interface promises zeroed memory
    return p;
  }
  void release(void* p) noexcept override {
    enter_noexcept();
    if (p) CUMLP_CUDA_WARN(cudaFree(p));
  }
  // A copy from pageable host memory makes the host wait for it; from pinned
  // memory it returns at once. So uploads up to kStagedBytes (batches) go
  // through two pinned staging buffers used in turn: the caller's buffer is
  // free on return, and the host waits only if the copy two uploads back is
  // still in flight. Larger ones (a data set, once) copy directly.
  void upload(void* dst, const void* src, std::size_t n) override {
    enter();
    if (n > kStagedBytes) {
      CUMLP_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream_));
      return;
    }
    Staging& s = staging_[next_staging_];
    next_staging_ ^= 1;
    if (s.in_flight) CUMLP_CUDA_CHECK(cudaEventSynchronize(s.copied));
    s.in_flight = false;
    if (s.bytes < n) {
      if (s.host) CUMLP_CUDA_CHECK(cudaFreeHost(s.host));
      s.host = nullptr;
      s.bytes = 0;
      CUMLP_CUDA_CHECK(cudaMallocHost(&s.host, n));
      s.bytes = n;
    }
    std::memcpy(s.host, src, n);
    CUMLP_CUDA_CHECK(cudaMemcpyAsync(dst, s.host, n, cudaMemcpyHostToDevice, stream_));
    CUMLP_CUDA_CHECK(cudaEventRecord(s.copied, stream_));
    s.in_flight = true;
  }
  void download(void* dst, const void* src, std::size_t n) override {
    enter();
    CUMLP_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream_));
    synchronize();  // one host sync, counted there
  }
  void copy(void* dst, const void* src, std::size_t n) override {
    enter();
    CUMLP_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream_));
  }
  void synchronize() override {
    enter();
    count_host_sync();
    CUMLP_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  bool can_record() const override { return true; }
  void begin_recording(int64_t key) override {
    enter();
    drop_recording(key);
    // Thread-local: another thread's network may allocate meanwhile.
    CUMLP_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    capturing_ = true;
    capture_key_ = key;
  }
  void end_recording() override {
    enter();
    capturing_ = false;
    Recorded r;
    CUMLP_CUDA_CHECK(cudaStreamEndCapture(stream_, &r.graph));
    const cudaError_t err = cudaGraphInstantiate(&r.exec, r.graph, 0);
    if (err != cudaSuccess) CUMLP_CUDA_WARN(cudaGraphDestroy(r.graph));
    CUMLP_CUDA_CHECK(err);
    recorded_[capture_key_] = r;
  }
  void replay(int64_t key) override {
    enter();
    const auto it = recorded_.find(key);
    CUMLP_CHECK(it != recorded_.end(), "device ", name_, ": nothing recorded under ", key, " to replay");
    CUMLP_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream_));
  }
  void drop_recording(int64_t key) noexcept override {
    enter_noexcept();
    end_partial_capture();
    const auto it = recorded_.find(key);
    if (it == recorded_.end()) return;
    destroy(it->second);
    recorded_.erase(it);
  }
  void drop_recordings() noexcept override {
    enter_noexcept();
    end_partial_capture();
    for (auto& [key, r] : recorded_) destroy(r);
    recorded_.clear();
  }
  // The side stream: ordered against stream_ by an event each way (captured
  // as edges while recording); NCCL enqueues on it, the simulator's host calls run there.
  bool has_side_stream() const override { return true; }
  void fork_side() override { order(stream_, side_, forked_); }
  void join_side() override { order(side_, stream_, joined_); }
  void* stream_handle(bool side) override { return side ? side_ : stream_; }
#if defined(__CUDACC__)
  bool host_calls_reach_memory() const override { return false; }  // a CUDA thread runs them, device memory apart
#else
  bool host_calls_reach_memory() const override { return true; }  // the simulator's device memory is host heap
#endif
  void side_host_call(void (*fn)(void*), void* arg) override {
    CUMLP_CHECK(host_calls_reach_memory(), "device ", name_, ": a host call cannot reach device memory");
    enter();
    CUMLP_CUDA_CHECK(cudaLaunchHostFunc(side_, fn, arg));
  }
  void record_loss(DType dt, const void* loss, StepRecord* record) override {
    require_f32(dt);
    enter();
    launches_ += launch_record_loss(f(loss), record, stream_);
  }
  void reserve_rows(int64_t rows) override {
    enter();
    loss_scratch(rows);
    gemm_workspace();
  }

  void linear_act_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w, const void* b,
                          const Epilogue& ep, void* y, void* y_drop) override {
    require_f32(dt);
    enter();
    launches_ += launch_linear_act_forward(M, N, K, f(x), f(w), f(b), ep, f(y), f(y_drop), gemm_workspace(), lt(),
                                           stream_, precision_);
  }
  void linear_backward_data(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w,
                            const void* y_prev, const Epilogue& ep, void* dz_prev) override {
    require_f32(dt);
    enter();
    launches_ += launch_linear_backward_data(M, N, K, f(dz), f(w), f(y_prev), ep, f(dz_prev), gemm_workspace(),
                                             lt(), stream_, precision_);
  }
  void linear_backward_weight(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* x, void* dw,
                              void* db) override {
    require_f32(dt);
    enter();
    launches_ += launch_linear_backward_weight(M, N, K, f(dz), f(x), f(dw), f(db), gemm_workspace(), lt(), stream_,
                                               precision_);
  }
  // Both gradients in one launch of the own GEMM; with cuBLASLt enabled, the
  // two ops (either may go to cuBLASLt).
  void linear_backward(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w, const void* x,
                       const void* y_prev, const Epilogue& ep, void* dw, void* db, void* dz_prev) override {
    // The grouped launch is the own GEMM's, at every precision: with cuBLASLt
    // (fp32 only) the two products go their own ways (two ops).
    if (lt() && precision_ == Precision::FP32)
      return Backend::linear_backward(dt, M, N, K, dz, w, x, y_prev, ep, dw, db, dz_prev);
    require_f32(dt);
    enter();
    launches_ += launch_linear_backward(M, N, K, f(dz), f(w), f(x), f(y_prev), ep, f(dw), f(db), f(dz_prev),
                                        gemm_workspace(), stream_, precision_);
  }
  bool fuses_softmax_into_loss() const override { return true; }
  // The fused narrow step is fp32 SIMT (cuda/narrow.cu): at TF32 / TF32x3 the
  // executor takes the per-layer ops.
  bool offers_narrow_step(DType dt) const override { return dt == DType::F32 && precision_ == Precision::FP32; }
  void narrow_step(DType dt, const NarrowStepArgs& a) override {
    require_f32(dt);
    CUMLP_CHECK(precision_ == Precision::FP32, "narrow_step: fp32 only, the precision is ",
                precision_name(precision_));
    enter();
    launches_ += launch_narrow_step(a, loss_scratch(a.rows), gemm_workspace(), stream_);
  }
  bool fuses_loss_into_output(int64_t cols, const Epilogue& ep) const override {
    return linear_loss_fusable(cols, ep);
  }
  void linear_loss_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w, const void* b,
                           const Epilogue& ep, void* y, const LossArgs& a, const void* target, void* dz,
                           void* loss) override {
    if (!fuses_loss_into_output(N, ep)) return Backend::linear_loss_forward(dt, M, N, K, x, w, b, ep, y, a, target, dz, loss);
    require_f32(dt);
    enter();
    launches_ += launch_linear_loss_forward(M, N, K, f(x), f(w), f(b), ep, f(y), a, target, f(dz), f(loss),
                                            loss_scratch(a.rows), gemm_workspace(), stream_, precision_);
  }
  void loss_forward_backward(DType dt, const LossArgs& a, const void* y, const void* target, void* dz,
                             void* loss) override {
    require_f32(dt);
    enter();
    float* out = const_cast<float*>(f(y));  // written only with a.normalise (the interface's one in-place case)
    launches_ += launch_loss_forward_backward(a, out, target, f(dz), f(loss), loss_scratch(a.rows), stream_);
  }
  void gather_batch(DType dt, const GatherArgs& a, const int64_t* rows, int64_t n, void* x,
                    void* target) override {
    require_f32(dt);
    enter();
    launches_ += launch_gather_batch(a, rows, n, f(x), target, stream_);
  }
  void optimizer_step(DType dt, const OptimArgs& a, int64_t n, void* params, const void* grads, void* m,
                      void* v) override {
    require_f32(dt);
    enter();
    launches_ += launch_optimizer_step(a, n, f(params), f(grads), f(m), f(v), stream_);
  }

 private:
#if defined(__CUDACC__)
  LtContext* lt() const { return lt_.get(); }
#else
  LtContext* lt() const { return nullptr; }  // no cuBLASLt on the simulator
#endif
  // Every entry point first makes this backend's GPU the thread's current
  // device: the CUDA runtime's current device is per thread, so a cuda:1
  // network used from a thread whose current device is 0 would otherwise
  // allocate and launch on GPU 0. cudaGetDevice is a cheap host call.
  void enter() const {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != device_) CUMLP_CUDA_CHECK(cudaSetDevice(device_));
  }
  void enter_noexcept() const noexcept {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != device_) CUMLP_CUDA_WARN(cudaSetDevice(device_));
  }
  // `after` waits for the work issued on `before` so far.
  void order(cudaStream_t before, cudaStream_t after, cudaEvent_t event) {
    enter();
    CUMLP_CUDA_CHECK(cudaEventRecord(event, before));
    CUMLP_CUDA_CHECK(cudaStreamWaitEvent(after, event, 0));
  }
  static float* f(void* p) { return static_cast<float*>(p); }
  static const float* f(const void* p) { return static_cast<const float*>(p); }
  void require_f32(DType dt) const {
    CUMLP_CHECK(dt == DType::F32, "device ", name_, " runs f32 only (got ", dtype_name(dt), ")");
  }
  // Scratch of the loss kernel, grown to the largest batch seen (the
  // executor's batch capacity, so it settles after the first step): the
  // per-row losses, then the block counter (zeroed by alloc).
  LossScratch loss_scratch(int64_t rows) {
    if (rows > row_loss_rows_) {
      CUMLP_CHECK(!capturing_, "device ", name_, ": loss scratch for ", rows, " rows must be reserved before recording");
      if (row_loss_) CUMLP_CUDA_CHECK(cudaFree(row_loss_));  // synchronizes: no kernel still reads it
      row_loss_ = nullptr;
      row_loss_ = static_cast<float*>(alloc(static_cast<std::size_t>(rows + 1) * sizeof(float)));
      row_loss_rows_ = rows;
    }
    static_assert(sizeof(uint32_t) == sizeof(float));
    return LossScratch{row_loss_, reinterpret_cast<uint32_t*>(row_loss_ + row_loss_rows_)};
  }

  // A recording that failed half way: end it, keep nothing.
  void end_partial_capture() noexcept {
    if (!capturing_) return;
    cudaGraph_t partial = nullptr;
    (void)cudaStreamEndCapture(stream_, &partial);
    if (partial) CUMLP_CUDA_WARN(cudaGraphDestroy(partial));
    (void)cudaGetLastError();
    capturing_ = false;
  }
  struct Recorded {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
  };
  static void destroy(Recorded& r) noexcept {
    if (r.exec) CUMLP_CUDA_WARN(cudaGraphExecDestroy(r.exec));
    if (r.graph) CUMLP_CUDA_WARN(cudaGraphDestroy(r.graph));
    r = Recorded{};
  }

  // The GEMM's split-K workspace (cuda/gemm_rule.cuh): a fixed size that
  // covers every split the tile rule makes, allocated at the first reserve or
  // product, never while recording.
  const GemmWorkspace& gemm_workspace() {
    if (!gemm_ws_.data) {
      CUMLP_CHECK(!capturing_, "device ", name_, ": the GEMM workspace must be reserved before recording");
      gemm_ws_.data = static_cast<float*>(alloc(kGemmWorkspaceSlots * kGemmWorkspaceFloatsPerSlot * sizeof(float)));
      gemm_ws_.counters = static_cast<unsigned*>(alloc(kGemmWorkspaceSlots * kGemmCountersPerSlot * sizeof(unsigned)));
    }
    return gemm_ws_;
  }

  struct Staging {
    void* host = nullptr;  // pinned
    std::size_t bytes = 0;
    cudaEvent_t copied = nullptr;  // recorded after its last copy
    bool in_flight = false;        // that copy may still be running
  };
  static constexpr std::size_t kStagedBytes = std::size_t{16} << 20;

  std::string name_;
  int device_;
  Staging staging_[2];
  int next_staging_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaStream_t side_ = nullptr;                          // has_side_stream()
  cudaEvent_t forked_ = nullptr, joined_ = nullptr;      // fork_side(), join_side()
  Precision precision_ = Precision::FP32;  // of the linear ops' GEMMs (cuda/linear.cu)
  float* row_loss_ = nullptr;
  int64_t row_loss_rows_ = 0;
  GemmWorkspace gemm_ws_;
  bool capturing_ = false;
  int64_t capture_key_ = 0;
  std::map<int64_t, Recorded> recorded_;  // by the caller's key (the executor bounds how many)
#if defined(__CUDACC__)
  std::unique_ptr<LtContext> lt_;  // cuBLASLt for wide layers (cuda/lt_gemm.cuh)
#endif
};

}  // namespace

std::unique_ptr<Backend> make_gpu_backend(std::string name, int index) {
  return std::make_unique<GpuBackend>(std::move(name), index);
}

CUMLP_GPU_NAMESPACE_END
