// The data-parallel hook of the executor: the all-reduce of the flat gradient
// buffer (and the step's loss) between backward and the single optimizer
// launch. Over mpi (cpu and sim ranks) the buffer is staged through host
// memory: each rank's mean gradient over its rows is weighted by those rows,
// the ranks' parts are summed in rank order, then scaled by 1/global rows,
// which gives the mean gradient over the global batch on every rank. Over
// nccl (cuda ranks, a communicator that is also a DeviceSum) the buffer stays
// on the GPU: each rank's part is scaled by rows/global rows inside NCCL's
// all-reduce (so f32 results differ from the mpi path's in the last bits).
#pragma once

#include <cstdint>
#include <vector>

#include "cumlp/dist.h"
#include "cumlp/tensor.h"
#include "host/dist/device_sum.h"
#include "host/shared/backend.h"

namespace cumlp {

class GradientSum {
 public:
  GradientSum(Communicator& comm, Backend& backend, DType dtype, int64_t count);
  /// grads (backend memory, `count` elements) := sum over ranks of
  /// rows_r * grads_r, divided by global_rows; returns the loss reduced the
  /// same way. A rank with local_rows == 0 contributes zeros (its grads are
  /// not read).
  double reduce(void* grads, double local_loss, int64_t local_rows, int64_t global_rows);

 private:
  double reduce_on_device(void* grads, double local_loss, int64_t local_rows, int64_t global_rows);

  Communicator& comm_;
  Backend& backend_;
  DeviceSum* device_sum_;  // null: staged through host memory
  DType dtype_;
  int64_t count_;
  std::vector<double> sum_;            // count_ gradients, then the loss (host staging only)
  std::vector<unsigned char> staged_;  // the gradients in dtype_ (host staging only)
};

}  // namespace cumlp
