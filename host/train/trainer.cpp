#include <chrono>
#include <cmath>
#include <filesystem>

#include "cumlp/train.h"
#include "host/shared/error_macros.h"
#include "host/train/batch.h"
#include "host/dist/data_parallel.h"

namespace cumlp {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Where a failed run leaves the user: the previous checkpoint, untouched.
std::string kept_checkpoint(const std::string& path) {
  if (path.empty() || !std::filesystem::exists(path)) return "";
  return "; the last good checkpoint '" + path + "' is kept";
}

// NaN/Inf weights must never reach a checkpoint (resuming from one could only
// diverge again), so they are checked before every save and at every epoch end.
void check_finite_parameters(const Network& net, int epoch, int64_t batch, const std::string& checkpoint) {
  const std::vector<double> p = net.parameters().to_vector();
  for (std::size_t i = 0; i < p.size(); ++i)
    CUMLP_CHECK(std::isfinite(p[i]), "epoch ", epoch, ", batch ", batch, ": parameter ", i, " is not finite (", p[i],
                "); lower the learning rate", kept_checkpoint(checkpoint));
}
// The mean batch loss over the validation rows in batches of the training
// batch size, gathered on the device from the uploaded training set (the same
// figure evaluate() gives on a copy of those rows, without staging them through the host).
double validation_loss(Network& net, const std::vector<int64_t>& rows, int64_t batch) {
  const Batches batches(rows, batch);
  double sum = 0;
  for (auto b : batches) sum += net.evaluate_rows(b);
  return sum / static_cast<double>(batches.size());
}
}  // namespace

void TrainConfig::validate() const {
  CUMLP_CHECK(epochs >= 1, "epochs must be >= 1, got ", epochs);
  CUMLP_CHECK(batch_size >= 0, "batch size must be >= 1 (or 0 for full batch), got ", batch_size);
  CUMLP_CHECK(valid_fraction >= 0 && valid_fraction < 1, "validation fraction must be in [0, 1), got ",
              valid_fraction);
  CUMLP_CHECK(patience >= 0, "patience must be >= 0, got ", patience);
  CUMLP_CHECK(patience == 0 || valid_fraction > 0, "patience ", patience,
              " needs a validation split (valid_fraction > 0): early stopping watches the validation loss");
}

Trainer::Trainer(Network& net, TrainConfig config) : net_(net), config_(std::move(config)) { config_.validate(); }

void Trainer::resume_from(const TrainState& state) {
  CUMLP_CHECK(state.epochs_done >= 0 && state.train_loss.size() == static_cast<std::size_t>(state.epochs_done),
              "resume state is inconsistent: ", state.epochs_done, " epochs done but ", state.train_loss.size(),
              " losses recorded");
  CUMLP_CHECK(state.best_parameters.empty() ||
                  static_cast<int64_t>(state.best_parameters.size()) == net_.parameter_count(),
              "resume state holds ", state.best_parameters.size(), " best parameters, the model has ",
              net_.parameter_count());
  state_ = state;
}

