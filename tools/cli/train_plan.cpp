#include "train_plan.h"

#include "cli.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace cumlp::cli {

namespace {

std::string num(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%g", v);
  return s;
}

// "64-32-16-10": the sizes of a model, without activations or loss.
std::string layer_sizes(const ModelSpec& spec) {
  std::string s = std::to_string(spec.input_features());
  for (const Layer& l : spec.layers())
    if (l.kind == LayerKind::Linear) s += "-" + std::to_string(l.out);
  return s;
}

// The activation after the hidden Linear layers; none for a one-layer model.
std::optional<Activation> hidden_activation(const ModelSpec& spec) {
  if (spec.linear_count() < 2) return std::nullopt;
  for (const Layer& l : spec.layers())
    if (l.kind == LayerKind::Activation) return l.act;
  return Activation::Identity;
}

double dropout_of(const ModelSpec& spec) {
  for (const Layer& l : spec.layers())
    if (l.kind == LayerKind::Dropout) return l.p;
  return 0;
}

// Parses a name with the library's parser, naming the flag in the message.
template <class Parse>
auto parse_flag(const char* flag, const std::string& value, Parse parse) {
  try {
    return parse(value);
  } catch (const Error& e) {
    throw Error(std::string(flag) + ": " + e.message());
  }
}

ModelSpec model_of(const Preset& p, std::optional<double> dropout) {
  ModelSpec parsed = ModelSpec::parse(p.layers, p.hidden, -1, p.output);
  if (!dropout || *dropout == 0) return parsed.loss(p.loss);
  if (!(*dropout > 0 && *dropout < 1)) throw Error("--dropout must be in [0, 1), got " + num(*dropout));
  if (parsed.linear_count() < 2)
    throw Error("--dropout: model " + p.layers + " has no hidden layer to drop out (dropout follows hidden layers)");
  // Dropout after every hidden layer's activation.
  ModelSpec spec = ModelSpec::input(parsed.input_features());
  const auto& layers = parsed.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if (l.kind == LayerKind::Linear) spec.linear(l.out, l.bias);
    if (l.kind == LayerKind::Activation) spec.activation(l.act, l.alpha);
    if (l.kind == LayerKind::Activation && i + 1 < layers.size()) spec.dropout(*dropout);
  }
  return spec.loss(p.loss);
}

// The values of the schedule flags, whatever the run.
void check_schedule_values(const TrainArgs& a) {
  if (a.epochs && *a.epochs < 1) throw Error("--epochs must be >= 1, got " + std::to_string(*a.epochs));
  if (a.batch_size && *a.batch_size < 1)
    throw Error("--batch-size must be >= 1, got " + std::to_string(*a.batch_size));
  if (a.patience && *a.patience < 0) throw Error("--patience must be >= 0, got " + std::to_string(*a.patience));
  if (a.valid_fraction && !(*a.valid_fraction >= 0 && *a.valid_fraction < 1))
    throw Error("--valid-fraction must be in [0, 1), got " + num(*a.valid_fraction));
  if (a.lr && !(*a.lr > 0)) throw Error("--lr must be > 0, got " + num(*a.lr));
}

// Applies the schedule flags given in `a` to the recipe; early stopping needs
// a validation split to watch.
void apply_schedule(const TrainArgs& a, Preset& p) {
  if (a.epochs) p.epochs = *a.epochs;
  if (a.batch_size) p.batch_size = *a.batch_size;
  if (a.patience) p.patience = *a.patience;
  if (a.valid_fraction) p.valid_fraction = *a.valid_fraction;
  if (p.patience > 0 && p.valid_fraction == 0) {
    const std::string from = p.name == "custom" ? "" : " of the recipe " + p.name;
    throw Error(a.valid_fraction ? "--valid-fraction 0 leaves early stopping (patience " + std::to_string(p.patience) +
                                       from + ") no validation loss to watch; add --patience 0"
                                 : "--patience " + std::to_string(p.patience) +
                                       " needs a validation split to watch; add --valid-fraction (e.g. 0.2)");
  }
}

