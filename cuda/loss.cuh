// Loss value and gradient with respect to the last layer's pre-activation, in
// one pass over the outputs (host/cpu/loss_cpu.cpp is the twin).
#pragma once

#include "cuda/common.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// Writes the scalar loss to *loss (device) and, if a.want_grad, dz [rows, cols].
/// target: int32 class indices [rows] for cross-entropy, else float [rows, cols].
/// row_loss: device scratch of a.rows floats (per-row partial sums).
/// Two launches: one block per row, then one block adding the rows in order.
int launch_loss_forward_backward(const LossArgs& a, const float* y, const void* target, float* dz, float* loss,
                                 float* row_loss, cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
