// The data-parallel hook of the executor: the all-reduce of the flat gradient
// buffer (and the step's loss) between backward and the single optimizer
// launch. Over mpi (cpu and sim ranks) the buffer is staged through host
// memory: each rank's mean gradient over its rows is weighted by those rows,
// the ranks' parts are summed in rank order, then scaled by 1/global rows,
// which gives the mean gradient over the global batch on every rank. Over
// nccl (cuda ranks, a communicator that is also a DeviceSum) the buffer stays
// on the GPU: each rank's part is scaled by rows/global rows inside NCCL's
// all-reduce (so f32 results differ from the mpi path's in the last bits).
//
// enqueue() is the stream-ordered form the executor's recorded distributed
// step uses (host/executor/executor_dist.cpp): a piece of the buffer summed on
// the backend's side stream, captured into the step's graph. Over nccl it is
// ncclAllReduce on that stream; over mpi (sim ranks) a host call on it that
// sums the piece through host memory with the arithmetic of reduce(), so a
// recorded step gives the op-by-op step's bits.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
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

  /// Whether enqueue() can run on this backend: nccl's stream-ordered sum, or
  /// mpi's host staging as a host call where those reach backend memory (sim).
  bool can_enqueue() const;
  /// Enqueues on the backend's side stream (Backend::fork_side orders it
  /// after the writes) data[0, count) := the sum over the ranks of
  /// local_rows_r * data_r, divided by global_rows (nccl: each scaled by
  /// local_rows_r / global_rows): a piece of the flat gradient buffer, the
  /// step's loss as one more element. A rank with local_rows == 0 contributes
  /// zeros (mpi: data is not read; nccl: it is scaled by 0, so it must be
  /// finite). Recorded with the step when the backend is recording. Pieces
  /// summed apart give the bits of one sum (each element is summed alone).
  void enqueue(void* data, int64_t count, int64_t local_rows, int64_t global_rows);
  /// After a distributed step of enqueued sums was issued or replayed: nccl
  /// waits for the backend's stream, polled against --dist-timeout (throws
  /// RankError past it); over mpi the host calls ran already (the simulator
  /// runs a stream's work as it is issued) under the messages' own deadline.
  void wait_issued();

 private:
  double reduce_on_device(void* grads, double local_loss, int64_t local_rows, int64_t global_rows);
  // An enqueued host-memory sum: its arguments live as long as this object,
  // so a recorded host call can run them at every replay.
  struct Piece {
    GradientSum* owner;
    void* data;
    int64_t count, local_rows, global_rows;
  };
  static void sum_piece(void* piece);
  // v := (sum over ranks of local_rows_r * v_r) / global_rows, in rank order (v_r unread without rows).
  void weighted_sum(std::span<double> v, int64_t local_rows, int64_t global_rows);

  Communicator& comm_;
  Backend& backend_;
  DeviceSum* device_sum_;  // null: staged through host memory
  DType dtype_;
  int64_t count_;
  std::vector<double> sum_;            // count_ gradients, then the loss (host staging only)
  std::vector<unsigned char> staged_;  // the gradients in dtype_ (host staging only)
  std::map<std::tuple<void*, int64_t, int64_t, int64_t>, Piece> pieces_;  // enqueued host sums, by their arguments
  std::vector<double> piece_sum_;      // a piece's sum (host staging only)
};

}  // namespace cumlp