Optimizer optimizer_of(const TrainArgs& a, Optimizer o) {
  if (a.weight_decay && !(*a.weight_decay >= 0)) throw Error("--weight-decay must be >= 0, got " + num(*a.weight_decay));
  if (a.l1 && !(*a.l1 >= 0)) throw Error("--l1 must be >= 0, got " + num(*a.l1));
  if (a.optimizer) {
    // A new kind starts from its defaults but keeps the recipe's learning rate.
    const double lr = o.lr;
    o = Optimizer{};
    o.kind = parse_flag("--optimizer", *a.optimizer, parse_optimizer);
    o.lr = lr;
  }
  if (a.lr) o.lr = *a.lr;
  if (a.weight_decay) o.weight_decay = *a.weight_decay;
  if (a.l1) o.l1 = *a.l1;
  if (a.momentum && o.kind != OptimizerKind::SGD)
    throw Error(std::string("--momentum: an sgd setting, the optimizer is ") + optimizer_name(o.kind) +
                " (add --optimizer sgd)");
  if (a.momentum) o.momentum = *a.momentum;  // validate() checks its range
  if (a.nesterov && !(o.momentum > 0)) throw Error("--nesterov needs --momentum > 0 (and --optimizer sgd)");
  if (a.nesterov) o.nesterov = true;
  o.validate();
  return o;
}

// One rank of a data-parallel run trains on its own device (cuda:local_rank).
void join(NetworkOptions& o, const std::shared_ptr<Communicator>& comm) {
  if (!comm) return;
  // join_ranks chose the kind by the same --device: nccl for cuda, mpi otherwise.
  if ((comm->kind() == "nccl") != (o.device.type == "cuda"))
    throw Error("the ranks joined with " + comm->kind() + " but train on " + o.device.type);
  o.device = device_for_rank(o.device, *comm);
  o.communicator = comm;
}

TrainPlan fresh_plan(const TrainArgs& a, const std::shared_ptr<Communicator>& comm) {
  if (a.preset.empty() == a.layers.empty())
    throw Error(a.preset.empty() ? "give --preset NAME or --layers SPEC (e.g. --layers 784-100-10), or --resume"
                                 : "give either --preset or --layers, not both");
  TrainPlan plan;
  Preset& p = plan.recipe;
  if (!a.preset.empty()) {
    p = find_preset(a.preset);
    const char* fixed = a.activation ? "--activation" : a.loss ? "--loss" : !a.dataset.empty() ? "--dataset" : nullptr;
    if (fixed)
      throw Error(std::string(fixed) + ": the preset " + p.name + " fixes its model (" + p.layers + " " +
                  activation_name(p.hidden) + ", " + loss_name(p.loss) + ") and data set (" + p.dataset +
                  "); use --layers with --activation, --loss and --dataset to define your own");
  } else {
    p.name = "custom";
    p.layers = a.layers;
    p.hidden = a.activation ? parse_flag("--activation", *a.activation, parse_activation) : Activation::ReLU;
    p.loss = a.loss ? parse_flag("--loss", *a.loss, parse_loss) : LossKind::CrossEntropy;
    p.output = p.loss == LossKind::BCE ? Activation::Sigmoid : Activation::Identity;
    if (a.dataset.empty()) throw Error("--layers needs --dataset (mnist, fashion, cifar10, digits, xor)");
    p.dataset = a.dataset;
    p.epochs = 10;
  }
  apply_schedule(a, p);
  p.optimizer = optimizer_of(a, p.optimizer);
  plan.spec = model_of(p, a.dropout);
  if (a.activation && !hidden_activation(plan.spec))
    throw Error("--activation: model " + p.layers + " has no hidden layer (the activation goes between layers)");
  const DType dtype = parse_dtype(a.dtype.value_or("f32"));
  plan.options = NetworkOptions{Device::parse(a.device, dtype), dtype, a.seed.value_or(777),
                                p.batch_size ? std::min<int64_t>(p.batch_size, 256) : 256};
  plan.options.precision = precision_flag(a.precision.value_or("fp32"), plan.options.device, dtype);
  join(plan.options, comm);
  return plan;
}

