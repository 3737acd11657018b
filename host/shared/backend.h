// The Backend: the small set of operations a compiled plan calls. Every
// pointer is a buffer of this backend (device memory on cuda/sim, host memory
// on cpu). Implementations: the cpu device (host/cpu: OpenBLAS GEMM, AVX2
// tiles, float and double), the plain-loop reference (host/cpu/reference:
// double accumulation, what every device is checked against), and the GPU
// backend (cuda/backend.cu: the CUDA kernels on a GPU, or on the CPU through
// the SIMT simulator). Each registers itself as a device type
// (host/shared/device_type.h, host/core/device_registry.cpp).
//
// Matrix conventions (row-major, PyTorch layout):
//   x [M, K] inputs, w [N, K] weight, b [N] bias, y [M, N] outputs: y = act(x w^T + b).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cmath>

#include "cumlp/optim.h"
#include "host/shared/error_macros.h"
#include "host/shared/hd.h"
#include "cumlp/tensor.h"
#include "host/shared/activation.h"

namespace cumlp {

/// Adam's bias corrections of update t (1-based): lr / (1 - b1^t) and
/// sqrt(1 - b2^t), computed in double and rounded once to float, as the CPU
/// twin does. Shared by the host (uploads, by-value launches) and the GPU
/// optimizer kernel (the next update's values, once per step), so both give
/// the same bits.
CUMLP_HD void adam_bias_corrections(double lr, double b1, double b2, double t, float* step_size, float* bc2_sqrt) {
  *step_size = static_cast<float>(lr / (1.0 - pow(b1, t)));
  *bc2_sqrt = static_cast<float>(sqrt(1.0 - pow(b2, t)));
}

/// The optimizer's settings in backend memory (part of StepRecord): a recorded
/// update reads them when it runs, so a changed learning rate needs an upload
/// (OptimSettings::from, then Backend::upload outside any recording), not a new
/// recording. The float fields are the values the kernel computes with, rounded
/// as a by-value launch rounds them; lr, beta1 and beta2 are kept in double for
/// the bias corrections, which the update's last block advances for the next
/// update (once per step, not per block).
struct OptimSettings {
  float lr = 0, weight_decay = 0, l1 = 0, beta1 = 0, beta2 = 0, eps = 0;
  float momentum = 0;      // SGD only; 0: none
  int32_t nesterov = 0;    // SGD with momentum only
  float step_size = 0, bc2_sqrt = 0;  // Adam: adam_bias_corrections of update number StepRecord::updates + 1
  double lr_d = 0, beta1_d = 0, beta2_d = 0;

