// The data-parallel hook of the executor: the all-reduce of the flat gradient
// buffer (and the step's loss) between backward and the single optimizer
// launch. The buffer is staged through host memory (cpu, sim and cuda ranks
// over MPI): each rank's mean gradient over its rows is weighted by those
// rows, the ranks' parts are summed in rank order, then scaled by 1/global
// rows, which gives the mean gradient over the global batch on every rank.
#pragma once

#include <cstdint>
#include <vector>

#include "cumlp/dist.h"
#include "cumlp/tensor.h"
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
  Communicator& comm_;
  Backend& backend_;
  DType dtype_;
  int64_t count_;
  std::vector<double> sum_;            // count_ gradients, then the loss
  std::vector<unsigned char> staged_;  // the gradients in dtype_
};

}  // namespace cumlp
