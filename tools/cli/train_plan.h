// What `cumlp train` will train, decided from its flags before anything runs:
// a preset or a --layers model with the overrides applied, or, with --resume,
// the checkpoint's recipe with the few flags a resumed run may change. Every
// flag either lands in the plan (and so in the report) or is refused here with
// one Error naming it: nothing is silently ignored.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cumlp/dist.h"
#include "cumlp/train.h"
#include "presets.h"

namespace cumlp::cli {

/// The flags of `cumlp train`, as given (std::nullopt / empty: not given).
struct TrainArgs {
  std::string preset, layers, dataset, data_dir, out, device = "auto", resume;
  std::optional<std::string> activation, loss, optimizer, dtype, precision;
  std::optional<int> epochs, patience;
  std::optional<int64_t> batch_size;
  std::optional<double> lr, weight_decay, l1, dropout, valid_fraction, momentum;
  bool nesterov = false;
  std::optional<uint64_t> seed;  // default 777, or the checkpoint's seed with --resume
  double checkpoint_seconds = 30;
  bool quiet = false;
  std::string dist_init = "env";  // data parallelism under mpirun/srun (train_dist.h)
  double dist_timeout = 60;
};

/// The flags a resumed run may change, for --help and the conflict messages.
inline constexpr const char* kResumeMayChange =
    "--epochs, --lr, --patience, --device, --precision, --out, --data-dir, --checkpoint-seconds, --quiet";

/// A decided training run.
struct TrainPlan {
  Preset recipe;  // name, dataset, epochs, batch size, split, patience (and, fresh, the optimizer)
  ModelSpec spec;
  NetworkOptions options;
  std::optional<Network> resumed;  // with --resume: the checkpoint's network
  Checkpoint checkpoint;           // with --resume: what it recorded
};

/// Decides the run from the flags (loading the --resume checkpoint); with a
/// communicator (under mpirun/srun) the network trains as one rank of it, on
/// the rank's device. Throws Error naming the flag that cannot take effect and why.
TrainPlan plan_training(const TrainArgs& a, const std::shared_ptr<Communicator>& comm = nullptr);

/// The recipe as checkpoint metadata (preset, dataset, epochs, batch_size,
/// valid_fraction, patience), so that --resume can keep it. (cmd_train adds
/// the run's precision, which --resume keeps unless --precision is given.)
std::map<std::string, std::string> recipe_metadata(const Preset& p);

}  // namespace cumlp::cli
