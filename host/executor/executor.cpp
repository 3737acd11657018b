#include "host/executor/executor.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "host/shared/error_macros.h"

namespace cumlp {

Executor::Executor(Plan plan, Optimizer opt, std::unique_ptr<Backend> backend, DType dtype, uint64_t seed,
                   int64_t capacity, Communicator* comm, bool record_distributed)
    : plan_(std::move(plan)), opt_(opt), backend_(std::move(backend)), dtype_(dtype), elem_(dtype_size(dtype)),
      seed_(seed) {
  CUMLP_CHECK(backend_->supports(dtype), "device ", backend_->name(), " does not support ", dtype_name(dtype));
  params_ = allocate(param_bytes(), fixed_allocs_);
  // Distributed: the loss is one more element after the gradients, so one sum
  // makes it the global batch's too (a recorded step adds it to StepRecord after the sum).
  grads_ = allocate(param_bytes() + (comm ? elem_ : 0), fixed_allocs_);
  if (opt_.kind != OptimizerKind::SGD || opt_.momentum != 0) m_ = allocate(param_bytes(), fixed_allocs_);  // moment / velocity
  if (opt_.kind != OptimizerKind::SGD) v_ = allocate(param_bytes(), fixed_allocs_);
  loss_ = comm ? at(grads_, plan_.param_count) : allocate(elem_, fixed_allocs_);
  // Any communicator, even of one rank (a 1-rank nccl communicator is how one GPU checks the NCCL path).
  if (comm) gradient_sum_ = std::make_unique<GradientSum>(*comm, *backend_, dtype_, plan_.param_count);
  // Distributed steps are recorded only where the sum can be stream-ordered
  // (otherwise it waits on the host between backward and the update).
  if (backend_->can_record() && (!gradient_sum_ || (record_distributed && gradient_sum_->can_enqueue()))) {
    record_ = static_cast<StepRecord*>(allocate(sizeof(StepRecord), fixed_allocs_));
    record_host_.optim = OptimSettings::from(opt_, 1);
    uploaded_opt_ = opt_;
    backend_->upload(record_, &record_host_, sizeof record_host_);  // updates 0, first_nonfinite -1
  }
  reserve(std::max<int64_t>(capacity, 1));
}

Executor::~Executor() {
  drop_recordings();
  release(data_allocs_);
  release(batch_allocs_);
  release(fixed_allocs_);
}

void* Executor::allocate(std::size_t bytes, Allocations& owner) {
  void* p = backend_->alloc(bytes);
  owner.emplace_back(p, bytes);
  bytes_held_ += static_cast<int64_t>(bytes);
  return p;
}

void Executor::release(Allocations& owner) {
  for (const auto& [p, bytes] : owner) {
    backend_->release(p);
    bytes_held_ -= static_cast<int64_t>(bytes);
  }
  owner.clear();
}

void Executor::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  drop_recordings();  // they use the buffers released here
  release(batch_allocs_);
  capacity_ = rows;
  backend_->reserve_rows(rows);
  const auto n = static_cast<std::size_t>(rows);
  x_ = allocate(n * plan_.inputs * elem_, batch_allocs_);
  targets_ = allocate(target_bytes(n), batch_allocs_);
  for (auto& dz : dz_) dz = allocate(n * plan_.max_width * elem_, batch_allocs_);
  batch_rows_ = static_cast<int64_t*>(allocate(n * sizeof(int64_t), batch_allocs_));
  y_.assign(plan_.layers.size(), nullptr);
  y_drop_.assign(plan_.layers.size(), nullptr);
  for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
    y_[i] = allocate(n * plan_.layers[i].out * elem_, batch_allocs_);
    if (plan_.layers[i].dropout_p > 0) y_drop_[i] = allocate(n * plan_.layers[i].out * elem_, batch_allocs_);
  }
  dz_layers_.assign(plan_.narrow() ? plan_.layers.size() : 0, nullptr);
  for (std::size_t i = 0; i < dz_layers_.size(); ++i)
    dz_layers_[i] = allocate(n * plan_.layers[i].out * elem_, batch_allocs_);
}

void Executor::load_batch(int64_t rows, const void* x, const void* targets) {
  reserve(rows);
  const auto n = static_cast<std::size_t>(rows);
  backend_->upload(x_, x, n * plan_.inputs * elem_);
  if (targets)
    backend_->upload(targets_, targets, target_bytes(n));
}

