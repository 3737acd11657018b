// What a communicator offers when it can sum buffers in device memory (nccl),
// beside the host-memory Communicator::sum every kind has. GradientSum asks
// for it (dynamic_cast) and then leaves the gradients on the GPU instead of
// staging them through host memory.
#pragma once

#include <cstdint>

#include "cumlp/tensor.h"
#include "host/shared/error_macros.h"

namespace cumlp {

class DeviceSum {
 public:
  virtual ~DeviceSum() = default;
  /// data [count] (device memory of this rank's GPU, `dtype`) := the sum over
  /// the ranks of scale_r * data_r, in place, where scale_r is each rank's own
  /// `scale` (a rank's rows / global rows: the mean over the global batch).
  /// The caller has finished writing data (its stream synchronized); returns
  /// when the sum is complete, or throws RankError after timeout_seconds().
  virtual void sum_on_device(void* data, int64_t count, DType dtype, double scale) = 0;

  /// Whether enqueue_sum / wait_stream are offered.
  virtual bool can_enqueue() const { return false; }
  /// The stream-ordered form of sum_on_device: enqueues the same sum on
  /// `stream` (a cudaStream_t of this rank's GPU) after the work already
  /// there, and returns without waiting for it. It may be captured into a
  /// CUDA graph (NCCL >= 2.9 captures its collectives; every rank must capture
  /// the same calls) and then runs at each replay. Throws RankError when the
  /// call cannot be issued.
  virtual void enqueue_sum(void* /*data*/, int64_t /*count*/, DType /*dtype*/, double /*scale*/, void* /*stream*/) {
    CUMLP_THROW("internal: this communicator has no stream-ordered device sum");
  }
  /// Waits until `stream` (a cudaStream_t) has done its work, which holds
  /// enqueued sums, polling at most timeout_seconds(); past it throws
  /// RankError (a rank died or hangs). `what` names the wait in the message.
  virtual void wait_stream(void* /*stream*/, const char* /*what*/) {
    CUMLP_THROW("internal: this communicator has no stream-ordered device sum");
  }
};

}  // namespace cumlp
