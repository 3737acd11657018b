#include "cumlp/network.h"

#include <cmath>
#include <optional>

#include "cumlp/train.h"
#include "host/core/device_registry.h"
#include "host/executor/executor.h"
#include "host/shared/error_macros.h"
#include "host/shared/rng.h"
#include "host/dist/data_parallel.h"

namespace cumlp {

namespace {

// PyTorch's nn.Linear default: weight and bias uniform in ±1/sqrt(in), from
// the counter-based stream keyed by (seed, layer, element).
Tensor initial_parameters(const Plan& plan, uint64_t seed, DType dtype) {
  Tensor flat({plan.param_count}, dtype);
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const FusedLayer& l = plan.layers[i];
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
    const auto layer = static_cast<uint32_t>(i);
    for (int64_t e = 0; e < l.in * l.out; ++e)
      flat.set(l.w_offset + e, (2.0 * rng::uniform01(rng::bits(seed, rng::kInitWeight, layer, e)) - 1.0) * bound);
    if (l.bias)
      for (int64_t e = 0; e < l.out; ++e)
        flat.set(l.b_offset + e, (2.0 * rng::uniform01(rng::bits(seed, rng::kInitBias, layer, e)) - 1.0) * bound);
  }
  return flat;
}

// The device's backend set to the options' GEMM precision (which it refuses
// when it has no tensor-core GEMM).
std::unique_ptr<Backend> backend_for(const NetworkOptions& o) {
  check_precision(o.device, o.dtype, o.precision);
  std::unique_ptr<Backend> backend = make_backend(o.device);
  backend->set_precision(o.precision);
  return backend;
}

}  // namespace

struct Network::Impl {
  ModelSpec spec;
  Optimizer optimizer;
  NetworkOptions options;
  Executor exec;
  std::vector<int32_t> classes;  // the batch's class indices, reused step to step

  Impl(const ModelSpec& s, const Optimizer& o, const NetworkOptions& opt)
      : spec(s), optimizer(o), options(opt),
        exec(Plan::compile(s), o, backend_for(opt), opt.dtype, opt.seed, opt.max_batch,
             opt.communicator.get()) {}

  // Data parallelism: this rank's rows of a global batch of `rows`.
  // This rank's rows of a global batch. The batch buffers first grow to the
  // largest shard of any rank, so every rank grows (and drops its recorded
  // steps) at the same step: NCCL needs every rank to replay the same graphs.
  Shard shard(int64_t rows) {
    const Communicator* c = options.communicator.get();
    if (!c) return Shard{0, rows};
    exec.reserve((rows + c->size() - 1) / c->size());
    return shard_of(rows, c->rank(), c->size());
  }

  const Plan& plan() const { return exec.plan(); }

  void check_shape(const Tensor& x) const {
    CUMLP_CHECK(x.rank() == 2 && x.dim(1) == plan().inputs && x.dim(0) >= 1, "input has shape ", x.describe(),
                ", expected [batch, ", plan().inputs, "]");
  }

  // Checks x is [rows, inputs] and returns it in the network's dtype.
  Tensor check_inputs(const Tensor& x) const {
    check_shape(x);
    return x.to(options.dtype);
  }

  // t's data in the network's dtype: t itself when it already is, else a
  // converted copy held in tmp.
  const void* data_in_dtype(const Tensor& t, std::optional<Tensor>& tmp) const {
    return t.dtype() == options.dtype ? t.raw() : tmp.emplace(t.to(options.dtype)).raw();
  }

  // Uploads (x, target) after checking the target's shape and values. Data
  // already in the network's dtype is uploaded in place and the class
  // buffer is reused, so a training step makes no host copy or allocation.
  void load(const Tensor& x, const Tensor& target) {
    check_shape(x);
    std::optional<Tensor> x_tmp, t_tmp;
    const void* xs = data_in_dtype(x, x_tmp);
    const int64_t rows = x.dim(0);
    if (loss_takes_classes(plan().loss)) {
      CUMLP_CHECK(target.numel() == rows && (target.rank() == 1 || (target.rank() == 2 && target.dim(1) == 1)),
                  "cross-entropy target has shape ", target.describe(), ", expected [", rows, "] class indices");
      classes.resize(static_cast<std::size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) {
        const double c = target.at(i);
        CUMLP_CHECK(c == std::floor(c) && c >= 0 && c < static_cast<double>(plan().outputs), "target row ", i,
                    ": class ", c, " is not an integer in [0, ", plan().outputs, ")");
        classes[static_cast<std::size_t>(i)] = static_cast<int32_t>(c);
      }
      exec.load_batch(rows, xs, classes.data());
      return;
    }
    CUMLP_CHECK(target.numel() == rows * plan().outputs && target.dim(0) == rows, "target has shape ",
                target.describe(), ", expected [", rows, ", ", plan().outputs, "]");
    exec.load_batch(rows, xs, data_in_dtype(target, t_tmp));
  }

