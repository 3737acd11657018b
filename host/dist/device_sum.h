// What a communicator offers when it can sum buffers in device memory (nccl),
// beside the host-memory Communicator::sum every kind has. GradientSum asks
// for it (dynamic_cast) and then leaves the gradients on the GPU instead of
// staging them through host memory.
#pragma once

#include <cstdint>

#include "cumlp/tensor.h"

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
};

}  // namespace cumlp
