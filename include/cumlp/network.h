// cumlp::Network — a model compiled for a device, with its parameters,
// gradients and optimizer state, ready to train and predict.
//
//   cumlp::Network net(spec, cumlp::Optimizer::adam(0.01), {.device = cumlp::Device::parse("auto"), .seed = 777});
//   double loss = net.train_step(x, y);   // x [B, in], y [B] class indices (cross-entropy) or [B, out]
//   cumlp::Tensor logits = net.forward(x_test);
//
// Parameters are initialised as PyTorch's nn.Linear default: weight and bias
// uniform in ±1/sqrt(in), drawn from the counter-based RNG keyed by the seed,
// so the same seed gives the same network on every device.
//
// Internally all parameters live in ONE flat buffer (layer by layer: weight
// [out, in] row-major, then bias [out]); gradients and optimizer moments use
// the same layout. No memory is allocated per step once the largest batch
// has been seen.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cumlp/data.h"
#include "cumlp/device.h"
#include "cumlp/dist.h"
#include "cumlp/export.h"
#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "cumlp/tensor.h"

namespace cumlp {

struct NetworkOptions {
  Device device{};              // where to run; Device::parse("auto") picks the best
  DType dtype = DType::F32;     // F64 only on the cpu device
  uint64_t seed = 777;          // init, dropout masks (and, in the trainer, split and shuffles)
  int64_t max_batch = 256;      // batch capacity allocated up front (grows on demand)
  /// Data parallelism (cumlp/dist.h): with a communicator (of any size: one
  /// rank runs the same distributed step), the training steps take the
  /// GLOBAL batch and this rank computes its shard of it (shard_of); the
  /// gradients are summed over the ranks before the update. Every rank must build the same spec, optimizer, dtype and
  /// seed (checked here: Error naming the rank that differs). Null: alone.
  std::shared_ptr<Communicator> communicator = nullptr;
  /// The arithmetic of the Linear layers' GEMMs (cumlp/tensor.h): TF32 and
  /// TF32x3 need a cuda or sim device and dtype F32 (check_precision), else
  /// the constructor throws.
  Precision precision = Precision::FP32;
};

/// Batch losses of training steps, summed on the device as the steps run.
struct TrainLosses {
  double sum = 0;               ///< sum of the batch losses
  int64_t steps = 0;            ///< how many batch losses
  int64_t first_nonfinite = 0;  ///< step_count() after the first step whose loss was not finite; 0: none
};

class CUMLP_API Network {
 public:
  /// Validates spec, optimizer and options, compiles the plan and initialises
  /// the parameters. Throws Error on an invalid model/optimizer, a dtype the
  /// device does not support, or out of memory.
  Network(const ModelSpec& spec, const Optimizer& optimizer, const NetworkOptions& options = {});
  ~Network();
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const ModelSpec& spec() const;
  const Optimizer& optimizer() const;
  Device device() const;
  DType dtype() const;
  /// The GEMM arithmetic given in the options.
  Precision precision() const;
  /// The seed of init and dropout masks.
  uint64_t seed() const;
  /// The communicator given in the options (null: this process trains alone).
  const std::shared_ptr<Communicator>& communicator() const;