  /// The settings of optimizer o, with Adam's scalars for update `next_update` (1-based).
  static OptimSettings from(const Optimizer& o, int64_t next_update) {
    OptimSettings s;
    const bool sgd_momentum = o.kind == OptimizerKind::SGD && o.momentum != 0;
    s.lr = static_cast<float>(o.lr);
    s.weight_decay = static_cast<float>(o.weight_decay);
    s.l1 = static_cast<float>(o.l1);
    s.beta1 = static_cast<float>(o.beta1);
    s.beta2 = static_cast<float>(o.beta2);
    s.eps = static_cast<float>(o.eps);
    s.momentum = sgd_momentum ? static_cast<float>(o.momentum) : 0.0f;
    s.nesterov = sgd_momentum && o.nesterov ? 1 : 0;
    s.lr_d = o.lr, s.beta1_d = o.beta1, s.beta2_d = o.beta2;
    if (o.kind != OptimizerKind::SGD)
      adam_bias_corrections(o.lr, o.beta1, o.beta2, static_cast<double>(next_update), &s.step_size, &s.bc2_sqrt);
    return s;
  }
};

/// Step bookkeeping kept in backend memory (the same layout on host and
/// device), for backends that record a training step once and replay it
/// (CUDA graphs): the arguments of a recorded op are frozen, so what changes
/// from step to step is read from here when the op runs, and the epoch's
/// losses are summed here without the host waiting for each step.
struct StepRecord {
  int64_t updates = 0;           // optimizer updates done: the dropout step; the next update is number updates + 1
  int64_t losses = 0;            // losses added to loss_sum
  int64_t first_nonfinite = -1;  // `updates` when the first non-finite loss was added; -1: none
  double loss_sum = 0;           // the added losses, summed in double in issue order
  uint32_t blocks_done = 0;      // device optimizer scratch (its last block advances `updates`); 0 between ops
  uint32_t reserved = 0;
  OptimSettings optim;           // what a recorded update computes with (OptimArgs::record)
};

/// The activation fused into a GEMM epilogue, and the dropout that follows it.
struct Epilogue {
  int32_t act = ops::kIdentity;  // ops::ActCode
  double alpha = 0;              // LeakyReLU slope / ELU alpha
  double dropout_p = 0;          // 0: no dropout
  uint64_t seed = 0;             // dropout key: (seed, layer, step, element)
  uint32_t layer = 0;
  uint32_t step = 0;
  const StepRecord* record = nullptr;  // backend memory; when set, the step is record->updates when the op runs
  /// Dropout key of element 0: a rank computing rows [r0, ..) of a global
  /// batch passes r0 x width, so every row keeps its mask under any split.
  int64_t element0 = 0;
  /// A softmax output layer without dropout leaves its logits in y: the loss
  /// that follows normalises them (LossArgs::normalise). Only set for a
  /// backend whose fuses_softmax_into_loss() is true.
  bool softmax_in_loss = false;
};

struct LossArgs {
  int32_t kind = 0;        // LossKind
  int64_t rows = 0, cols = 0;
  int32_t out_act = ops::kIdentity;  // activation that produced y (its derivative is fused)
  double out_alpha = 0;
  bool want_grad = true;   // write dz
  /// y holds a softmax layer's logits (Epilogue::softmax_in_loss; out_act is
  /// softmax, the loss is not cross-entropy): the op first normalises each
  /// row of y in place, writing what linear_act_forward would have written.
  /// Only for a backend whose fuses_softmax_into_loss() is true.
  bool normalise = false;
  StepRecord* record = nullptr;  // backend memory; when set, the loss is also added to it (see StepRecord)
};

/// Where gather_batch reads: a dataset's tables in backend memory.
struct GatherArgs {
  const void* samples = nullptr;  // [rows, cols]: uint8 if samples_u8, else float (whatever the network's dtype)
  bool samples_u8 = true;
  int64_t cols = 0;
  double scale = 1;                  // x = sample * scale, the product in double, rounded once to dt
  const int32_t* labels = nullptr;   // class indices [rows] (cross-entropy), or null:
  const void* target_table = nullptr;  // dt [rows, target_cols] targets
  int64_t target_cols = 0;
};

struct OptimArgs {
  int32_t kind = 0;  // OptimizerKind
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0, l1 = 0;
  int64_t step = 0;  // 1-based index of this update (Adam bias correction)
  StepRecord* record = nullptr;  // backend memory; when set, `step` and the settings here are ignored: the
                                 // update is number record->updates + 1 when the op runs, with the settings
                                 // and Adam scalars of record->optim, and the op advances record->updates
                                 // (and record->optim's Adam scalars to the next update)
  double momentum = 0;           // SGD: the velocity buffer is `m` (zero before the first update)
  bool nesterov = false;

  /// The arguments of update number `step` (1-based) of optimizer o.
  static OptimArgs from(const Optimizer& o, int64_t step) {
    return {static_cast<int32_t>(o.kind), o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.l1, step, nullptr,
            o.momentum, o.nesterov};
  }
};

/// One layer of Backend::narrow_step: its shape, parameters, epilogue (as for
/// linear_act_forward) and the buffers the step writes: y (and y_drop with
/// dropout) [rows, out], dz [rows, out] (d loss / d pre-activation), dw
/// [out, in] and db [out] (null without bias).
struct NarrowLayer {
  int64_t in = 0, out = 0;
  const void* w = nullptr;
  const void* b = nullptr;
  Epilogue ep;
  void* y = nullptr;
  void* y_drop = nullptr;
  void* dz = nullptr;
  void* dw = nullptr;
  void* db = nullptr;
};

/// The widest layer output (after the input) and the most layers a backend's
/// narrow_step takes (see Backend::offers_narrow_step).
constexpr int64_t kNarrowMaxWidth = 128;
constexpr int kNarrowMaxLayers = 8;

/// A whole training step's forward, loss and gradients of a narrow network.
struct NarrowStepArgs {
  int64_t rows = 0;
  const void* x = nullptr;  // [rows, layers[0].in]
  std::vector<NarrowLayer> layers;
  LossArgs loss;            // rows, cols, kind, out_act, out_alpha, normalise, record; want_grad is true
  const void* target = nullptr;
  void* loss_out = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual bool supports(DType dtype) const = 0;