  Tensor download_flat(void* src) {
    Tensor t({plan().param_count}, options.dtype);
    exec.backend().download(t.raw(), src, exec.param_bytes());
    return t;
  }

  void upload_flat(void* dst, const Tensor& flat, const char* what) {
    CUMLP_CHECK(flat.numel() == plan().param_count, what, " has ", flat.numel(), " elements, the model has ",
                plan().param_count);
    Tensor t = flat.to(options.dtype);
    exec.backend().upload(dst, t.raw(), exec.param_bytes());
  }

  // Argmax per row, or for one output a threshold: 0.5 for probabilities,
  // 0 for identity/tanh outputs.
  std::vector<int32_t> classes_of(const Tensor& y) const {
    const int64_t rows = y.dim(0), cols = y.dim(1);
    std::vector<int32_t> cls(static_cast<std::size_t>(rows));
    const int32_t act = plan().layers.back().act;
    const double threshold = (act == ops::kIdentity || act == ops::kTanh) ? 0.0 : 0.5;
    for (int64_t i = 0; i < rows; ++i) {
      int32_t best = 0;
      if (cols == 1) {
        best = y.at(i) > threshold ? 1 : 0;
      } else {
        for (int64_t j = 1; j < cols; ++j)
          if (y.at(i * cols + j) > y.at(i * cols + best)) best = static_cast<int32_t>(j);
      }
      cls[static_cast<std::size_t>(i)] = best;
    }
    return cls;
  }

  const FusedLayer& layer(int i) const {
    CUMLP_CHECK(i >= 0 && i < static_cast<int>(plan().layers.size()), "layer index ", i, " out of range [0, ",
                plan().layers.size(), ")");
    return plan().layers[static_cast<std::size_t>(i)];
  }
};

Network::Network(const ModelSpec& spec, const Optimizer& optimizer, const NetworkOptions& options) {
  optimizer.validate();
  CUMLP_CHECK(options.max_batch >= 1, "max_batch must be >= 1, got ", options.max_batch);
  impl_ = std::make_unique<Impl>(spec, optimizer, options);
  impl_->upload_flat(impl_->exec.params(), initial_parameters(impl_->plan(), options.seed, options.dtype),
                     "initial parameters");
  if (impl_->exec.distributed()) check_same_network_on_every_rank(*this);
}

Network::~Network() = default;
Network::Network(Network&&) noexcept = default;
Network& Network::operator=(Network&&) noexcept = default;

const ModelSpec& Network::spec() const { return impl_->spec; }
const Optimizer& Network::optimizer() const { return impl_->optimizer; }
Device Network::device() const { return impl_->options.device; }
DType Network::dtype() const { return impl_->options.dtype; }
Precision Network::precision() const { return impl_->options.precision; }
uint64_t Network::seed() const { return impl_->options.seed; }
const std::shared_ptr<Communicator>& Network::communicator() const { return impl_->options.communicator; }

double Network::train_step(const Tensor& x, const Tensor& target) {
  queue_train_step(x, target);
  return impl_->exec.train_step_loss();
}

void Network::queue_train_step(const Tensor& x, const Tensor& target) {
  if (!impl_->exec.distributed()) {
    impl_->load(x, target);
    return impl_->exec.queue_step(x.dim(0));
  }
  impl_->check_shape(x);
  const Shard s = impl_->shard(x.dim(0));
  if (s.rows() > 0) impl_->load(rows_of(x, s), rows_of(target, s));
  impl_->exec.queue_shard_step(s.rows(), x.dim(0), s.begin);
}