  // ---- training ----------------------------------------------------------
  /// One step of gradient descent on the batch: forward in training mode
  /// (dropout active), loss, backward, optimizer update. Returns the batch
  /// loss (before the update). x: [B, in]; target: [B] (or [B, 1]) class
  /// indices for cross-entropy, else [B, out] floats. Throws Error on a shape
  /// mismatch, a class index out of range, or a non-finite loss.
  double train_step(const Tensor& x, const Tensor& target);
  /// The same step without waiting for the device: the batch loss is added to
  /// the running totals that take_losses() returns, so a GPU runs step after
  /// step with no host synchronisation (the step is recorded once as a CUDA
  /// graph and replayed). On cpu it throws at once on a non-finite loss, as
  /// train_step does; on a GPU the steps go on and take_losses() reports the
  /// first such step in TrainLosses::first_nonfinite.
  void queue_train_step(const Tensor& x, const Tensor& target);
  /// Keeps `data` in device memory in its native type (uint8 pixels stay
  /// bytes) for the queue_train_step(rows) below, replacing any dataset
  /// uploaded before. On a device whose memory is host memory (cpu) the
  /// samples are not copied: the network reads data.u8() / data.f32() in
  /// place and holds data.samples_owner() until the next upload or its end
  /// (a change to borrowed samples is seen by the next batches). A GPU gets
  /// its one copy of the samples; labels / targets are always copied. Throws
  /// Error if it does not fit the model (features, classes or target width)
  /// or the device's memory.
  void upload_dataset(const Dataset& data);
  /// queue_train_step on rows of the uploaded dataset, gathered and scaled on
  /// the device (bit for bit as Dataset::gather scales on the host). Throws
  /// Error if no dataset was uploaded or a row is out of range.
  void queue_train_step(std::span<const int64_t> rows);
  /// The training losses since the last take_losses() (of train_step and
  /// queue_train_step alike), and resets them. Waits for the device.
  TrainLosses take_losses();
  /// The same totals as take_losses() would return now, without resetting
  /// them: a progress display reads the running figures mid-epoch while the
  /// epoch's total stays one sum in step order, whatever the reading times
  /// (summing separately taken chunks would round differently from run to
  /// run). Waits for the device.
  TrainLosses peek_losses();
  /// Forward (training mode) + loss + backward, without the update: gradients()
  /// then holds d loss / d parameters. Returns the loss. Throws Error on a
  /// network with a communicator (use train_step, which sums over the ranks).
  double compute_gradients(const Tensor& x, const Tensor& target);
  /// Applies the optimizer to the current gradients and advances the step count.
  void apply_gradients();
  /// Number of optimizer updates applied so far (the dropout step key).
  int64_t step_count() const;
  void set_learning_rate(double lr);
  double learning_rate() const;

  // ---- inference -----------------------------------------------------------
  /// Outputs [B, out] in evaluation mode (no dropout): logits for
  /// cross-entropy models, the final activation's output otherwise.
  Tensor forward(const Tensor& x);
  /// Outputs of every Linear layer (after its activation) in evaluation
  /// mode: element i is [B, out_i]; the last equals forward(x).
  std::vector<Tensor> forward_layers(const Tensor& x);
  /// The loss on (x, target) in evaluation mode, no gradients.
  double evaluate_loss(const Tensor& x, const Tensor& target);
  /// The evaluation-mode loss on rows of the dataset given to upload_dataset,
  /// gathered on the device as queue_train_step(rows) gathers them (no host
  /// staging). Waits for the device. Throws Error if no dataset was uploaded,
  /// a row is out of range, or the loss is not finite.
  double evaluate_rows(std::span<const int64_t> rows);
  /// One evaluation-mode forward giving both the loss and, if classes is not
  /// null, the predicted class per row (as predict_classes).
  double evaluate(const Tensor& x, const Tensor& target, std::vector<int32_t>* classes);
  /// Predicted class per row: argmax of the outputs, or for a single output
  /// 1 if it exceeds 0.5 (0 for identity/tanh outputs) and 0 otherwise.
  std::vector<int32_t> predict_classes(const Tensor& x);

  // ---- parameters ------------------------------------------------------------
  int64_t parameter_count() const;
  /// Flat copy of all parameters (layout above), in dtype().
  Tensor parameters() const;
  /// Replaces all parameters; throws Error unless flat has parameter_count() elements.
  void set_parameters(const Tensor& flat);
  /// Flat copy of the gradients of the last compute_gradients/train_step.
  Tensor gradients() const;
  /// Weight [out, in] and bias [out] of Linear layer i (0-based among Linear
  /// layers). bias() of a layer without bias is an empty tensor.
  Tensor weight(int i) const;
  Tensor bias(int i) const;
  /// Replace weight/bias of Linear layer i; throws Error on a shape mismatch.
  void set_weight(int i, const Tensor& w);
  void set_bias(int i, const Tensor& b);
  /// Optimizer state, flat layout: Adam/AdamW moment 0 and 1 (first, second);
  /// SGD with momentum: moment 0 is the velocity buffer, moment 1 empty;
  /// plain SGD: both empty.
  Tensor optimizer_state(int moment) const;
  /// Restores the moments and the step count (for resuming training); a
  /// moment the optimizer does not keep is ignored.
  void set_optimizer_state(const Tensor& m, const Tensor& v, int64_t steps);

  // ---- introspection -----------------------------------------------------------
  /// Kernel launches (backend operations on cpu) in one training step:
  /// forward + loss + backward + update, plus the device gather of its batch
  /// when it was gathered from an uploaded dataset (queue_train_step(rows), the
  /// path Trainer::fit takes; a batch from the host has none). Counted during
  /// the last train_step; before the first, the plan's count of backend
  /// operations (no gather).
  int launches_per_step() const;
  /// Bytes of device memory held (parameters, gradients, state, activations).
  int64_t device_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cumlp