// A recorded value of the checkpoint's recipe, named in the error if absent.
const std::string& recorded(const TrainArgs& a, const Checkpoint& c, const std::string& key) {
  const auto it = c.extra.find(key);
  if (it == c.extra.end())
    throw Error("--resume '" + a.resume + "' does not record its '" + key + "' (only checkpoints written by " +
                "cumlp train can be resumed with it)");
  return it->second;
}

template <class T>
T recorded_number(const TrainArgs& a, const Checkpoint& c, const std::string& key) {
  const std::string& s = recorded(a, c, key);
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && v >= 0 && v <= 2e9) return static_cast<T>(v);  // a count or a fraction
  } catch (const std::exception&) {
  }
  throw Error("--resume '" + a.resume + "': bad recorded " + key + " '" + s + "'");
}

// A flag that names what the checkpoint fixes must name the same thing.
void expect_same(const TrainArgs& a, const char* flag, const std::string& given, const std::string& kept,
                 const char* what) {
  if (given == kept) return;
  throw Error(std::string(flag) + " " + given + " conflicts with --resume '" + a.resume + "', whose " + what + " is " +
              kept + " (a resumed run keeps it; only " + kResumeMayChange + " may change)");
}

// A checkpoint written before 0.2 records no recipe: as 0.1 required, the
// flags name it (--preset, or --layers with --dataset), its model must be the
// checkpoint's, and the schedule flags apply as to a fresh run.
void legacy_recipe(const TrainArgs& a, const Checkpoint& c, Preset& p) {
  if (!a.preset.empty()) {
    p = find_preset(a.preset);
  } else if (!a.layers.empty() && !a.dataset.empty()) {
    p.name = "custom";
    p.layers = a.layers;
    p.dataset = a.dataset;
    p.epochs = 10;
  } else {
    throw Error("--resume '" + a.resume + "' was written before cumlp 0.2 and does not record its recipe: give the " +
                "--preset (or --layers and --dataset) it was trained with");
  }
  expect_same(a, a.preset.empty() ? "--layers" : "--preset",
              layer_sizes(ModelSpec::parse(p.layers, Activation::ReLU, -1)), layer_sizes(c.spec), "model");
  TrainArgs schedule;
  schedule.epochs = a.epochs;
  schedule.batch_size = a.batch_size;
  schedule.valid_fraction = a.valid_fraction;
  schedule.patience = a.patience;
  apply_schedule(schedule, p);
}

