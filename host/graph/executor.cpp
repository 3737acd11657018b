#include "host/graph/executor.h"

#include <cmath>

#include "host/check.h"

namespace cumlp {

Executor::Executor(Plan plan, Optimizer opt, std::unique_ptr<Backend> backend, DType dtype, uint64_t seed,
                   int64_t capacity)
    : plan_(std::move(plan)), opt_(opt), backend_(std::move(backend)), dtype_(dtype), elem_(dtype_size(dtype)),
      seed_(seed) {
  CUMLP_CHECK(backend_->supports(dtype), "device ", backend_->name(), " does not support ", dtype_name(dtype));
  params_ = allocate(param_bytes(), fixed_allocs_);
  grads_ = allocate(param_bytes(), fixed_allocs_);
  if (opt_.kind != OptimizerKind::SGD) {
    m_ = allocate(param_bytes(), fixed_allocs_);
    v_ = allocate(param_bytes(), fixed_allocs_);
  }
  loss_ = allocate(elem_, fixed_allocs_);
  reserve(std::max<int64_t>(capacity, 1));
}

Executor::~Executor() {
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
  release(batch_allocs_);
  capacity_ = rows;
  const auto n = static_cast<std::size_t>(rows);
  x_ = allocate(n * plan_.inputs * elem_, batch_allocs_);
  targets_ = allocate(loss_takes_classes(plan_.loss) ? n * sizeof(int32_t) : n * plan_.outputs * elem_, batch_allocs_);
  for (auto& dz : dz_) dz = allocate(n * plan_.max_width * elem_, batch_allocs_);
  y_.assign(plan_.layers.size(), nullptr);
  y_drop_.assign(plan_.layers.size(), nullptr);
  for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
    y_[i] = allocate(n * plan_.layers[i].out * elem_, batch_allocs_);
    if (plan_.layers[i].dropout_p > 0) y_drop_[i] = allocate(n * plan_.layers[i].out * elem_, batch_allocs_);
  }
}

void Executor::load_batch(int64_t rows, const void* x, const void* targets) {
  reserve(rows);
  const auto n = static_cast<std::size_t>(rows);
  backend_->upload(x_, x, n * plan_.inputs * elem_);
  if (targets)
    backend_->upload(targets_, targets,
                     loss_takes_classes(plan_.loss) ? n * sizeof(int32_t) : n * plan_.outputs * elem_);
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
  return ep;
}

// What layer i reads: the batch, or the previous layer's output (its dropped
// copy in training mode).
const void* Executor::layer_input(std::size_t i, bool train) const {
  if (i == 0) return x_;
  return train && y_drop_[i - 1] ? y_drop_[i - 1] : y_[i - 1];
}

const void* Executor::forward(int64_t rows, bool train) {
  for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
    const FusedLayer& l = plan_.layers[i];
    Epilogue ep = epilogue(i);
    if (!train) ep.dropout_p = 0;
    backend_->linear_act_forward(dtype_, rows, l.out, l.in, layer_input(i, train), at(params_, l.w_offset),
                                 l.bias ? at(params_, l.b_offset) : nullptr, ep, y_[i],
                                 ep.dropout_p > 0 ? y_drop_[i] : nullptr);
  }
  return y_.back();
}

// Walks the layers backwards: the weight gradient of layer i from its output
// gradient, then the output gradient of layer i-1 (its dropout and
// activation derivative fused). The first layer needs no input gradient.
void Executor::backward(int64_t rows) {
  int cur = 0;  // dz_[cur] holds d loss / d (pre-activation of layer i)
  for (std::size_t i = plan_.layers.size(); i-- > 0;) {
    const FusedLayer& l = plan_.layers[i];
    backend_->linear_backward_weight(dtype_, rows, l.out, l.in, dz_[cur], layer_input(i, true),
                                     at(grads_, l.w_offset), l.bias ? at(grads_, l.b_offset) : nullptr);
    if (i == 0) break;
    backend_->linear_backward_data(dtype_, rows, l.out, l.in, dz_[cur], at(params_, l.w_offset), y_[i - 1],
                                   epilogue(i - 1), dz_[1 - cur]);
    cur = 1 - cur;
  }
}

double Executor::read_loss() {
  double value = 0;
  if (dtype_ == DType::F32) {
    float f = 0;
    backend_->download(&f, loss_, sizeof f);
    value = f;
  } else {
    backend_->download(&value, loss_, sizeof value);
  }
  CUMLP_CHECK(std::isfinite(value), "loss is not finite (", value, ") at step ", steps_,
              "; lower the learning rate or check the inputs");
  return value;
}

double Executor::loss(int64_t rows, bool train, bool with_backward) {
  CUMLP_CHECK(rows >= 1 && rows <= capacity_, "batch of ", rows, " rows does not fit the loaded batch");
  const void* y = forward(rows, train);
  const FusedLayer& last = plan_.layers.back();
  LossArgs a;
  a.kind = static_cast<int32_t>(plan_.loss);
  a.rows = rows;
  a.cols = plan_.outputs;
  a.out_act = last.act;
  a.out_alpha = last.alpha;
  a.want_grad = with_backward;
  backend_->loss_forward_backward(dtype_, a, y, targets_, dz_[0], loss_);
  if (with_backward) backward(rows);
  return read_loss();
}

void Executor::update() {
  backend_->optimizer_step(dtype_, OptimArgs::from(opt_, ++steps_), plan_.param_count, params_, grads_, m_, v_);
}

// One training step, top to bottom.
double Executor::train_step(int64_t rows) {
  const int64_t launches_before = backend_->launches();
  const double batch_loss = loss(rows, /*train=*/true, /*backward=*/true);  // forward, loss, backward
  update();                                                                  // optimizer over the flat buffers
  launches_last_step_ = backend_->launches() - launches_before;
  return batch_loss;
}

}  // namespace cumlp
