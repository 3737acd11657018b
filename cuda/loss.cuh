// Loss value and gradient with respect to the last layer's pre-activation, in
// one pass over the outputs (host/cpu/loss_cpu.cpp is the twin).
#pragma once

#include "cuda/common.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// Device scratch of the loss kernel: the per-row losses (at least a.rows
/// floats) and the counter of finished blocks (zero between launches; the
/// kernel's last block resets it). One launch at a time may use it.
struct LossScratch {
  float* row_loss;
  uint32_t* blocks_done;
};

/// Writes the scalar loss to *loss (device) and, if a.want_grad, dz [rows, cols].
/// target: int32 class indices [rows] for cross-entropy, else float [rows, cols].
/// One launch: a block per row, the last block to finish adding the rows'
/// losses in a fixed order. y is written (the softmax of its rows, in place)
/// only when a.normalise.
int launch_loss_forward_backward(const LossArgs& a, float* y, const void* target, float* dz, float* loss,
                                 LossScratch scratch, cudaStream_t stream);

/// Adds *loss (device) to record's losses as the loss kernel does with a
/// record (one thread): a recorded distributed step's loss, summed over the
/// ranks after the loss kernel ran.
int launch_record_loss(const float* loss, StepRecord* record, cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