void Network::upload_dataset(const Dataset& data) {
  (void)check_targets(impl_->spec, data);
  const bool classes = loss_takes_classes(impl_->spec.loss_kind());
  Tensor table;
  if (!classes) {  // explicit targets or one-hot labels, as a [size, outputs] table in dtype()
    std::vector<int64_t> all(static_cast<std::size_t>(data.size()));
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    table = Tensor({data.size(), data.target_width()}, impl_->options.dtype);
    if (impl_->options.dtype == DType::F32)
      data.gather_targets(all.data(), data.size(), table.data<float>());
    else
      data.gather_targets(all.data(), data.size(), table.data<double>());
  }
  const bool u8 = data.storage() == Storage::u8;
  impl_->exec.attach_data(data.size(), u8 ? static_cast<const void*>(data.u8().data()) : data.f32().data(), u8,
                          data.scale(), classes ? static_cast<const void*>(data.labels().data()) : table.raw(),
                          data.samples_owner());
}

void Network::queue_train_step(std::span<const int64_t> rows) {
  const auto global = static_cast<int64_t>(rows.size());
  if (!impl_->exec.distributed()) {
    impl_->exec.gather_batch(rows.data(), global);
    return impl_->exec.queue_step(global);
  }
  const Shard s = impl_->shard(global);
  if (s.rows() > 0) impl_->exec.gather_batch(rows.data() + s.begin, s.rows());
  impl_->exec.queue_shard_step(s.rows(), global, s.begin);
}

TrainLosses Network::take_losses() { return impl_->exec.take_losses(); }

TrainLosses Network::peek_losses() { return impl_->exec.peek_losses(); }

double Network::compute_gradients(const Tensor& x, const Tensor& target) {
  CUMLP_CHECK(!impl_->exec.distributed(), "compute_gradients gives one process's gradient; a network with a "
              "communicator trains with train_step or queue_train_step");
  impl_->load(x, target);
  return impl_->exec.loss(x.dim(0), /*train=*/true, /*backward=*/true);
}

void Network::apply_gradients() { impl_->exec.update(); }
int64_t Network::step_count() const { return impl_->exec.steps(); }

void Network::set_learning_rate(double lr) {
  Optimizer o = impl_->optimizer;
  o.lr = lr;
  o.validate();
  impl_->optimizer = o;
  impl_->exec.optimizer() = o;
}
double Network::learning_rate() const { return impl_->optimizer.lr; }

Tensor Network::forward(const Tensor& x) {
  Tensor xs = impl_->check_inputs(x);
  const int64_t rows = xs.dim(0), outs = impl_->plan().outputs, chunk = impl_->exec.capacity();
  Tensor out({rows, outs}, impl_->options.dtype);
  const std::size_t in_row = static_cast<std::size_t>(impl_->plan().inputs) * dtype_size(xs.dtype());
  const std::size_t out_row = static_cast<std::size_t>(outs) * dtype_size(xs.dtype());
  for (int64_t r = 0; r < rows; r += chunk) {
    const int64_t n = std::min(chunk, rows - r);
    impl_->exec.load_batch(n, static_cast<const char*>(xs.raw()) + r * in_row, nullptr);
    const void* y = impl_->exec.forward(n, /*train=*/false);
    impl_->exec.backend().download(static_cast<char*>(out.raw()) + r * out_row, y, n * out_row);
  }
  return out;
}

std::vector<Tensor> Network::forward_layers(const Tensor& x) {
  Tensor xs = impl_->check_inputs(x);
  const int64_t rows = xs.dim(0);
  impl_->exec.load_batch(rows, xs.raw(), nullptr);
  impl_->exec.forward(rows, /*train=*/false);
  std::vector<Tensor> outs;
  for (std::size_t i = 0; i < impl_->plan().layers.size(); ++i) {
    Tensor y({rows, impl_->plan().layers[i].out}, dtype());
    impl_->exec.backend().download(y.raw(), impl_->exec.layer_output(i), y.bytes());
    outs.push_back(std::move(y));
  }
  return outs;
}

double Network::evaluate_loss(const Tensor& x, const Tensor& target) {
  impl_->load(x, target);
  return impl_->exec.loss(x.dim(0), /*train=*/false, /*backward=*/false);
}

