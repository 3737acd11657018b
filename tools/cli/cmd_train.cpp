// `cumlp train`, `cumlp eval`, `cumlp predict`.
#include <filesystem>

#include "cli.h"
#include "cumlp/files.h"
#include "cumlp/plot.h"
#include "presets.h"
#include "progress.h"
#include "run_output.h"

namespace cumlp::cli {

namespace {

struct TrainArgs {
  std::string preset, layers, activation = "relu", loss = "cross-entropy", dataset, data_dir, out, device = "auto";
  std::string optimizer, resume, dtype = "f32";
  std::optional<int> epochs, patience;
  std::optional<int64_t> batch_size;
  std::optional<double> lr, weight_decay, l1, dropout, valid_fraction;
  std::optional<uint64_t> seed;  // default 777, or the checkpoint's seed with --resume
  bool quiet = false;
};

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::F32;
  if (s == "f64") return DType::F64;
  throw Error("unknown --dtype '" + s + "' (expected f32 or f64)");
}

// The recipe: a preset (or --layers) with the command-line overrides applied.
Preset recipe(const TrainArgs& a) {
  if (a.preset.empty() == a.layers.empty())
    throw Error(a.preset.empty() ? "give --preset NAME or --layers SPEC (e.g. --layers 784-100-10)"
                                 : "give either --preset or --layers, not both");
  Preset p;
  if (!a.preset.empty()) {
    p = find_preset(a.preset);
  } else {
    p.name = "custom";
    p.layers = a.layers;
    p.hidden = parse_activation(a.activation);
    p.loss = parse_loss(a.loss);
    p.output = p.loss == LossKind::BCE ? Activation::Sigmoid : Activation::Identity;
    if (a.dataset.empty()) throw Error("--layers needs --dataset (mnist, fashion, cifar10, digits, xor)");
    p.dataset = a.dataset;
    p.epochs = 10;
  }
  if (!a.optimizer.empty()) {
    const double lr = p.optimizer.lr;
    p.optimizer = Optimizer{};
    p.optimizer.kind = parse_optimizer(a.optimizer);
    p.optimizer.lr = lr;
  }
  if (a.lr && !(*a.lr > 0)) throw Error("--lr must be > 0, got " + std::to_string(*a.lr));
  if (a.lr) p.optimizer.lr = *a.lr;
  if (a.weight_decay) p.optimizer.weight_decay = *a.weight_decay;
  if (a.l1) p.optimizer.l1 = *a.l1;
  if (a.epochs) p.epochs = *a.epochs;
  if (a.batch_size) p.batch_size = *a.batch_size;
  if (a.patience) p.patience = *a.patience;
  if (a.valid_fraction) p.valid_fraction = *a.valid_fraction;
  if (p.epochs < 1) throw Error("--epochs must be >= 1, got " + std::to_string(p.epochs));
  if (a.batch_size && *a.batch_size < 1) throw Error("--batch-size must be >= 1, got " + std::to_string(*a.batch_size));
  p.optimizer.validate();
  return p;
}

ModelSpec model_of(const Preset& p, std::optional<double> dropout) {
  ModelSpec parsed = ModelSpec::parse(p.layers, p.hidden, -1, p.output);
  if (!dropout || *dropout == 0) return parsed.loss(p.loss);
  if (!(*dropout > 0 && *dropout < 1)) throw Error("--dropout must be in [0, 1), got " + std::to_string(*dropout));
  // Dropout after every hidden layer's activation.
  ModelSpec spec = ModelSpec::input(parsed.input_features());
  const auto& layers = parsed.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if (l.kind == LayerKind::Linear) spec.linear(l.out, l.bias);
    if (l.kind == LayerKind::Activation) spec.activation(l.act, l.alpha);
    const bool hidden_end = l.kind == LayerKind::Activation && i + 1 < layers.size();
    if (hidden_end) spec.dropout(*dropout);
  }
  return spec.loss(p.loss);
}

