// The executor's recordings and its step record (host/executor/executor.h):
// a recording per batch size (made on the second step of a size, replayed
// after, the least recently used dropped past kMaxRecordings); the optimizer
// settings and Adam's scalars in the StepRecord the recorded update reads, so
// a changed learning rate is an upload before the next step; the training
// losses, summed on the device by recorded steps and on the host otherwise.
#include "host/executor/executor.h"

#include <cmath>
#include <functional>
#include <utility>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
// Whether optimizer a's settings are b's (StepRecord::optim holds b's).
bool same_settings(const Optimizer& a, const Optimizer& b) {
  return a.kind == b.kind && a.lr == b.lr && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps &&
         a.weight_decay == b.weight_decay && a.l1 == b.l1 &&
         a.momentum == b.momentum && a.nesterov == b.nesterov;
}
}  // namespace

void Executor::set_steps(int64_t s) {
  steps_ = s;
  if (!record_) return;
  record_host_.updates = s;
  backend_->upload(&record_->updates, &record_host_.updates, sizeof record_host_.updates);
  upload_settings();  // Adam's scalars are those of update s + 1 now
}

// The optimizer settings, and Adam's scalars of the next update, into the
// record a recorded update reads them from (stream-ordered; never called
// while recording: only from outside queue_step's recording and update()).
void Executor::upload_settings() {
  CUMLP_CHECK(opt_.kind == uploaded_opt_.kind && (opt_.momentum != 0) == (uploaded_opt_.momentum != 0),
              "the optimizer's kind and whether SGD has momentum are fixed when the network is made (they size "
              "its state buffers)");
  record_host_.optim = OptimSettings::from(opt_, steps_ + 1);
  backend_->upload(&record_->optim, &record_host_.optim, sizeof record_host_.optim);
  uploaded_opt_ = opt_;
}

void Executor::sync_settings() {
  if (record_ && !same_settings(opt_, uploaded_opt_)) upload_settings();
}

void Executor::drop_recordings() noexcept {
  backend_->drop_recordings();
  recordings_.clear();
}

// Records what `issue` issues under `key`; replays reuse it.
void Executor::record_step(int64_t key, Recording& r, const std::function<void()>& issue) {
  const int64_t launches_before = backend_->launches();
  backend_->begin_recording(key);
  try {
    issue();
    backend_->end_recording();
  } catch (...) {
    backend_->drop_recording(key);
    recordings_.erase(key);
    throw;
  }
  r.recorded = true;
  r.launches = backend_->launches() - launches_before;
}

// The cache entry for batches of `rows`, made (warmed up, not recorded) if
// there is none; at kMaxRecordings entries the least recently used goes.
Executor::Recording& Executor::recording_for(int64_t rows, bool* made) {
  auto it = recordings_.find(rows);
  *made = it == recordings_.end();
  if (*made) {
    if (recordings_.size() >= kMaxRecordings) {
      auto oldest = recordings_.begin();
      for (auto i = recordings_.begin(); i != recordings_.end(); ++i)
        if (i->second.last_use < oldest->second.last_use) oldest = i;
      if (oldest->second.recorded) backend_->drop_recording(oldest->first);
      recordings_.erase(oldest);
    }
    it = recordings_.emplace(rows, Recording{}).first;
  }
  it->second.last_use = ++use_clock_;
  return it->second;
}

// On a recording backend the first step of a batch size runs op by op (ops
// that validate or tune on first use may wait for the device then), the
// second is recorded, and every later one replays it. The optimizer settings
// are read from the record when the update runs, so a changed learning rate
// is an upload before the step, and the recordings stay.
void Executor::queue_step(int64_t rows) {
  if (gradient_sum_) return queue_shard_step(rows, rows);
  bool made = true;
  Recording* r = nullptr;
  if (record_) {
    sync_settings();
    r = &recording_for(rows, &made);
  }
  if (!made) {
    if (!r->recorded) record_step(rows, *r, [&] { issue_step(rows); });
    backend_->replay(rows);
    launches_last_step_ = r->launches;
  } else {
    const int64_t launches_before = backend_->launches();
    issue_step(rows);
    launches_last_step_ = backend_->launches() - launches_before;
  }
  launches_last_step_ += std::exchange(gather_launches_, 0);
  ++steps_;
  if (record_) return;  // the loss stays on the device, in the record
  count_loss(read_loss_unchecked());
}

// Adds a step's loss to the host totals (backends that do not record); throws if it is not finite.
void Executor::count_loss(double loss) {
  last_loss_ = loss;
  host_totals_.sum += loss;
  ++host_totals_.steps;
  if (!std::isfinite(loss) && host_totals_.first_nonfinite == 0) host_totals_.first_nonfinite = steps_;
  check_finite_loss(loss, steps_);
}

double Executor::train_step(int64_t rows) {
  queue_step(rows);
  return train_step_loss();
}

double Executor::train_step_loss() {
  if (!record_) return last_loss_;  // read (and checked) by queue_step already
  const double loss = read_loss_unchecked();
  check_finite_loss(loss, steps_);
  return loss;
}

TrainLosses Executor::peek_losses() {
  if (!record_) return host_totals_;
  backend_->download(&record_host_, record_, sizeof record_host_);
  CUMLP_CHECK(record_host_.updates == steps_, "internal: device update count ", record_host_.updates,
              " differs from the host's ", steps_);
  return {record_host_.loss_sum, record_host_.losses,
          record_host_.first_nonfinite < 0 ? 0 : record_host_.first_nonfinite + 1};
}

TrainLosses Executor::take_losses() {
  if (!record_) return std::exchange(host_totals_, TrainLosses{});
  const TrainLosses t = peek_losses();
  record_host_.losses = 0;
  record_host_.first_nonfinite = -1;
  record_host_.loss_sum = 0;
  static_assert(offsetof(StepRecord, losses) + 2 * sizeof(int64_t) == offsetof(StepRecord, loss_sum));
  backend_->upload(&record_->losses, &record_host_.losses,
                   offsetof(StepRecord, blocks_done) - offsetof(StepRecord, losses));
  return t;
}

}  // namespace cumlp