  // ---- memory -------------------------------------------------------------------
  virtual void* alloc(std::size_t bytes) = 0;  // zero-filled; throws Error on OOM
  virtual void release(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void synchronize() = 0;
  /// Whether backend memory is host memory (the cpu device and the reference):
  /// a host buffer can then be read by the ops in place, with no upload.
  virtual bool memory_is_host() const { return false; }
  /// Prepares any per-row scratch of the ops for batches of up to `rows`
  /// (called when the batch buffers grow, never while recording).
  virtual void reserve_rows(int64_t /*rows*/) {}

  /// The arithmetic of the linear ops' GEMMs from now on. Backends without a
  /// tensor-core GEMM keep this default, which refuses anything but FP32.
  virtual void set_precision(Precision precision) {
    CUMLP_CHECK(precision == Precision::FP32, "precision ", precision_name(precision),
                " needs a cuda or sim device (a tensor-core GEMM); device ", name(), " computes in fp32 only");
  }

  // ---- recording (CUDA graphs) ------------------------------------------------------
  /// Whether ops can be recorded and replayed. Such a backend honours the
  /// StepRecord fields of the op arguments; the others never see them set.
  /// A backend keeps several recordings at once, each under a key of the
  /// caller's choosing (the executor: the batch size); the caller bounds how
  /// many it keeps and drops the others.
  virtual bool can_record() const { return false; }
  /// Ops issued until end_recording() are recorded under `key` (replacing any
  /// recording of that key), not run. Buffers they use must outlive the
  /// recording; memory transfers are not allowed meanwhile.
  virtual void begin_recording(int64_t /*key*/) { CUMLP_THROW("device ", name(), " cannot record ops"); }
  virtual void end_recording() {}
  /// Runs the ops recorded under `key` again, asynchronously, as if issued now.
  virtual void replay(int64_t key) { CUMLP_THROW("device ", name(), " has no recording ", key, " to replay"); }
  /// Forgets the recording under `key` (replay(key) then throws until the next
  /// one); also ends a recording still under way.
  virtual void drop_recording(int64_t /*key*/) noexcept {}
  /// Forgets every recording (and ends one still under way).
  virtual void drop_recordings() noexcept {}

  // ---- the side stream (data parallelism: gradient sums beside backward) -------------
  /// Whether the backend has a second stream, ordered against its own by
  /// fork_side / join_side (events; recorded like ops while recording).
  virtual bool has_side_stream() const { return false; }
  /// Work issued on the side stream from now on waits for the ops issued so far.
  virtual void fork_side() { CUMLP_THROW("device ", name(), " has no side stream"); }
  /// Ops issued from now on wait for the work issued on the side stream so far.
  virtual void join_side() { CUMLP_THROW("device ", name(), " has no side stream"); }
  /// The runtime's handles of the backend's streams (cudaStream_t): the side
  /// stream, for a library that enqueues on it (NCCL), or the backend's own,
  /// for a caller that polls it (cudaStreamQuery) rather than blocking.
  virtual void* stream_handle(bool /*side*/) { CUMLP_THROW("device ", name(), " has no streams"); }
  /// Whether a host call on the side stream may read and write backend memory
  /// (the simulator, whose device memory is host heap; never a GPU).
  virtual bool host_calls_reach_memory() const { return false; }
  /// Enqueues fn(arg) on the side stream: it runs on the host when the stream
  /// reaches it (cudaLaunchHostFunc; while recording, a host node run at each
  /// replay). On the simulator it runs on the calling thread, and what it
  /// throws propagates out of the call, or the replay, that ran it.
  virtual void side_host_call(void (*/*fn*/)(void*), void* /*arg*/) {
    CUMLP_THROW("device ", name(), " has no side stream");
  }
  /// Adds the value at `loss` (one dtype element, backend memory) to
  /// `record`'s losses, as a loss op given the record does: for a recorded
  /// distributed step, whose loss is the global batch's only after the sum.
  virtual void record_loss(DType /*dt*/, const void* /*loss*/, StepRecord* /*record*/) {
    CUMLP_THROW("device ", name(), " cannot record ops");
  }

  // ---- ops (count as one launch each) ----------------------------------------------
  /// y = act(x w^T + b) [M, N]; with dropout also y_drop = y * keep / (1 - p).
  /// b may be null (no bias); y_drop is null when ep.dropout_p == 0.
  virtual void linear_act_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w,
                                  const void* b, const Epilogue& ep, void* y, void* y_drop) = 0;
  /// Input gradient with the previous layer's dropout and activation
  /// derivative fused: dz_prev [M, K] = ((dz w) * keep/(1-p)) * act'(y_prev).
  /// dz [M, N], w [N, K], y_prev [M, K] (the previous activation output,
  /// before dropout). ep describes the previous layer's activation and dropout.
  virtual void linear_backward_data(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w,
                                    const void* y_prev, const Epilogue& ep, void* dz_prev) = 0;
  /// Weight and bias gradients: dw [N, K] = dz^T x, db [N] = sum over rows of dz
  /// (fixed order, deterministic). db may be null.
  virtual void linear_backward_weight(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* x,
                                      void* dw, void* db) = 0;
  /// Whether the loss can take a softmax output layer's logits and normalise
  /// them itself (Epilogue::softmax_in_loss, LossArgs::normalise), saving the
  /// softmax's own pass.
  virtual bool fuses_softmax_into_loss() const { return false; }
  /// Whether linear_loss_forward is one launch for an output layer of `cols`
  /// columns with epilogue ep (cuda/sim: cols <= 32, fp32, no dropout, a
  /// softmax output only with ep.softmax_in_loss). The executor issues it for
  /// the output layer then; otherwise the two ops.
  virtual bool fuses_loss_into_output(int64_t cols, const Epilogue& ep) const {
    (void)cols;
    (void)ep;
    return false;
  }
  /// The output layer's forward and the loss as one op: the results of
  /// linear_act_forward(dt, M, N, K, x, w, b, ep, y, nullptr) followed by
  /// loss_forward_backward(dt, a, y, target, dz, loss), bit for bit (which is
  /// what this default does). ep.dropout_p must be 0.
  virtual void linear_loss_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w,
                                   const void* b, const Epilogue& ep, void* y, const LossArgs& a, const void* target,
                                   void* dz, void* loss) {
    linear_act_forward(dt, M, N, K, x, w, b, ep, y, nullptr);
    loss_forward_backward(dt, a, y, target, dz, loss);
  }
  /// Both gradients of one layer (issued as one op where the device can: the
  /// cuda/sim GEMM runs them in one launch): linear_backward_weight(dz, x ->
  /// dw, db) and linear_backward_data(dz, w, y_prev, ep -> dz_prev), shapes as
  /// there. dz_prev must not overlap dz, x, w or y_prev.
  virtual void linear_backward(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w,
                               const void* x, const void* y_prev, const Epilogue& ep, void* dw, void* db,
                               void* dz_prev) {
    linear_backward_weight(dt, M, N, K, dz, x, dw, db);
    linear_backward_data(dt, M, N, K, dz, w, y_prev, ep, dz_prev);
  }
  /// Whether narrow_step is offered for networks of dtype dt at the current
  /// precision (the executor's rule, host/executor/plan.h, decides which
  /// networks are narrow). Default: not offered.
  virtual bool offers_narrow_step(DType /*dt*/) const { return false; }
  /// The forward through every layer, the loss (as loss_forward_backward with
  /// a.loss) and every layer's dz, dw and db of one training step, for a
  /// network whose layers after the input are all at most kNarrowMaxWidth
  /// wide (at most kNarrowMaxLayers layers): what linear_act_forward per layer,
  /// loss_forward_backward and the backward ops compute, in fewer launches.
  virtual void narrow_step(DType /*dt*/, const NarrowStepArgs& /*a*/) {
    CUMLP_THROW("device ", name(), " has no fused narrow step");
  }
  /// Loss of outputs y [rows, cols] against targets (int32 class indices [rows]
  /// for cross-entropy, else dt values [rows, cols]); writes the scalar loss
  /// (dt) to *loss and, if want_grad, dz = d loss / d (pre-activation) [rows, cols].
  /// With a.normalise it also writes y (softmax of the logits it holds, in place).
  virtual void loss_forward_backward(DType dt, const LossArgs& a, const void* y, const void* target, void* dz,
                                     void* loss) = 0;
  /// Gathers a batch: x [n, a.cols] (dt) = a.samples[rows[i]] * a.scale, and
  /// target = labels[rows[i]] (int32 [n]) or target_table[rows[i]] (dt [n,
  /// target_cols]). rows: n int64 indices in backend memory, checked by the caller.
  virtual void gather_batch(DType dt, const GatherArgs& a, const int64_t* rows, int64_t n, void* x,
                            void* target) = 0;
  /// One optimizer update over n flat parameters (m, v null for SGD).
  virtual void optimizer_step(DType dt, const OptimArgs& a, int64_t n, void* params, const void* grads, void* m,
                              void* v) = 0;

  /// Ops issued since construction (launches on sim/cuda).
  int64_t launches() const { return launches_; }

  /// Process-wide counts over every backend: alloc() calls and host syncs
  /// (download() and synchronize(), which wait for the device). The benchmarks
  /// read them around training steps; each implementation calls count_*().
  static int64_t allocations_total() { return allocations_.load(std::memory_order_relaxed); }
  static int64_t host_syncs_total() { return host_syncs_.load(std::memory_order_relaxed); }

 protected:
  static void count_allocation() { allocations_.fetch_add(1, std::memory_order_relaxed); }
  static void count_host_sync() { host_syncs_.fetch_add(1, std::memory_order_relaxed); }
  int64_t launches_ = 0;

 private:
  inline static std::atomic<int64_t> allocations_{0}, host_syncs_{0};
};

}  // namespace cumlp