void Executor::attach_data(int64_t size, const void* samples, bool samples_u8, double scale, const void* targets,
                           std::shared_ptr<const void> samples_owner) {
  CUMLP_CHECK(size >= 1 && samples && targets, "attach_data: empty dataset");
  release(data_allocs_);
  data_ = GatherArgs{};
  data_owner_.reset();
  const auto n = static_cast<std::size_t>(size);
  const std::size_t sample_bytes = n * plan_.inputs * (samples_u8 ? 1 : sizeof(float));
  const bool classes = loss_takes_classes(plan_.loss);
  // Host memory is backend memory on cpu: gather reads the caller's samples in
  // place. A GPU (or the simulator, which checks its own allocations) needs
  // its one upload.
  const bool borrow = samples_owner && backend_->memory_is_host();
  const void* samples_dev = samples;
  if (!borrow) {
    void* copy = allocate(sample_bytes, data_allocs_);
    backend_->upload(copy, samples, sample_bytes);
    samples_dev = copy;
  }
  void* targets_dev = allocate(target_bytes(n), data_allocs_);
  backend_->upload(targets_dev, targets, target_bytes(n));
  if (borrow) data_owner_ = std::move(samples_owner);
  data_.samples = samples_dev;
  data_.samples_u8 = samples_u8;
  data_.cols = plan_.inputs;
  data_.scale = scale;
  data_.labels = classes ? static_cast<const int32_t*>(targets_dev) : nullptr;
  data_.target_table = classes ? nullptr : targets_dev;
  data_.target_cols = classes ? 0 : plan_.outputs;
  data_rows_ = size;
}

void Executor::gather_batch(const int64_t* rows, int64_t n) {
  CUMLP_CHECK(data_.samples, "no dataset attached to gather a batch from");
  CUMLP_CHECK(n >= 1, "a batch needs at least one row, got ", n);
  for (int64_t i = 0; i < n; ++i)
    CUMLP_CHECK(rows[i] >= 0 && rows[i] < data_rows_, "row ", rows[i], " of batch position ", i,
                " is outside the attached dataset of ", data_rows_, " rows");
  reserve(n);
  backend_->upload(batch_rows_, rows, static_cast<std::size_t>(n) * sizeof(int64_t));
  const int64_t launches_before = backend_->launches();
  backend_->gather_batch(dtype_, data_, batch_rows_, n, x_, targets_);
  gather_launches_ += backend_->launches() - launches_before;
}

Epilogue Executor::epilogue(std::size_t i) const {
  const FusedLayer& l = plan_.layers[i];
  Epilogue ep;
  ep.act = l.act;
  ep.alpha = l.alpha;
  ep.dropout_p = l.dropout_p;
  ep.seed = seed_;
  ep.layer = static_cast<uint32_t>(i);
  ep.step = static_cast<uint32_t>(steps_);
  ep.record = record_;
  ep.element0 = row0_ * l.out;
  return ep;
}

// What layer i reads: the batch, or the previous layer's output (its dropped
// copy in training mode).
const void* Executor::layer_input(std::size_t i, bool train) const {
  if (i == 0) return x_;
  return train && y_drop_[i - 1] ? y_drop_[i - 1] : y_[i - 1];
}

const void* Executor::forward(int64_t rows, bool train, bool softmax_in_loss, std::size_t layers) {
  layers = std::min(layers, plan_.layers.size());
  for (std::size_t i = 0; i < layers; ++i) {
    const FusedLayer& l = plan_.layers[i];
    Epilogue ep = epilogue(i);
    if (!train) ep.dropout_p = 0;
    ep.softmax_in_loss = softmax_in_loss && i + 1 == plan_.layers.size();
    backend_->linear_act_forward(dtype_, rows, l.out, l.in, layer_input(i, train), at(params_, l.w_offset),
                                 l.bias ? at(params_, l.b_offset) : nullptr, ep, y_[i],
                                 ep.dropout_p > 0 ? y_drop_[i] : nullptr);
  }
  return layers > 0 ? y_[layers - 1] : x_;
}

// Walks the layers backwards: for layer i, its weight gradient from its
// output gradient and the output gradient of layer i-1 (its dropout and
// activation derivative fused), as one op (one launch on cuda/sim). The first
// layer needs no input gradient: its weight gradient alone.
void Executor::backward(int64_t rows) {
  int cur = 0;  // dz_[cur] holds d loss / d (pre-activation of layer i)
  for (std::size_t i = plan_.layers.size(); i-- > 0;) {
    const FusedLayer& l = plan_.layers[i];
    void* db = l.bias ? at(grads_, l.b_offset) : nullptr;
    if (i == 0) {
      backend_->linear_backward_weight(dtype_, rows, l.out, l.in, dz_[cur], layer_input(i, true),
                                       at(grads_, l.w_offset), db);
    } else {
      backend_->linear_backward(dtype_, rows, l.out, l.in, dz_[cur], at(params_, l.w_offset), layer_input(i, true),
                                y_[i - 1], epilogue(i - 1), at(grads_, l.w_offset), db, dz_[1 - cur]);
      cur = 1 - cur;
    }
    if (layer_grads_done_) layer_grads_done_(i);
  }
}

double Executor::read_loss_unchecked() {
  if (dtype_ == DType::F64) {
    double value = 0;
    backend_->download(&value, loss_, sizeof value);
    return value;
  }
  float f = 0;
  backend_->download(&f, loss_, sizeof f);
  return f;
}

