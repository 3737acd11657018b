// The executor's distributed steps. Op by op (cpu ranks, or recording off):
// forward, loss and backward on this rank's rows, GradientSum::reduce, the
// update. Recorded (a backend that records, with a gradient sum that can be
// stream-ordered: GradientSum::can_enqueue):
//
// One step, in issue order on the backend's stream, the sums on its side stream:
//   forward and the loss on this rank's rows (the loss, this rank's mean, goes
//     to loss_, the element after the gradients);
//   backward, layer by layer from the output; after layer i's dW/db are
//     written, fork_side() and that layer's piece of the flat gradient buffer
//     is summed on the side stream (the output layer's piece takes the loss
//     along), while layer i-1's backward runs on the backend's stream;
//     the fused narrow step writes every gradient in one op: one sum after it;
//   join_side(); the summed loss (the global batch's) into the StepRecord;
//   the single optimizer launch.
// On cuda the sums are ncclAllReduce calls captured into the step's graph; on
// sim, host calls that sum over MPI with the op-by-op path's arithmetic (the
// simulator runs each stream's work as it is issued, so the overlap there is
// the graph's shape, not time). A rank without rows of a global batch issues
// no forward or backward and adds zeros.
//
// The recording is kept by global batch size, which is the same on every rank
// (NCCL requires every rank to capture the same collectives): the first step
// of a size is issued eagerly (warm-up), the second recorded, later ones
// replay. A rank's rows and first row (its dropout key, frozen in the
// recording) follow from the global size, the rank and the world size.
// After each step the host waits for it against --dist-timeout
// (GradientSum::wait_issued), so a dead or hung rank is named, not waited for.
#include "host/executor/executor.h"

#include <utility>

#include "host/shared/error_macros.h"

namespace cumlp {

// Op by op: the gradient sum over the ranks (weighted by rows, fixed order)
// waits on the host between backward and the update.
void Executor::queue_shard_step(int64_t rows, int64_t global_rows, int64_t first_row) {
  CUMLP_CHECK(gradient_sum_, "internal: a shard step without a communicator");
  if (record_) return queue_recorded_shard_step(rows, global_rows, first_row);
  double local = 0;
  const int64_t launches_before = backend_->launches();
  if (rows > 0) {
    row0_ = first_row;  // only training steps read it (evaluation has no dropout)
    issue_loss(rows, /*train=*/true, /*with_backward=*/true, /*record=*/nullptr);
    local = read_loss_unchecked();
  }
  const double loss = gradient_sum_->reduce(grads_, local, rows, global_rows);
  issue_update(steps_ + 1);
  launches_last_step_ = backend_->launches() - launches_before + std::exchange(gather_launches_, 0);
  ++steps_;
  // The loss in the network's dtype, as one process's and a recorded step's (summed in place) are.
  count_loss(dtype_ == DType::F32 ? static_cast<double>(static_cast<float>(loss)) : loss);
}

void Executor::issue_dist_step(int64_t rows, int64_t global_rows) {
  const int64_t count = plan_.param_count + 1;  // the gradients, then the loss
  // Every rank issues the same sums in the same order (the collectives must
  // match), a rank without rows included: one per layer, or one for the narrow step.
  const bool narrow = takes_narrow_step(/*train=*/true, /*with_backward=*/true);
  // Layer i's parameters are [w_offset, the next layer's w_offset) of the flat
  // buffer (Plan: each layer's weights, then its bias); the output layer's
  // piece runs on to the loss element.
  const auto sum_layer = [&](std::size_t i) {
    const int64_t begin = plan_.layers[i].w_offset;
    const int64_t end = i + 1 < plan_.layers.size() ? plan_.layers[i + 1].w_offset : count;
    backend_->fork_side();
    gradient_sum_->enqueue(at(grads_, begin), end - begin, rows, global_rows);
  };
  if (narrow) {  // every gradient in one op, then one sum
    if (rows > 0) issue_loss(rows, /*train=*/true, /*with_backward=*/true, /*record=*/nullptr);
    backend_->fork_side();
    gradient_sum_->enqueue(grads_, count, rows, global_rows);
  } else if (rows == 0) {
    for (std::size_t i = plan_.layers.size(); i-- > 0;) sum_layer(i);
  } else {
    layer_grads_done_ = sum_layer;
    try {
      issue_loss(rows, /*train=*/true, /*with_backward=*/true, /*record=*/nullptr);
    } catch (...) {
      layer_grads_done_ = nullptr;
      throw;
    }
    layer_grads_done_ = nullptr;
  }
  backend_->join_side();
  backend_->record_loss(dtype_, loss_, record_);
  issue_update(steps_ + 1);
}

void Executor::queue_recorded_shard_step(int64_t rows, int64_t global_rows, int64_t first_row) {
  CUMLP_CHECK(global_rows >= 1 && rows >= 0 && rows <= global_rows && rows <= capacity_, "shard of ", rows, " of ",
              global_rows, " rows does not fit the loaded batch");
  sync_settings();
  if (rows > 0) row0_ = first_row;  // only training steps read it (evaluation has no dropout)
  bool made = true;
  Recording* r = &recording_for(global_rows, &made);
  if (!made && (r->shard_rows != rows || r->first_row != first_row)) {  // another split of this size: start again
    if (r->recorded) backend_->drop_recording(global_rows);
    *r = Recording{0, 0, r->last_use, rows, first_row};
    made = true;
  }
  r->shard_rows = rows, r->first_row = first_row;
  if (!made) {
    if (!r->recorded) record_step(global_rows, *r, [&] { issue_dist_step(rows, global_rows); });
    backend_->replay(global_rows);
    launches_last_step_ = r->launches;
  } else {
    const int64_t launches_before = backend_->launches();
    issue_dist_step(rows, global_rows);
    launches_last_step_ = backend_->launches() - launches_before;
  }
  launches_last_step_ += std::exchange(gather_launches_, 0);
  ++steps_;
  gradient_sum_->wait_issued();
}

}  // namespace cumlp