void train(const TrainArgs& a, Output& out) {
  const Preset p = recipe(a);
  // Batch capacity grows on demand; full batch sizes it from the data below.
  NetworkOptions opts{Device::parse(a.device), parse_dtype(a.dtype), a.seed.value_or(777),
                      p.batch_size ? p.batch_size : 256};
  Checkpoint resumed;
  std::optional<Network> net;
  if (!a.resume.empty()) {
    net.emplace(load_network(a.resume, opts, &resumed));
    if (a.lr) net->set_learning_rate(*a.lr);  // e.g. continue a diverged run more gently
    // The split and the shuffles must go on with the seed the run began with.
    if (a.seed && *a.seed != net->seed())
      throw Error("--seed " + std::to_string(*a.seed) + " differs from the seed " + std::to_string(net->seed()) +
                  " of --resume '" + a.resume + "' (a resumed run keeps its seed)");
  }
  const uint64_t seed = net ? net->seed() : opts.seed;
  const DataSplit data = load_dataset(p.dataset, a.data_dir, seed);
  if (!net) {
    if (!p.batch_size) opts.max_batch = data.train.size();
    net.emplace(model_of(p, a.dropout), p.optimizer, opts);
  }
  const std::string dir = a.out.empty() ? "runs/" + p.name : a.out;
  std::filesystem::create_directories(dir);
  TrainConfig config;
  config.epochs = p.epochs;
  config.batch_size = p.batch_size;
  config.valid_fraction = p.valid_fraction;
  config.patience = p.patience;
  config.seed = seed;
  config.checkpoint = dir + "/checkpoint.safetensors";
  config.on_progress = ProgressPrinter(a.quiet);
  Trainer trainer(*net, config);
  if (resumed.state) trainer.resume_from(*resumed.state);
  std::ostream& os = out.human();
  os << "training " << net->spec().describe() << " with " << net->optimizer().describe() << " on "
     << net->device().name() << " (" << data.train.size() << " samples, " << p.dataset << ")" << std::endl;
  const TrainReport r = trainer.fit(data.train, data.test ? &*data.test : nullptr);

  const std::string model_path = dir + "/model.safetensors";
  // The scale in round-trip form (std::to_string would keep 6 decimals: 1/255
  // became 0.003922, and predict then scaled inputs unlike training did).
  save_checkpoint(model_path, *net, nullptr,
                  {{"preset", p.name}, {"dataset", p.dataset}, {"input_scale", nlohmann::json(data.train.scale()).dump()}});
  plot_loss_history(dir + "/loss.png", r.train_loss, r.valid_loss, r.valid_loss.empty() ? 0 : r.best_epoch,
                    p.name + " loss");
  nlohmann::json j = {{"preset", p.name}, {"model_spec", net->spec().describe()}, {"optimizer", net->optimizer().describe()},
                      {"device", net->device().name()}, {"epochs_run", r.epochs_run}, {"best_epoch", r.best_epoch},
                      {"stopped_early", r.stopped_early}, {"train_loss", r.train_loss}, {"valid_loss", r.valid_loss},
                      {"train_rows", r.train_rows}, {"valid_rows", r.valid_rows}, {"seconds", r.seconds},
                      {"samples_per_second", r.samples_per_second}, {"launches_per_step", net->launches_per_step()},
                      {"model", model_path}, {"plots", {{"loss", dir + "/loss.png"}}}};
  if (r.test) {
    j.update(metrics_json(*r.test, data.test->class_names()));
    save_confusion_png(dir + "/confusion.png", *r.test, data.test->class_names());
    j["plots"]["confusion"] = dir + "/confusion.png";
    if (save_samples_png(dir + "/samples.png", *data.test)) j["plots"]["samples"] = dir + "/samples.png";
    os << "test accuracy " << r.test->accuracy << ", test loss " << r.test->loss << "\n";
  }
  write_file_atomically(dir + "/report.json", j.dump(2) + "\n");
  os << "model: " << model_path << "\nplots: " << dir << "/ (loss.png" << (r.test ? ", confusion.png" : "") << ")\n";
  out.report = j;
}

}  // namespace

namespace {
void add_train(CLI::App& app, Output& out) {
  static TrainArgs a;
  auto* cmd = app.add_subcommand("train", "Train a preset or a model given by --layers");
  cmd->add_option("--preset", a.preset, "One of: " + preset_names());
  cmd->add_option("--layers", a.layers, "Layer sizes, e.g. 784-100-100-10 (with --dataset)");
  cmd->add_option("--activation", a.activation, "Hidden activation for --layers")->capture_default_str();
  cmd->add_option("--loss", a.loss, "Loss for --layers")->capture_default_str();
  cmd->add_option("--dataset", a.dataset, "Dataset for --layers: mnist, fashion, cifar10, digits, xor");
  cmd->add_option("--epochs", a.epochs, "Epochs");
  cmd->add_option("--batch-size", a.batch_size, "Mini-batch size");
  cmd->add_option("--lr", a.lr, "Learning rate");
  cmd->add_option("--optimizer", a.optimizer, "sgd, adam, adamw");
  cmd->add_option("--weight-decay", a.weight_decay, "L2 (sgd/adam) or decoupled (adamw) weight decay");
  cmd->add_option("--l1", a.l1, "L1 penalty");
  cmd->add_option("--dropout", a.dropout, "Dropout after every hidden layer, in [0, 1)");
  cmd->add_option("--patience", a.patience, "Early-stopping patience in epochs (0: off)");
  cmd->add_option("--valid-fraction", a.valid_fraction, "Fraction held out for validation");
  cmd->add_option("--seed", a.seed, "Seed of init, split, shuffles and dropout (default 777; --resume keeps the run's)");
  cmd->add_option("--device", a.device, "auto, cpu, sim, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a.dtype, "f32 or f64 (cpu only)")->capture_default_str();
  cmd->add_option("--data-dir", a.data_dir, "Folder with the dataset files");
  cmd->add_option("--out", a.out, "Run folder (default runs/<preset>)");
  cmd->add_option("--resume", a.resume, "Continue from a checkpoint.safetensors");
  cmd->add_flag("--quiet", a.quiet, "No progress output");
  cmd->callback([&out] { train(a, out); });
}

}  // namespace

CUMLP_CLI_COMMAND(30, add_train);

}  // namespace cumlp::cli