void Executor::check_finite_loss(double value, int64_t step) const {
  CUMLP_CHECK(std::isfinite(value), "loss is not finite (", value, ") at step ", step,
              "; lower the learning rate or check the inputs");
}

// The narrow rule (Plan::narrow) on a backend offering the fused step, for
// training steps only (evaluation has no backward to fuse).
bool Executor::takes_narrow_step(bool train, bool with_backward) const {
  return train && with_backward && !dz_layers_.empty() && backend_->offers_narrow_step(dtype_);
}

// Forward, loss and every gradient as one op (Backend::narrow_step).
void Executor::narrow_step(int64_t rows, StepRecord* record) {
  NarrowStepArgs a;
  a.rows = rows;
  a.x = x_;
  for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
    const FusedLayer& l = plan_.layers[i];
    NarrowLayer n;
    n.in = l.in;
    n.out = l.out;
    n.w = at(params_, l.w_offset);
    n.b = l.bias ? at(params_, l.b_offset) : nullptr;
    n.ep = epilogue(i);
    n.y = y_[i];
    n.y_drop = l.dropout_p > 0 ? y_drop_[i] : nullptr;
    n.dz = dz_layers_[i];
    n.dw = at(grads_, l.w_offset);
    n.db = l.bias ? at(grads_, l.b_offset) : nullptr;
    a.layers.push_back(n);
  }
  const FusedLayer& last = plan_.layers.back();
  a.loss.kind = static_cast<int32_t>(plan_.loss);
  a.loss.rows = rows;
  a.loss.cols = plan_.outputs;
  a.loss.out_act = last.act;
  a.loss.out_alpha = last.alpha;
  a.loss.want_grad = true;
  a.loss.normalise = last.act == ops::kSoftmax;  // the fused step keeps a softmax output's logits for the loss
  a.loss.record = record;
  a.target = targets_;
  a.loss_out = loss_;
  backend_->narrow_step(dtype_, a);
}

// Forward, the loss (also added to `record` when set), backward if asked.
void Executor::issue_loss(int64_t rows, bool train, bool with_backward, StepRecord* record) {
  CUMLP_CHECK(rows >= 1 && rows <= capacity_, "batch of ", rows, " rows does not fit the loaded batch");
  if (takes_narrow_step(train, with_backward)) return narrow_step(rows, record);
  const FusedLayer& last = plan_.layers.back();
  // A softmax output's normalisation moves into the loss launch where the
  // backend can (the output layer never has dropout; cross-entropy takes logits).
  const bool softmax_in_loss = backend_->fuses_softmax_into_loss() && last.act == ops::kSoftmax &&
                               last.dropout_p == 0 && plan_.loss != LossKind::CrossEntropy;
  // Where the backend fuses the loss into the output layer's GEMM, that layer
  // and the loss are one op (one launch on cuda/sim).
  const std::size_t out = plan_.layers.size() - 1;
  Epilogue out_ep = epilogue(out);
  if (!train) out_ep.dropout_p = 0;
  out_ep.softmax_in_loss = softmax_in_loss;
  const bool fused = backend_->fuses_loss_into_output(plan_.outputs, out_ep);
  const void* y = forward(rows, train, softmax_in_loss, fused ? out : out + 1);
  LossArgs a;
  a.kind = static_cast<int32_t>(plan_.loss);
  a.rows = rows;
  a.cols = plan_.outputs;
  a.out_act = last.act;
  a.out_alpha = last.alpha;
  a.want_grad = with_backward;
  a.normalise = softmax_in_loss;
  a.record = record;
  if (fused)
    backend_->linear_loss_forward(dtype_, rows, last.out, last.in, layer_input(out, train), at(params_, last.w_offset),
                                  last.bias ? at(params_, last.b_offset) : nullptr, out_ep, y_[out], a, targets_,
                                  dz_[0], loss_);
  else
    backend_->loss_forward_backward(dtype_, a, y, targets_, dz_[0], loss_);
  if (with_backward) backward(rows);
}

// Update number `number` (1-based) over the flat buffers; on a recording
// backend the op counts it in record_ as well.
void Executor::issue_update(int64_t number) {
  OptimArgs a = OptimArgs::from(opt_, number);
  a.record = record_;
  backend_->optimizer_step(dtype_, a, plan_.param_count, params_, grads_, m_, v_);
}

double Executor::loss(int64_t rows, bool train, bool with_backward) {
  gather_launches_ = 0;  // the gather fed this evaluation, not the next step
  issue_loss(rows, train, with_backward, /*record=*/nullptr);
  const double value = read_loss_unchecked();
  check_finite_loss(value, steps_);
  return value;
}

void Executor::update() {
  sync_settings();
  issue_update(++steps_);
}

// One training step, top to bottom: forward, the loss (added to the record's
// running sum), backward, the optimizer over the flat buffers.
void Executor::issue_step(int64_t rows) {
  issue_loss(rows, /*train=*/true, /*with_backward=*/true, record_);
  issue_update(steps_ + 1);
}

}  // namespace cumlp