TrainReport Trainer::fit(const Dataset& data, const Dataset* test) {
  const TargetKind targets = check_targets(net_.spec(), data);
  if (test) (void)check_targets(net_.spec(), *test);
  Split split;
  if (config_.valid_fraction > 0) {
    split = split_indices(data.size(), config_.valid_fraction, config_.seed);
  } else {
    for (int64_t i = 0; i < data.size(); ++i) split.train.push_back(i);
  }
  const std::vector<int64_t>& train_rows = split.train;
  CUMLP_CHECK(!train_rows.empty(), "no training rows left after the validation split of ", data.size(), " rows");
  const bool validate = !split.valid.empty();
  const int64_t batch = config_.batch_size ? config_.batch_size : static_cast<int64_t>(train_rows.size());
  CUMLP_CHECK(batch <= static_cast<int64_t>(train_rows.size()), "batch size ", batch, " is larger than the ",
              train_rows.size(), " training rows");

  // Data parallelism: every rank runs this loop on the same permutation; the
  // network computes the rank's shard of each batch, rank 0 alone writes.
  Communicator* comm = net_.communicator().get();
  if (comm)
    check_same_training_on_every_rank(net_, std::to_string(config_.seed) + "|" + std::to_string(batch) + "|" +
                                                std::to_string(config_.epochs) + "|" + std::to_string(data.size()) +
                                                "|" + std::to_string(config_.valid_fraction) + "|" +
                                                std::to_string(config_.shuffle) + "|" + std::to_string(state_.epochs_done) +
                                                "|" + std::to_string(static_cast<bool>(config_.on_progress)));
  const bool writer = !comm || comm->rank() == 0;
  // A stop asked on any rank stops all of them after the same batch.
  const auto stop_asked = [&] {
    const bool here = config_.should_stop && config_.should_stop();
    if (!comm) return here;
    double flag = here ? 1 : 0;
    comm->sum(std::span<double>(&flag, 1));
    return flag > 0;
  };
  net_.upload_dataset(data);  // batches are gathered on the device from here
  TrainReport report;
  report.world_size = comm ? comm->size() : 1;
  report.train_rows = static_cast<int64_t>(train_rows.size());
  report.valid_rows = static_cast<int64_t>(split.valid.size());
  report.batch_rows = batch;
  report.targets = targets;
  const auto save = [&] {  // rank 0 alone writes
    if (!writer) return;
    save_checkpoint(config_.checkpoint, net_, &state_, config_.checkpoint_extra);
    ++report.checkpoints_saved;
  };
  const auto t0 = Clock::now();
  auto last_save = t0;
  double train_seconds = 0;
  int64_t samples = 0;
  for (int epoch = state_.epochs_done + 1; epoch <= config_.epochs; ++epoch) {
    // ---- train: one optimizer step per shuffled mini-batch
    bool interrupt = false;
    const Batches batches(config_.shuffle ? shuffled(train_rows, config_.seed, static_cast<uint64_t>(epoch))
                                          : train_rows,
                          batch);
    const auto te = Clock::now();
    // Steps are queued: the device sums their losses, and the host asks for
    // the sum at the epoch's end (and, for a progress display, now and then).
    (void)net_.take_losses();  // totals of steps run before this epoch
    const int64_t steps_before = net_.step_count();
    // Mid-epoch reads for the progress display peek; the epoch's total is
    // taken once at its end, one sum in step order whatever the peek times.
    double loss_sum = 0;
    int64_t losses = 0;
    auto last_take = te;
    const auto read_losses = [&](bool take) {
      const TrainLosses l = take ? net_.take_losses() : net_.peek_losses();
      loss_sum = l.sum;
      losses = l.steps;
      last_take = Clock::now();
      CUMLP_CHECK(l.first_nonfinite == 0, "epoch ", epoch, ", batch ", l.first_nonfinite - steps_before,
                  ": loss is not finite at step ", l.first_nonfinite, "; lower the learning rate or check the inputs",
                  kept_checkpoint(config_.checkpoint));
    };
    Progress p{epoch, config_.epochs, 0, batches.size()};
    for (auto rows : batches) {
      try {
        net_.queue_train_step(rows);
      } catch (const RankError&) {
        throw;  // names the rank that failed; the caller reports it as it is
      } catch (const Error& e) {
        CUMLP_THROW("epoch ", epoch, ", batch ", p.batch + 1, ": ", e.message(), kept_checkpoint(config_.checkpoint));
      }
      samples += static_cast<int64_t>(rows.size());
      ++p.batch;
      if (config_.on_progress) {
        if (losses == 0 || p.batch == p.batches || seconds_since(last_take) >= 0.1) read_losses(false);
        const double s = seconds_since(te);
        p.loss = loss_sum / static_cast<double>(losses);
        p.samples_per_second = s > 0 ? static_cast<double>(p.batch * batch) / s : 0;
        const double per_epoch = s / static_cast<double>(p.batch) * static_cast<double>(p.batches);
        p.eta_seconds = per_epoch * (config_.epochs - epoch + 1) - s;
        config_.on_progress(p);
      }
      if (stop_asked()) {
        interrupt = true;
        break;
      }
    }
    if (!interrupt || p.batch == batches.size()) read_losses(true);  // one wait per epoch
    train_seconds += seconds_since(te);
    if (interrupt && p.batch < batches.size()) {
      // Mid-epoch: keep the weights trained so far, but the epoch is not done
      // (state_.epochs_done still says epoch - 1), so a resume re-runs it.
      if (!config_.checkpoint.empty()) {
        check_finite_parameters(net_, epoch, p.batch, config_.checkpoint);
        save();
      }
      report.interrupted = true;
      report.interrupted_epoch = epoch;
      report.interrupted_batch = p.batch;
      break;
    }
    check_finite_parameters(net_, epoch, p.batch, config_.checkpoint);
    CUMLP_CHECK(losses == static_cast<int64_t>(batches.size()), "internal: ", losses, " losses for ", batches.size(),
                " batches");
    state_.train_loss.push_back(loss_sum / static_cast<double>(losses));
    state_.epochs_done = epoch;

    // ---- validate, keep the best weights, stop early
    bool stop = false;
    if (validate) {
      double v = 0;
      try {
        v = validation_loss(net_, split.valid, batch);
      } catch (const Error& e) {
        CUMLP_THROW("epoch ", epoch, ", validation: ", e.message(), kept_checkpoint(config_.checkpoint));
      }
      state_.valid_loss.push_back(v);
      if (state_.best_epoch == 0 || v <= state_.best_valid) {
        state_.best_valid = v;
        state_.best_epoch = epoch;
        state_.best_parameters = net_.parameters().to_vector();
      } else {
        stop = config_.patience > 0 && epoch - state_.best_epoch >= config_.patience;
      }
    } else {
      state_.best_epoch = epoch;
    }
    if (config_.on_progress) {
      p.epoch_done = true;
      p.validated = validate;
      p.valid_loss = validate ? state_.valid_loss.back() : 0;
      config_.on_progress(p);
      // A stop asked for by the epoch's report (a caller's own stopping rule)
      // lands on the boundary too (a collective: every rank has a progress
      // callback or none, checked at the start).
      if (!interrupt && stop_asked()) interrupt = true;
    }
    // A stop requested during the epoch's last batch lands on the boundary:
    // the epoch counts, and a resume continues exactly as if uninterrupted.
    const bool last = stop || interrupt || epoch == config_.epochs;
    if (!config_.checkpoint.empty() && (last || seconds_since(last_save) >= config_.checkpoint_seconds)) {
      save();
      last_save = Clock::now();
    }
    if (interrupt) {
      report.interrupted = true;
      report.interrupted_epoch = epoch;
      report.interrupted_batch = p.batch;
      break;
    }
    if (stop) {
      report.stopped_early = true;
      break;
    }
  }
  // An interrupted run keeps its current weights: they are what the checkpoint holds.
  if (validate && !state_.best_parameters.empty() && !report.interrupted)
    net_.set_parameters(Tensor::from({net_.parameter_count()}, state_.best_parameters, net_.dtype()));

  report.train_loss = state_.train_loss;
  report.valid_loss = state_.valid_loss;
  report.epochs_run = state_.epochs_done;
  report.best_epoch = state_.best_epoch;
  report.seconds = seconds_since(t0);
  report.samples_per_second = train_seconds > 0 ? static_cast<double>(samples) / train_seconds : 0;
  if (test) report.test = evaluate(net_, *test, std::max<int64_t>(batch, 1000));
  return report;
}

}  // namespace cumlp
