// The op table's narrow_step rows: a narrow network's whole training step
// (Backend::narrow_step: forward through every layer, the loss, every dz, dw
// and db) on a device that offers the fused step, against the same step
// composed of the per-layer ops on the reference, in the order a step issues
// them (narrow_step_by_ops).
#pragma once

#include <vector>

#include "host/opcheck/op_case.h"
#include "host/opcheck/runner.h"
#include "host/shared/backend.h"

namespace cumlp::opcheck {

/// The rows: the seed models whose plans are narrow (A, C, D) at their
/// batches, and small odd ones (softmax output, dropout, the first layer's K
/// split with a partial row tile).
void narrow_step_cases(std::vector<OpCase>& out);

/// A case's buffers, in this order: x, the target, then each layer's w and b,
/// then each layer's y, y_drop (with dropout), dz, dw, db, then the loss.
std::vector<Arg> narrow_step_args(const OpCase& c);

/// The case's step on be over the buffers p: be.narrow_step where be offers
/// it in dt, else narrow_step_by_ops.
void narrow_step_call(const OpCase& c, Backend& be, DType dt, void* const* p);

/// What Backend::narrow_step computes, by the per-layer ops: each layer's
/// linear_act_forward, loss_forward_backward, then from the last layer down
/// linear_backward_weight and linear_backward_data. A softmax output's
/// logits are normalised by the loss where be does that
/// (fuses_softmax_into_loss), else by the forward; y holds the softmax
/// either way.
void narrow_step_by_ops(Backend& be, DType dt, NarrowStepArgs a);

}  // namespace cumlp::opcheck
