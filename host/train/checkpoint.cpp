// Checkpoints as .safetensors: PyTorch-style tensor names plus metadata that
// describes the model, the optimizer and the training state.
//
//   layers.<i>.weight [out, in], layers.<i>.bias [out]   (i counts Linear layers)
//   optimizer.exp_avg, optimizer.exp_avg_sq              flat moments (Adam, AdamW)
//   optimizer.momentum_buffer                            flat velocity (SGD with momentum)
//   train.best_parameters                                flat, when training kept a best epoch
//   metadata: format, spec, optimizer, dtype, seed, steps, state, extra.<key>
#include <nlohmann/json.hpp>

#include "cumlp/train.h"
#include "host/shared/error_macros.h"
#include "host/io/safetensors.h"

namespace cumlp {

namespace {

constexpr const char* kFormat = "cumlp-checkpoint-1";
using nlohmann::json;

json spec_to_json(const ModelSpec& spec) {
  json layers = json::array();
  for (const Layer& l : spec.layers()) {
    if (l.kind == LayerKind::Linear) layers.push_back({{"kind", "linear"}, {"out", l.out}, {"bias", l.bias}});
    if (l.kind == LayerKind::Activation)
      layers.push_back({{"kind", "activation"}, {"name", activation_name(l.act)}, {"alpha", l.alpha}});
    if (l.kind == LayerKind::Dropout) layers.push_back({{"kind", "dropout"}, {"p", l.p}});
  }
  return {{"input", spec.input_features()}, {"layers", layers}, {"loss", loss_name(spec.loss_kind())}};
}

ModelSpec spec_from_json(const json& j) {
  ModelSpec spec = ModelSpec::input(j.at("input").get<int64_t>());
  for (const json& l : j.at("layers")) {
    const std::string kind = l.at("kind").get<std::string>();
    if (kind == "linear")
      spec.linear(l.at("out").get<int64_t>(), l.at("bias").get<bool>());
    else if (kind == "activation")
      spec.activation(parse_activation(l.at("name").get<std::string>()), l.at("alpha").get<double>());
    else if (kind == "dropout")
      spec.dropout(l.at("p").get<double>());
    else
      CUMLP_THROW("unknown layer kind '", kind, "'");
  }
  spec.loss(parse_loss(j.at("loss").get<std::string>()));
  spec.validate();
  return spec;
}

json optimizer_to_json(const Optimizer& o) {
  return {{"kind", optimizer_name(o.kind)}, {"lr", o.lr}, {"beta1", o.beta1}, {"beta2", o.beta2},
          {"eps", o.eps}, {"weight_decay", o.weight_decay}, {"l1", o.l1}, {"momentum", o.momentum},
          {"nesterov", o.nesterov}};
}

Optimizer optimizer_from_json(const json& j) {
  Optimizer o;
  o.kind = parse_optimizer(j.at("kind").get<std::string>());
  o.lr = j.at("lr").get<double>();
  o.beta1 = j.at("beta1").get<double>();
  o.beta2 = j.at("beta2").get<double>();
  o.eps = j.at("eps").get<double>();
  o.weight_decay = j.at("weight_decay").get<double>();
  o.l1 = j.at("l1").get<double>();
  o.momentum = j.value("momentum", 0.0);  // absent in files written before SGD had momentum
  o.nesterov = j.value("nesterov", false);
  o.validate();
  return o;
}

// A named slice of a flat host tensor, viewed as bytes for the writer.
io::TensorView slice(const std::string& name, const Tensor& flat, int64_t offset, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const std::size_t es = dtype_size(flat.dtype());
  const auto* base = static_cast<const std::byte*>(flat.raw()) + static_cast<std::size_t>(offset) * es;
  return {name, flat.dtype() == DType::F32 ? io::StDType::F32 : io::StDType::F64, std::move(shape),
          std::span<const std::byte>(base, static_cast<std::size_t>(n) * es)};
}

}  // namespace

void save_checkpoint(const std::string& path, const Network& net, const TrainState* state,
                     const std::map<std::string, std::string>& extra) {
  const Tensor params = net.parameters();
  std::vector<io::TensorView> views;
  int64_t offset = 0;
  int linear = 0;
  for (const Layer& l : net.spec().layers()) {
    if (l.kind != LayerKind::Linear) continue;
    const std::string prefix = "layers." + std::to_string(linear++);
    views.push_back(slice(prefix + ".weight", params, offset, {l.out, l.in}));
    offset += l.out * l.in;
    if (l.bias) {
      views.push_back(slice(prefix + ".bias", params, offset, {l.out}));
      offset += l.out;
    }
  }
  const Tensor m = net.optimizer_state(0), v = net.optimizer_state(1);
  if (m.numel() > 0 && v.numel() == 0) {  // SGD with momentum: torch's name for the velocity
    views.push_back(slice("optimizer.momentum_buffer", m, 0, {m.numel()}));
  } else if (m.numel() > 0) {
    views.push_back(slice("optimizer.exp_avg", m, 0, {m.numel()}));
    views.push_back(slice("optimizer.exp_avg_sq", v, 0, {v.numel()}));
  }
  Tensor best;
  std::map<std::string, std::string> meta = {{"format", kFormat},
                                             {"spec", spec_to_json(net.spec()).dump()},
                                             {"optimizer", optimizer_to_json(net.optimizer()).dump()},
                                             {"dtype", dtype_name(net.dtype())},
                                             {"seed", std::to_string(net.seed())},
                                             {"steps", std::to_string(net.step_count())}};
  if (state) {
    meta["state"] = json{{"epochs_done", state->epochs_done}, {"train_loss", state->train_loss},
                         {"valid_loss", state->valid_loss}, {"best_epoch", state->best_epoch},
                         {"best_valid", state->best_valid}}.dump();
    if (!state->best_parameters.empty()) {
      best = Tensor::from({net.parameter_count()}, state->best_parameters, net.dtype());
      views.push_back(slice("train.best_parameters", best, 0, {best.numel()}));
    }
  }
  for (const auto& [k, value] : extra) meta["extra." + k] = value;
  io::write_safetensors(path, views, meta);
}

namespace {

// Parses the metadata of an already-read file.
Checkpoint describe(const io::SafetensorsFile& f) {
  const auto get = [&](const std::string& key) -> const std::string& {
    auto it = f.metadata.find(key);
    CUMLP_CHECK(it != f.metadata.end(), "checkpoint '", f.path, "': metadata has no '", key,
                "' (not a cumlp checkpoint?)");
    return it->second;
  };
  CUMLP_CHECK(get("format") == kFormat, "checkpoint '", f.path, "': unknown format '", get("format"), "'");
  Checkpoint c;
  try {
    c.spec = spec_from_json(json::parse(get("spec")));
    c.optimizer = optimizer_from_json(json::parse(get("optimizer")));
    c.dtype = parse_dtype(get("dtype"));
    if (f.metadata.count("state")) {
      const json s = json::parse(get("state"));
      TrainState st;
      st.epochs_done = s.at("epochs_done").get<int>();
      st.train_loss = s.at("train_loss").get<std::vector<double>>();
      st.valid_loss = s.at("valid_loss").get<std::vector<double>>();
      st.best_epoch = s.at("best_epoch").get<int>();
      st.best_valid = s.at("best_valid").get<double>();
      c.state = st;
    }
  } catch (const json::exception& e) {
    CUMLP_THROW("checkpoint '", f.path, "': bad metadata: ", e.what());
  } catch (const Error& e) {
    CUMLP_THROW("checkpoint '", f.path, "': ", e.message());
  }
  for (const auto& [k, value] : f.metadata)
    if (k.rfind("extra.", 0) == 0) c.extra[k.substr(6)] = value;
  return c;
}

// Tensor `name`, after checking that it exists with `shape` and the dtype.
const io::StTensor& expect(const io::SafetensorsFile& f, const std::string& name, const std::vector<int64_t>& shape,
                           DType dtype) {
  auto it = f.tensors.find(name);
  CUMLP_CHECK(it != f.tensors.end(), "checkpoint '", f.path, "': tensor '", name, "' is missing");
  const io::StTensor& t = it->second;
  const io::StDType want = dtype == DType::F32 ? io::StDType::F32 : io::StDType::F64;
  CUMLP_CHECK(t.dtype == want, "checkpoint '", f.path, "': tensor '", name, "' is ", io::dtype_name(t.dtype),
              ", expected ", io::dtype_name(want));
  CUMLP_CHECK(t.shape == shape, "checkpoint '", f.path, "': tensor '", name, "' has the wrong shape for the model");
  return t;
}

// Checks every layer tensor against the spec before a Network is built: the
// spec in the metadata is untrusted, and a tiny file whose spec claims huge
// layers must fail here rather than allocate them. Tensors that match the
// shapes are bounded by the file size, so the model is too.
void expect_layers(const io::SafetensorsFile& f, const ModelSpec& spec, DType dtype) {
  int linear = 0;
  for (const Layer& l : spec.layers()) {
    if (l.kind != LayerKind::Linear) continue;
    const std::string prefix = "layers." + std::to_string(linear++);
    expect(f, prefix + ".weight", {l.out, l.in}, dtype);
    if (l.bias) expect(f, prefix + ".bias", {l.out}, dtype);
  }
}

// Copies tensor `name` (which must have `shape` and the dtype) into flat[offset...].
void take(const io::SafetensorsFile& f, const std::string& name, const std::vector<int64_t>& shape, Tensor& flat,
          int64_t offset) {
  const io::StTensor& t = expect(f, name, shape, flat.dtype());
  std::memcpy(static_cast<std::byte*>(flat.raw()) + static_cast<std::size_t>(offset) * dtype_size(flat.dtype()),
              t.bytes.data(), t.bytes.size());
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) { return describe(io::read_safetensors(path)); }

Network load_network(const std::string& path, const NetworkOptions& options, Checkpoint* info) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  Checkpoint c = describe(f);
  NetworkOptions opts = options;
  // Looked up with a message: map::at's out_of_range would not name the file.
  const auto meta = [&](const std::string& key) -> const std::string& {
    const auto it = f.metadata.find(key);
    CUMLP_CHECK(it != f.metadata.end(), "checkpoint '", path, "': metadata has no '", key, "'");
    return it->second;
  };
  opts.dtype = c.dtype;
  try {
    opts.seed = std::stoull(meta("seed"));
  } catch (const std::exception&) {
    CUMLP_THROW("checkpoint '", path, "': bad seed '", meta("seed"), "'");
  }
  expect_layers(f, c.spec, opts.dtype);
  Network net(c.spec, c.optimizer, opts);
  Tensor params({net.parameter_count()}, opts.dtype);
  int64_t offset = 0;
  int linear = 0;
  for (const Layer& l : c.spec.layers()) {
    if (l.kind != LayerKind::Linear) continue;
    const std::string prefix = "layers." + std::to_string(linear++);
    take(f, prefix + ".weight", {l.out, l.in}, params, offset);
    offset += l.out * l.in;
    if (l.bias) {
      take(f, prefix + ".bias", {l.out}, params, offset);
      offset += l.out;
    }
  }
  net.set_parameters(params);
  int64_t steps = 0;
  try {
    steps = std::stoll(f.metadata.count("steps") ? f.metadata.at("steps") : "0");
  } catch (const std::exception&) {
    CUMLP_THROW("checkpoint '", path, "': bad step count");
  }
  Tensor m, v;
  if (c.optimizer.kind != OptimizerKind::SGD && f.tensors.count("optimizer.exp_avg")) {
    m = Tensor({net.parameter_count()}, opts.dtype);
    v = Tensor({net.parameter_count()}, opts.dtype);
    take(f, "optimizer.exp_avg", {net.parameter_count()}, m, 0);
    take(f, "optimizer.exp_avg_sq", {net.parameter_count()}, v, 0);
  } else if (c.optimizer.momentum != 0 && f.tensors.count("optimizer.momentum_buffer")) {
    m = Tensor({net.parameter_count()}, opts.dtype);
    take(f, "optimizer.momentum_buffer", {net.parameter_count()}, m, 0);
  }
  if (m.numel() > 0) net.set_optimizer_state(m, v, steps);
  else net.set_optimizer_state(net.optimizer_state(0), net.optimizer_state(1), steps);
  if (c.state && f.tensors.count("train.best_parameters")) {
    Tensor best({net.parameter_count()}, opts.dtype);
    take(f, "train.best_parameters", {net.parameter_count()}, best, 0);
    c.state->best_parameters = best.to_vector();
  }
  if (info) *info = std::move(c);
  return net;
}

}  // namespace cumlp
