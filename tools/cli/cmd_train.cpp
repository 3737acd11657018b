// `cumlp train`, `cumlp eval`, `cumlp predict`.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli.h"
#include "cumlp/files.h"
#include "cumlp/plot.h"
#include "presets.h"
#include "progress.h"
#include "run_output.h"
#include "train_dist.h"
#include "train_plan.h"

namespace cumlp::cli {

namespace {

// SIGINT/SIGTERM during training: the handler only records the signal; the
// trainer polls it after every batch, stops, saves its checkpoint, and train()
// exits with 128 + the signal number (130, 143) after one "error:" line naming
// the checkpoint. A second signal kills at once: checkpoints are written
// atomically, so even that leaves the previous one intact.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {
    std::signal(sig, SIG_DFL);  // both async-signal-safe
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
}

// Installs the handler for the lifetime of the object (the training loop only).
class StopOnSignals {
 public:
  StopOnSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// Host devices (cpu, sim) take the model from host memory. calloc hands out
// more than the machine has (pages are only backed when touched), so an
// oversized model would be killed by the OOM killer mid-run instead of failing
// with a message: estimate the bytes first (parameters, gradients, Adam
// moments, one batch of activations; in double, so nothing overflows).
void check_host_memory(const ModelSpec& spec, const Optimizer& opt, DType dtype, int64_t batch, const Device& dev) {
  if (dev.name().rfind("cuda", 0) == 0) return;  // the CUDA backend reports its own allocation failures
  double params = 0, widths = static_cast<double>(spec.input_features() + spec.output_features());
  double max_width = 0;
  for (const Layer& l : spec.layers()) {
    if (l.kind != LayerKind::Linear) continue;
    params += static_cast<double>(l.out) * (static_cast<double>(l.in) + (l.bias ? 1 : 0));
    widths += 2.0 * static_cast<double>(l.out);  // output and (at most) a dropout copy
    max_width = std::max(max_width, static_cast<double>(l.out));
  }
  const double elem = dtype == DType::F32 ? 4 : 8;
  const double bytes = elem * (params * (opt.kind == OptimizerKind::SGD ? 2 : 4) +
                               static_cast<double>(batch) * (widths + 2 * max_width));
  const double host = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (host > 0 && bytes > host) {
    char msg[320];
    std::snprintf(msg, sizeof msg,
                  "model %s with batch %lld needs about %.0f bytes (%.0f parameters) on %s, but this machine has "
                  "%.0f bytes of memory; use smaller --layers or --batch-size",
                  spec.describe().c_str(), static_cast<long long>(batch), bytes, params, dev.name().c_str(), host);
    throw Error(msg);
  }
}

// What the run was, beyond the losses: every flag's effect shows here.
nlohmann::json plan_json(const TrainArgs& a, const TrainPlan& plan, const Network& net, const DataSplit& data,
                         const TrainReport& r) {
  const Preset& p = plan.recipe;
  const Optimizer& o = net.optimizer();
  return {{"dataset", p.dataset},
          {"data", data.train.name()},
          {"targets", target_kind_name(r.targets)},
          {"epochs", p.epochs},
          {"batch_size", r.batch_rows},
          {"valid_fraction", p.valid_fraction},
          {"patience", p.patience},
          {"seed", net.seed()},
          {"dtype", dtype_name(net.dtype())},
          {"gemm_precision", precision_name(net.precision())},  // "precision" is the per-class metric
          {"optimizer_settings",
           {{"kind", optimizer_name(o.kind)}, {"lr", o.lr}, {"weight_decay", o.weight_decay}, {"l1", o.l1},
            {"momentum", o.momentum}, {"nesterov", o.nesterov}}},
          {"checkpoint_seconds", a.checkpoint_seconds},
          {"checkpoints_saved", r.checkpoints_saved},
          {"resumed_from", a.resume.empty() ? nlohmann::json() : nlohmann::json(a.resume)},
          {"resumed_after_epoch", plan.checkpoint.state ? plan.checkpoint.state->epochs_done : 0}};
}

void train(const TrainArgs& a, Output& out, const std::shared_ptr<Communicator>& comm) {
  TrainPlan plan = plan_training(a, comm);
  const Preset& p = plan.recipe;
  NetworkOptions& opts = plan.options;
  const DataSplit data = load_dataset(p.dataset, a.data_dir, opts.seed);
  // The model and its targets must fit the data before anything is written.
  (void)check_targets(plan.spec, data.train);
  std::optional<Network>& net = plan.resumed;
  if (!net) {
    // Batch capacity grows on demand; full batch sizes it from the data. (Capped:
    // a --batch-size beyond the data must be reported by the trainer, not allocated here first.)
    if (!p.batch_size) opts.max_batch = data.train.size();
    check_host_memory(plan.spec, p.optimizer, opts.dtype, std::min(p.batch_size ? p.batch_size : opts.max_batch,
                                                                    data.train.size()), opts.device);
    net.emplace(plan.spec, p.optimizer, opts);
  }
  const std::string dir = a.out.empty() ? "runs/" + p.name : a.out;
  std::filesystem::create_directories(dir);
  TrainConfig config;
  config.epochs = p.epochs;
  config.batch_size = p.batch_size;
  config.valid_fraction = p.valid_fraction;
  config.patience = p.patience;
  config.seed = opts.seed;
  config.checkpoint_extra = recipe_metadata(p);
  config.checkpoint_extra["gemm_precision"] = precision_name(net->precision());
  // The scale in round-trip form (std::to_string would keep 6 decimals: 1/255
  // became 0.003922, and predict then scaled inputs unlike training did).
  config.checkpoint_extra["input_scale"] = nlohmann::json(data.train.scale()).dump();
  config.checkpoint = dir + "/checkpoint.safetensors";
  config.checkpoint_seconds = a.checkpoint_seconds;
  config.on_progress = ProgressPrinter(a.quiet || !is_writer(comm));
  config.should_stop = [] { return g_stop_signal != 0; };
  Trainer trainer(*net, config);
  const int resumed_epochs = plan.checkpoint.state ? plan.checkpoint.state->epochs_done : 0;
  if (plan.checkpoint.state) trainer.resume_from(*plan.checkpoint.state);
  std::ostream& os = out.human();
  if (is_writer(comm)) {
    os << "training " << net->spec().describe() << " with " << net->optimizer().describe() << " on "
       << net->device().name() << ranks_text(comm) << " (" << dtype_name(net->dtype()) << ", seed " << net->seed()
       << ", " << data.train.size() << " samples of " << p.dataset << ", " << p.epochs << " epochs";
    if (!a.resume.empty()) os << ", resuming '" << a.resume << "' after epoch " << resumed_epochs;
    os << ")" << std::endl;
  }
  const TrainReport r = [&] {
    const StopOnSignals stop_on_signals;
    return trainer.fit(data.train, data.test ? &*data.test : nullptr);
  }();
  if (r.interrupted) {
    // Exit here, not through main: the status must say which signal stopped us.
    const int sig = g_stop_signal;
    if (is_writer(comm))
      std::fprintf(stderr, "error: interrupted by %s after epoch %d, batch %lld; checkpoint saved to '%s' (epochs "
                   "done: %d); continue with the same command and --resume %s\n",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", r.interrupted_epoch, static_cast<long long>(r.interrupted_batch),
                   config.checkpoint.c_str(), r.epochs_run, config.checkpoint.c_str());
    std::fflush(stderr);
    std::exit(128 + sig);
  }
  if (!is_writer(comm)) return;  // rank 0 writes the model, the plots and the report

  const std::string model_path = dir + "/model.safetensors";
  save_checkpoint(model_path, *net, nullptr, config.checkpoint_extra);
  plot_loss_history(dir + "/loss.png", r.train_loss, r.valid_loss, r.valid_loss.empty() ? 0 : r.best_epoch,
                    p.name + " loss");
  nlohmann::json j = {{"preset", p.name}, {"model_spec", net->spec().describe()}, {"optimizer", net->optimizer().describe()},
                      {"device", net->device().name()}, {"epochs_run", r.epochs_run}, {"best_epoch", r.best_epoch},
                      {"stopped_early", r.stopped_early}, {"train_loss", r.train_loss}, {"valid_loss", r.valid_loss},
                      {"train_rows", r.train_rows}, {"valid_rows", r.valid_rows}, {"seconds", r.seconds},
                      {"samples_per_second", r.samples_per_second}, {"launches_per_step", net->launches_per_step()},
                      {"model", model_path}, {"plots", {{"loss", dir + "/loss.png"}}},
                      {"world_size", r.world_size}, {"dist_timeout", a.dist_timeout},
                      {"communicator", comm ? nlohmann::json(comm->kind()) : nlohmann::json()}};
  j.update(plan_json(a, plan, *net, data, r));
  j["checkpoint"] = config.checkpoint;
  j["out"] = dir;
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
  cmd->footer(std::string("A preset fixes its model and data set: --activation, --loss and --dataset belong to "
                          "--layers and are refused with --preset; the other options override the preset.\n"
                          "--resume keeps what the checkpoint fixes (model, optimizer and its state, dtype, seed, "
                          "data set, batch size, validation split): those options may be repeated but not changed. "
                          "Only ") + kResumeMayChange + " may change.\n"
              "Every option shows in report.json (and --json): preset, dataset, data, model_spec, targets, "
              "optimizer_settings, epochs, batch_size, valid_fraction, patience, seed, dtype, gemm_precision, device, out, "
              "checkpoint_seconds, checkpoints_saved, resumed_from.");
  cmd->add_option("--preset", a.preset, "One of: " + preset_names());
  cmd->add_option("--layers", a.layers, "Layer sizes, e.g. 784-100-100-10 (with --dataset; not with --preset)");
  cmd->add_option("--activation", a.activation,
                  "Hidden activation for --layers (default relu; refused with --preset and without hidden layers)");
  cmd->add_option("--loss", a.loss,
                  "Loss for --layers: cross-entropy (default; class labels, >= 2 outputs), bce (sigmoid outputs: "
                  "0/1 targets, or one-hot targets with one output per class), mse (one-hot targets on class labels)");
  cmd->add_option("--dataset", a.dataset, "Dataset for --layers: mnist, fashion, cifar10, digits, xor");
  cmd->add_option("--epochs", a.epochs, "Epochs (with --resume: the total to reach)");
  cmd->add_option("--batch-size", a.batch_size, "Mini-batch size");
  cmd->add_option("--lr", a.lr, "Learning rate");
  cmd->add_option("--optimizer", a.optimizer, "sgd, adam, adamw (keeps the recipe's learning rate unless --lr)");
  cmd->add_option("--weight-decay", a.weight_decay, "L2 (sgd/adam) or decoupled (adamw) weight decay");
  cmd->add_option("--l1", a.l1, "L1 penalty");
  cmd->add_option("--momentum", a.momentum, "SGD momentum in [0, 1) (torch.optim.SGD's; sgd only)");
  cmd->add_flag("--nesterov", a.nesterov, "SGD: Nesterov momentum (needs --momentum > 0)");
  cmd->add_option("--dropout", a.dropout, "Dropout after every hidden layer, in [0, 1)");
  cmd->add_option("--patience", a.patience, "Early-stopping patience in epochs (0: off; needs a validation split)");
  cmd->add_option("--valid-fraction", a.valid_fraction, "Fraction held out for validation");
  cmd->add_option("--seed", a.seed, "Seed of init, split, shuffles and dropout (default 777; --resume keeps the run's)");
  cmd->add_option("--device", a.device, device_help())->capture_default_str();
  cmd->add_option("--dtype", a.dtype, "f32 (default) or f64 (cpu only)")->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--precision", a.precision, std::string(precision_help()) + " (--resume keeps the run's unless given)");
  cmd->add_option("--data-dir", a.data_dir, "Folder with the dataset files (refused for xor, which is built in)");
  cmd->add_option("--out", a.out, "Run folder (default runs/<preset>)");
  cmd->add_option("--resume", a.resume, "Continue from a checkpoint.safetensors written by cumlp train");
  cmd->add_option("--checkpoint-seconds", a.checkpoint_seconds,
                  "Save <out>/checkpoint.safetensors after an epoch once this long has passed since the last save "
                  "(0: every epoch); also saved after the last epoch and on SIGINT/SIGTERM")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet", a.quiet, "No progress output");
  add_dist_options(*cmd, a.dist_init, a.dist_timeout);
  cmd->callback([&out] {
    const std::shared_ptr<Communicator> comm =
        join_ranks(a.dist_init, a.dist_timeout, a.device, parse_dtype(a.dtype.value_or("f32")), out);
    run_as_rank(comm, [] { return g_stop_signal != 0; }, [&] { train(a, out, comm); });
  });
}

}  // namespace

CUMLP_CLI_COMMAND(30, add_train);

}  // namespace cumlp::cli