TrainPlan resumed_plan(const TrainArgs& a, const std::shared_ptr<Communicator>& comm) {
  TrainPlan plan;
  Checkpoint& c = plan.checkpoint;
  const Checkpoint recorded_run = read_checkpoint(a.resume);
  // The file's dtype picks `auto`'s device (an f64 checkpoint stays off f32-only GPUs).
  plan.options = NetworkOptions{Device::parse(a.device, recorded_run.dtype)};
  // The GEMM precision is how the run computes, like the device: kept from the
  // checkpoint (fp32 when it records none) unless --precision changes it.
  const auto kept = recorded_run.extra.find("gemm_precision");
  const std::string precision = a.precision ? *a.precision : kept != recorded_run.extra.end() ? kept->second : "fp32";
  plan.options.precision = precision_flag(precision, plan.options.device, recorded_run.dtype);
  join(plan.options, comm);
  plan.resumed.emplace(load_network(a.resume, plan.options, &c));
  const Network& net = *plan.resumed;
  Preset& p = plan.recipe;
  if (c.extra.count("preset") == 0) {
    legacy_recipe(a, c, p);
  } else {
    p.name = recorded(a, c, "preset");
    if (p.name != "custom") {
      try {
        (void)find_preset(p.name);  // the default run folder is named after it
      } catch (const Error& e) {
        throw Error("--resume '" + a.resume + "': " + e.message());
      }
    }
    p.dataset = recorded(a, c, "dataset");
    p.epochs = recorded_number<int>(a, c, "epochs");
    p.batch_size = recorded_number<int64_t>(a, c, "batch_size");
    p.valid_fraction = recorded_number<double>(a, c, "valid_fraction");
    p.patience = recorded_number<int>(a, c, "patience");
  }
  p.layers = layer_sizes(c.spec);
  p.loss = c.spec.loss_kind();
  p.optimizer = c.optimizer;
  if (!a.preset.empty()) expect_same(a, "--preset", a.preset, p.name, "recipe");
  if (!a.layers.empty()) expect_same(a, "--layers", layer_sizes(ModelSpec::parse(a.layers, Activation::ReLU, -1)),
                                     p.layers, "model");
  const std::optional<Activation> hidden = hidden_activation(c.spec);
  if (a.activation)
    expect_same(a, "--activation", activation_name(parse_flag("--activation", *a.activation, parse_activation)),
                hidden ? activation_name(*hidden) : "none (no hidden layer)", "hidden activation");
  if (a.loss) expect_same(a, "--loss", loss_name(parse_flag("--loss", *a.loss, parse_loss)), loss_name(p.loss), "loss");
  if (!a.dataset.empty()) expect_same(a, "--dataset", a.dataset, p.dataset, "data set");
  if (a.dropout) expect_same(a, "--dropout", num(*a.dropout), num(dropout_of(c.spec)), "dropout");
  if (a.optimizer)
    expect_same(a, "--optimizer", optimizer_name(parse_flag("--optimizer", *a.optimizer, parse_optimizer)),
                optimizer_name(c.optimizer.kind), "optimizer");
  if (a.weight_decay) expect_same(a, "--weight-decay", num(*a.weight_decay), num(c.optimizer.weight_decay), "weight decay");
  if (a.l1) expect_same(a, "--l1", num(*a.l1), num(c.optimizer.l1), "l1 penalty");
  if (a.momentum) expect_same(a, "--momentum", num(*a.momentum), num(c.optimizer.momentum), "momentum");
  if (a.nesterov) expect_same(a, "--nesterov", "on", c.optimizer.nesterov ? "on" : "off", "Nesterov setting");
  if (a.batch_size)
    expect_same(a, "--batch-size", std::to_string(*a.batch_size),
                p.batch_size ? std::to_string(p.batch_size) : "the full training split", "batch size");
  if (a.valid_fraction) expect_same(a, "--valid-fraction", num(*a.valid_fraction), num(p.valid_fraction), "validation split");
  if (a.seed) expect_same(a, "--seed", std::to_string(*a.seed), std::to_string(net.seed()), "seed");
  if (a.dtype) expect_same(a, "--dtype", *a.dtype, dtype_name(net.dtype()), "dtype");
  // What may change: the schedule (validated as for a fresh run) and the learning rate.
  TrainArgs schedule;
  schedule.epochs = a.epochs;
  schedule.patience = a.patience;
  apply_schedule(schedule, p);
  const int done = c.state ? c.state->epochs_done : 0;
  if (p.epochs < done)
    throw Error("--epochs " + std::to_string(p.epochs) + " is fewer than the " + std::to_string(done) +
                " epochs --resume '" + a.resume + "' has already run");
  if (a.lr) plan.resumed->set_learning_rate(*a.lr);  // e.g. continue a diverged run more gently
  plan.spec = c.spec;
  plan.options.dtype = net.dtype();
  plan.options.seed = net.seed();
  return plan;
}

}  // namespace

TrainPlan plan_training(const TrainArgs& a, const std::shared_ptr<Communicator>& comm) {
  check_schedule_values(a);
  return a.resume.empty() ? fresh_plan(a, comm) : resumed_plan(a, comm);
}

std::map<std::string, std::string> recipe_metadata(const Preset& p) {
  return {{"preset", p.name},
          {"dataset", p.dataset},
          {"epochs", std::to_string(p.epochs)},
          {"batch_size", std::to_string(p.batch_size)},
          {"valid_fraction", nlohmann::json(p.valid_fraction).dump()},
          {"patience", std::to_string(p.patience)}};
}

}  // namespace cumlp::cli
