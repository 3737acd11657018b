// Training loop, metrics and checkpoints.
//
//   cumlp::Trainer trainer(net, {.epochs = 3, .batch_size = 100});
//   cumlp::TrainReport r = trainer.fit(train_set, &test_set);
//
// An epoch shuffles the training rows (a pure function of (seed, epoch)),
// runs one optimizer step per mini-batch (the last batch may be smaller),
// then evaluates the validation rows. As in the course notes, an epoch's
// train/valid loss is the mean of its batch losses. With patience > 0
// training stops once the validation loss has not improved (<= counts as an
// improvement) for `patience` epochs; the best epoch's weights are restored.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cumlp/data.h"
#include "cumlp/export.h"
#include "cumlp/network.h"

namespace cumlp {

/// Classification metrics over a dataset.
struct Metrics {
  double loss = 0;       // mean of batch losses (evaluation mode)
  double accuracy = 0;   // fraction of rows whose predicted class equals the label
  int classes = 0;       // k
  std::vector<int64_t> confusion;  // [k, k] row-major: rows = true class, cols = predicted
  std::vector<double> precision, recall, f1;  // per class; 0 where undefined (no predictions / no samples)
};

/// Progress of a running fit, passed to TrainConfig::on_progress after every batch.
struct Progress {
  int epoch = 0, epochs = 0;        // 1-based epoch, total planned
  int64_t batch = 0, batches = 0;   // 1-based batch within the epoch
  double loss = 0;                  // running mean of this epoch's batch losses
  double samples_per_second = 0;    // over this epoch so far
  double eta_seconds = 0;           // estimate for the remaining planned epochs
  bool epoch_done = false;          // true once per epoch, after validation
  bool validated = false;           // epoch_done and a validation split was evaluated
  double valid_loss = 0;            // when validated
};

/// How a loss reads a dataset's labels (see check_targets).
enum class TargetKind {
  ClassIndex,  ///< cross-entropy: the label is the index of the right output
  OneHot,      ///< bce/mse on class labels: one 0/1 target per output, 1 at the label
  Given,       ///< the dataset's own float targets (Dataset::set_targets), e.g. XOR's one 0/1 column
};

/// "class-index", "one-hot", "given".
CUMLP_API const char* target_kind_name(TargetKind k);

/// Checks, before any training or evaluation, that `data` fits a model `spec`
/// and its loss, and says how the labels become targets:
///   cross-entropy: at least 2 outputs, every label below the output count (ClassIndex);
///   bce, mse, mse-sum, half-sse on a dataset with its own targets: as wide as
///     the output, and for bce every value in [0, 1] (Given);
///   the same losses on class labels only: one-hot targets, so the model needs
///     exactly one output per class (OneHot). For bce this is multi-label
///     training: each output learns "is it this class" independently, and the
///     predicted class is the most probable output.
/// bce also needs probabilities: the last layer must end in sigmoid or softmax.
/// Throws Error naming the dataset and what does not fit (features, classes,
/// outputs, a target outside [0, 1]).
CUMLP_API TargetKind check_targets(const ModelSpec& spec, const Dataset& data);

struct TrainConfig {
  int epochs = 10;              // >= 1
  int64_t batch_size = 100;     // >= 1; 0 = the whole training split per step (full batch)
  double valid_fraction = 0.2;  // in [0, 1): rows held out for validation by a seeded permutation
  int patience = 0;             // 0 = no early stopping
  uint64_t seed = 777;          // split and shuffles (the network's own seed drives init and dropout)
  bool shuffle = true;
  std::string checkpoint;       // if set: the state is saved there (atomically) after an epoch ...
  double checkpoint_seconds = 30;  // ... once this long has passed since the last save, and after the last epoch
  /// Saved with every checkpoint as save_checkpoint's `extra` (e.g. the dataset
  /// and recipe a resumed run must keep).
  std::map<std::string, std::string> checkpoint_extra;
  std::function<void(const Progress&)> on_progress;
  /// Asked after every batch, and after the epoch's final on_progress call
  /// (so a stopping rule that reads the epoch's figures stops on the epoch
  /// boundary); returning true stops training after that batch
  /// (e.g. a flag set by a SIGINT handler). The trainer then saves the
  /// checkpoint (if set) and returns with TrainReport::interrupted. A stop
  /// inside an epoch keeps the weights trained so far but records that epoch
  /// as not done, so resuming re-runs it from its start: resuming is
  /// bitwise-identical to an uninterrupted run only at epoch boundaries.
  std::function<bool()> should_stop;
  /// Throws Error naming the field: epochs < 1, batch_size < 0, valid_fraction outside [0, 1), patience < 0,
  /// or patience > 0 without a validation split (valid_fraction 0: early stopping would never look).
  void validate() const;
};

struct TrainReport {
  std::vector<double> train_loss, valid_loss;  // per epoch run
  int epochs_run = 0;
  int best_epoch = 0;         // 1-based epoch whose weights the network now holds
  bool stopped_early = false;
  bool interrupted = false;   // should_stop returned true; the network holds the current (not the best) weights
  int interrupted_epoch = 0;  // 1-based epoch and batch after which training stopped, when interrupted
  int64_t interrupted_batch = 0;
  double seconds = 0;          // wall time of the epochs (training and validation)
  double samples_per_second = 0;  // training samples per second of training time
  int64_t train_rows = 0, valid_rows = 0;
  int64_t batch_rows = 0;      // rows per optimizer step (the whole training split for full batch)
  int checkpoints_saved = 0;   // checkpoint files written by this fit
  TargetKind targets = TargetKind::ClassIndex;  // how the loss read the labels (check_targets)
  int world_size = 1;          // ranks that trained together (the network's communicator), 1 alone
  std::optional<Metrics> test; // when a test set was given: metrics of the restored model
};

/// Saved training state: everything that resuming needs besides the network.
struct TrainState {
  int epochs_done = 0;
  std::vector<double> train_loss, valid_loss;
  int best_epoch = 0;
  double best_valid = 0;
  std::vector<double> best_parameters;  // flat; empty when no validation split
};

class CUMLP_API Trainer {
 public:
  /// Throws Error if the config is invalid.
  Trainer(Network& net, TrainConfig config);
  /// Continues from a saved state (see load_checkpoint): epochs already done
  /// are skipped, history and the best weights carry on.
  void resume_from(const TrainState& state);
  /// Trains on `train` (split into train/valid per the config) and, if given,
  /// evaluates `test` with the final (restored) weights. Throws Error if the
  /// dataset does not match the model (features, classes/targets), is too
  /// small for the split, or a loss or, at the end of an epoch, a parameter
  /// becomes non-finite (naming the epoch and batch). A checkpoint is never
  /// written with non-finite parameters: the previous one stays.
  /// With a communicator (NetworkOptions::communicator) every rank calls fit
  /// with the same data and config: each batch of the seeded permutation is
  /// the global batch, split across the ranks; every rank validates and
  /// tests on all rows (the same parameters give the same figures); only rank
  /// 0 writes the checkpoint. Throws Error naming a rank whose settings,
  /// data size or parameters differ from rank 0's.
  TrainReport fit(const Dataset& train, const Dataset* test = nullptr);