double Network::evaluate_rows(std::span<const int64_t> rows) {
  impl_->exec.gather_batch(rows.data(), static_cast<int64_t>(rows.size()));
  return impl_->exec.loss(static_cast<int64_t>(rows.size()), /*train=*/false, /*backward=*/false);
}

std::vector<int32_t> Network::predict_classes(const Tensor& x) { return impl_->classes_of(forward(x)); }

double Network::evaluate(const Tensor& x, const Tensor& target, std::vector<int32_t>* classes) {
  impl_->load(x, target);
  const double loss = impl_->exec.loss(x.dim(0), /*train=*/false, /*backward=*/false);
  if (classes) {
    const FusedLayer& last = impl_->plan().layers.back();
    Tensor y({x.dim(0), last.out}, dtype());
    impl_->exec.backend().download(y.raw(), impl_->exec.layer_output(impl_->plan().layers.size() - 1), y.bytes());
    *classes = impl_->classes_of(y);
  }
  return loss;
}

int64_t Network::parameter_count() const { return impl_->plan().param_count; }
Tensor Network::parameters() const { return impl_->download_flat(impl_->exec.params()); }
void Network::set_parameters(const Tensor& flat) { impl_->upload_flat(impl_->exec.params(), flat, "parameters"); }
Tensor Network::gradients() const { return impl_->download_flat(impl_->exec.grads()); }

Tensor Network::weight(int i) const {
  const FusedLayer& l = impl_->layer(i);
  const Tensor flat = parameters();
  Tensor w({l.out, l.in}, dtype());
  for (int64_t e = 0; e < l.out * l.in; ++e) w.set(e, flat.at(l.w_offset + e));
  return w;
}

Tensor Network::bias(int i) const {
  const FusedLayer& l = impl_->layer(i);
  if (!l.bias) return Tensor({0}, dtype());
  const Tensor flat = parameters();
  Tensor b({l.out}, dtype());
  for (int64_t e = 0; e < l.out; ++e) b.set(e, flat.at(l.b_offset + e));
  return b;
}

void Network::set_weight(int i, const Tensor& w) {
  const FusedLayer& l = impl_->layer(i);
  CUMLP_CHECK(w.numel() == l.out * l.in && w.rank() == 2 && w.dim(0) == l.out, "layer ", i, " weight must be [",
              l.out, ", ", l.in, "], got ", w.describe());
  Tensor flat = parameters();
  for (int64_t e = 0; e < w.numel(); ++e) flat.set(l.w_offset + e, w.at(e));
  set_parameters(flat);
}

void Network::set_bias(int i, const Tensor& b) {
  const FusedLayer& l = impl_->layer(i);
  CUMLP_CHECK(l.bias, "layer ", i, " has no bias");
  CUMLP_CHECK(b.numel() == l.out && b.rank() == 1, "layer ", i, " bias must be [", l.out, "], got ", b.describe());
  Tensor flat = parameters();
  for (int64_t e = 0; e < b.numel(); ++e) flat.set(l.b_offset + e, b.at(e));
  set_parameters(flat);
}

Tensor Network::optimizer_state(int moment) const {
  CUMLP_CHECK(moment == 0 || moment == 1, "optimizer moment must be 0 or 1, got ", moment);
  if (!impl_->exec.moment(moment)) return Tensor({0}, dtype());
  return impl_->download_flat(impl_->exec.moment(moment));
}

void Network::set_optimizer_state(const Tensor& m, const Tensor& v, int64_t steps) {
  CUMLP_CHECK(steps >= 0, "step count must be >= 0, got ", steps);
  if (impl_->exec.moment(0)) impl_->upload_flat(impl_->exec.moment(0), m, "first moment");
  if (impl_->exec.moment(1)) impl_->upload_flat(impl_->exec.moment(1), v, "second moment");
  impl_->exec.set_steps(steps);
}

int Network::launches_per_step() const {
  const int64_t measured = impl_->exec.launches_last_step();
  return measured > 0 ? static_cast<int>(measured) : impl_->plan().launches_per_step();
}
int64_t Network::device_bytes() const { return impl_->exec.device_bytes(); }

}  // namespace cumlp
