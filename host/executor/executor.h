// The executor: owns a backend's buffers for one plan and runs the training
// step on it. The step reads top to bottom in Executor::train_step.
//
// Buffers (all allocated once, the batch ones grown only when a larger batch
// arrives): flat params / grads / Adam moments; the input batch and its
// targets; per layer its activation output y and, with dropout, the dropped
// copy the next layer reads; two gradient buffers used in turn by backward.
//
// On a backend that records (CUDA graphs), a queued training step is recorded
// once per batch size and replayed after that: its ops take what changes per
// step (the update count, the running loss sum, the optimizer settings and
// Adam's scalars) from a StepRecord in backend memory, so a step issues one
// replay and waits for nothing, and a changed learning rate is an upload, not
// a new recording. Up to kMaxRecordings batch sizes keep their recording at
// once (an epoch's full and short last batch both replay); a new size beyond
// that evicts the least recently used one; all are dropped when the batch
// buffers grow (executor_record.cpp). Elsewhere the step's ops are issued one by one. A
// distributed step (a communicator) records the same way where its gradient
// sum can be stream-ordered, keyed by the global batch size; see
// executor_dist.cpp for its shape (sums on a side stream beside backward).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "cumlp/network.h"
#include "cumlp/optim.h"
#include "host/shared/backend.h"
#include "host/executor/plan.h"
#include "host/dist/gradient_sum.h"

namespace cumlp {

class Executor {
 public:
  /// With a communicator (data parallelism) the gradient sum runs between
  /// backward and the update. Where the backend records and the sum can be
  /// stream-ordered (GradientSum::can_enqueue: nccl on cuda, mpi's host calls
  /// on sim) distributed steps are recorded too, unless record_distributed is
  /// false (tests compare both): the sums go on the backend's side stream, each
  /// layer's as soon as backward has written it (executor_dist.cpp).
  /// Elsewhere (cpu) they are issued op by op, the sum staged through the host.
  Executor(Plan plan, Optimizer opt, std::unique_ptr<Backend> backend, DType dtype, uint64_t seed, int64_t capacity,
           Communicator* comm = nullptr, bool record_distributed = true);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const Plan& plan() const { return plan_; }
  Backend& backend() { return *backend_; }
  DType dtype() const { return dtype_; }
  int64_t capacity() const { return capacity_; }
  int64_t steps() const { return steps_; }
  /// Backend launches of the last train_step (0 before the first): the
  /// step's own (forward, loss, backward, update; a replay counts what it
  /// recorded) plus those of the device gather that loaded its batch since the
  /// step before (gather_batch; none for a batch uploaded from the host).
  int64_t launches_last_step() const { return launches_last_step_; }
  void set_steps(int64_t s);
  /// Batch sizes whose step a recording backend keeps recorded at once: a
  /// training run's full batch and short last batch, with room for a
  /// validation or second loader's sizes. A graph holds no memory of its own
  /// beyond its nodes, so the bound only stops an unbounded set of sizes from
  /// piling up.
  static constexpr std::size_t kMaxRecordings = 4;
  /// Batch sizes with a recording (or a warm-up step towards one).
  std::size_t recordings() const { return recordings_.size(); }
  Optimizer& optimizer() { return opt_; }

  /// Makes room for batches of `rows` (allocates only when rows > capacity).
  void reserve(int64_t rows);
  /// Copies a host batch in: x [rows, inputs] in dtype(); targets as int32
  /// class indices [rows] (cross-entropy) or dtype() values [rows, outputs].
  void load_batch(int64_t rows, const void* x, const void* targets);
  /// Attaches a dataset's tables (replacing any attached before): samples
  /// [size, inputs] uint8 or float, and labels (int32 [size], cross-entropy)
  /// or targets (dtype() [size, outputs]). The targets are copied into
  /// backend memory. The samples are copied too, except when samples_owner is
  /// given and backend memory is host memory: then the ops read them in place
  /// and the executor holds samples_owner until the next attach or its end.
  void attach_data(int64_t size, const void* samples, bool samples_u8, double scale, const void* targets,
                   std::shared_ptr<const void> samples_owner = {});
  /// Whether the attached samples are read in place (no copy), see attach_data.
  bool data_borrowed() const { return data_owner_ != nullptr; }
  /// The batch of rows[0..n) of the attached data, gathered in backend memory.
  void gather_batch(const int64_t* rows, int64_t n);

  /// forward (train) -> loss -> backward -> update, without waiting for the
  /// device; the loss is added to the totals take_losses() returns.
  void queue_step(int64_t rows);
  /// Data parallelism: queue_step on this rank's `rows` of a global batch of
  /// `global_rows`, starting at row `first_row` of it (its dropout masks are
  /// those rows'); 0 rows: the rank only takes part in the gradient sum.
  void queue_shard_step(int64_t rows, int64_t global_rows, int64_t first_row = 0);
  bool distributed() const { return gradient_sum_ != nullptr; }
  /// Whether distributed steps are recorded (see the constructor).
  bool records_distributed() const { return gradient_sum_ && record_; }
  /// queue_step, then waits for this step's loss and returns it (throws Error
  /// if it is not finite).
  double train_step(int64_t rows);
  /// The loss of the step queued last (waits for it; throws Error if it is not finite).
  double train_step_loss();
  /// Training losses since the last call (waits for the device).
  TrainLosses take_losses();
  /// take_losses() without the reset (waits for the device).
  TrainLosses peek_losses();
  /// forward -> loss [-> backward] without the update. Returns the loss.
  double loss(int64_t rows, bool train, bool backward);
  /// The optimizer update over the flat buffers; advances steps().
  void update();
  /// Evaluation-mode forward; returns the output buffer [rows, outputs].
  /// softmax_in_loss: a softmax output layer leaves its logits there, for a
  /// loss that normalises them (Backend::fuses_softmax_into_loss). layers:
  /// how many layers to run (fewer when the loss op runs the output layer,
  /// Backend::fuses_loss_into_output); returns the last output buffer.
  const void* forward(int64_t rows, bool train, bool softmax_in_loss = false, std::size_t layers = SIZE_MAX);