 private:
  Network& net_;
  TrainConfig config_;
  TrainState state_;
};

/// Loss, accuracy, confusion matrix and per-class precision/recall/F1 of a
/// network on a dataset, in evaluation mode, in batches of batch_size rows.
CUMLP_API Metrics evaluate(Network& net, const Dataset& data, int64_t batch_size = 1000);

/// Writes a .safetensors checkpoint atomically: tensors layers.<i>.weight
/// [out, in] and layers.<i>.bias [out] (PyTorch names, i counting Linear
/// layers), the optimizer moments and, with a state, the best weights; the
/// metadata holds the model spec, optimizer, step count, training state and
/// `extra` (free-form, e.g. the dataset preset). Throws Error on I/O failure
/// (the previous file is kept).
CUMLP_API void save_checkpoint(const std::string& path, const Network& net, const TrainState* state = nullptr,
                               const std::map<std::string, std::string>& extra = {});

struct Checkpoint {
  ModelSpec spec;
  Optimizer optimizer;
  /// The element type of the stored tensors: pick the device with it
  /// (Device::parse(text, dtype)), so `auto` never lands on a device that
  /// cannot hold the file (an f64 model on an f32-only GPU).
  DType dtype = DType::F32;
  std::map<std::string, std::string> extra;
  std::optional<TrainState> state;
};

/// Reads a checkpoint's description (no tensors loaded into a network).
/// Throws Error naming the file on a malformed or foreign file.
CUMLP_API Checkpoint read_checkpoint(const std::string& path);
/// Builds a Network from a checkpoint (spec, optimizer, parameters, moments,
/// step count, dtype, seed) on options.device with options.max_batch: the
/// checkpoint fixes the dtype and the seed, so options.dtype and options.seed
/// are not used (compare them with the returned network's to refuse a
/// conflicting request). Throws Error naming the file and tensor on
/// a missing tensor or one whose dtype/shape does not match the spec.
CUMLP_API Network load_network(const std::string& path, const NetworkOptions& options, Checkpoint* info = nullptr);

}  // namespace cumlp