  /// Output buffer of layer i from the last forward ([rows, out_i], before dropout).
  const void* layer_output(std::size_t i) const { return y_[i]; }
  // Flat buffers (backend memory), for parameter I/O.
  void* params() { return params_; }
  void* grads() { return grads_; }
  void* moment(int i) { return i == 0 ? m_ : v_; }
  std::size_t param_bytes() const { return static_cast<std::size_t>(plan_.param_count) * elem_; }
  int64_t device_bytes() const { return bytes_held_; }

 private:
  using Allocations = std::vector<std::pair<void*, std::size_t>>;  // buffer and its bytes
  void* allocate(std::size_t bytes, Allocations& owner);
  void release(Allocations& owner);
  Epilogue epilogue(std::size_t layer) const;
  const void* layer_input(std::size_t layer, bool train) const;
  double read_loss_unchecked();
  void check_finite_loss(double value, int64_t step) const;
  void backward(int64_t rows);  // calls layer_grads_done_(i), when set, after layer i's gradients
  bool takes_narrow_step(bool train, bool with_backward) const;
  void narrow_step(int64_t rows, StepRecord* record);
  void issue_loss(int64_t rows, bool train, bool with_backward, StepRecord* record);
  void issue_update(int64_t number);
  void issue_step(int64_t rows);
  struct Recording;
  void record_step(int64_t key, Recording& r, const std::function<void()>& issue);
  // executor_dist.cpp: the recorded distributed step.
  void queue_recorded_shard_step(int64_t rows, int64_t global_rows, int64_t first_row);
  void issue_dist_step(int64_t rows, int64_t global_rows);
  std::function<void(std::size_t)> layer_grads_done_;
  Recording& recording_for(int64_t rows, bool* made);
  void drop_recordings() noexcept;
  void upload_settings();
  void sync_settings();
  /// Bytes of the targets of `rows` rows: int32 class indices or dtype() values [rows, outputs].
  std::size_t target_bytes(std::size_t rows) const {
    return loss_takes_classes(plan_.loss) ? rows * sizeof(int32_t) : rows * plan_.outputs * elem_;
  }
  void* at(void* base, int64_t elements) const { return static_cast<char*>(base) + elements * elem_; }

  Plan plan_;
  Optimizer opt_;
  std::unique_ptr<Backend> backend_;
  DType dtype_;
  std::size_t elem_;
  uint64_t seed_;
  int64_t capacity_ = 0, steps_ = 0, bytes_held_ = 0, launches_last_step_ = 0;
  int64_t gather_launches_ = 0;  // of gather_batch since the last step, counted into its launches
  void *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr, *loss_ = nullptr;
  // Batch buffers (sized by capacity_).
  void *x_ = nullptr, *targets_ = nullptr, *dz_[2] = {nullptr, nullptr};
  std::vector<void*> y_, y_drop_;
  std::vector<void*> dz_layers_;  // narrow plans: every layer's dz [capacity_, out] (Backend::narrow_step)
  Allocations fixed_allocs_, batch_allocs_, data_allocs_;  // released in the destructor / on growth / on attach
  GatherArgs data_;          // the attached dataset (data_.samples null: none)
  int64_t data_rows_ = 0;    // its size
  std::shared_ptr<const void> data_owner_;  // keeps borrowed samples alive (null: copied or none)
  int64_t* batch_rows_ = nullptr;  // [capacity_] row indices of the batch being gathered
  // Recording backends: the step bookkeeping (backend memory) and what the
  // recorded step was made for. Other backends: the totals kept on the host.
  StepRecord* record_ = nullptr;
  StepRecord record_host_;  // source / destination of record_ transfers
  Optimizer uploaded_opt_;  // the settings in record_->optim
  struct Recording {    // one batch size's step
    bool recorded = false;  // false: it ran op by op once (warm-up); the next step records
    int64_t launches = 0;   // launches the recorded step holds
    uint64_t last_use = 0;  // use_clock_ at its last step (the eviction order)
    int64_t shard_rows = 0, first_row = 0;  // distributed: this rank's rows of the global batch it was made for
  };
  std::map<int64_t, Recording> recordings_;  // by batch rows (distributed: global batch rows)
  uint64_t use_clock_ = 0;
  TrainLosses host_totals_;
  double last_loss_ = 0;  // of the last queued step, on backends that do not record
  std::unique_ptr<GradientSum> gradient_sum_;  // data parallelism: the all-reduce before the update
  int64_t row0_ = 0;  // data parallelism: the global batch row of this rank's first row (dropout key)
  void count_loss(double loss);
};

}  // namespace cumlp
