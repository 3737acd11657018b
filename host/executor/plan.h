// The plan: a ModelSpec compiled once into fused layers and a flat buffer
// layout. Linear + its activation + its dropout become one fused layer (one
// forward op, one input-gradient op, one weight-gradient op); the loss is
// fused with the last layer's activation derivative (cross-entropy with
// softmax, BCE with sigmoid, ...).
#pragma once

#include <cstdint>
#include <vector>

#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "host/shared/backend.h"

namespace cumlp {

struct FusedLayer {
  int64_t in = 0, out = 0;
  bool bias = true;
  int32_t act = ops::kIdentity;  // ops::ActCode
  double alpha = 0;
  double dropout_p = 0;          // dropout applied to this layer's output in training
  int64_t w_offset = 0;          // element offset of the weight [out, in] in the flat buffers
  int64_t b_offset = -1;         // element offset of the bias [out], -1 without bias
};

struct Plan {
  std::vector<FusedLayer> layers;
  LossKind loss = LossKind::CrossEntropy;
  int64_t inputs = 0, outputs = 0;
  int64_t param_count = 0;  // elements of the flat parameter (and gradient, moment) buffers
  int64_t max_width = 0;    // widest layer output (sizes the gradient ping-pong buffers)

  /// Validates the spec and lays out the flat buffers. Throws Error.
  static Plan compile(const ModelSpec& spec);
  /// Backend ops in one training step: per layer a forward and a backward
  /// (the first layer's weight gradient; for the others Backend::linear_backward,
  /// both gradients as one op), the loss, one update. (A backend may launch
  /// more than one kernel for an op: the CUDA forward of a softmax layer is
  /// two, except in training, where the loss launch normalises the output
  /// layer's logits; the cpu backward is two. Network::launches_per_step
  /// reports what a step really launched.) narrow_step: the step is
  /// Backend::narrow_step (see narrow()): the fused op, whose two launches
  /// count here, and the update.
  int launches_per_step(bool narrow_step = false) const {
    return narrow_step ? 3 : static_cast<int>(2 * layers.size() + 2);
  }
  /// The narrow rule: every layer after the input at most kNarrowMaxWidth
  /// (128) wide, at most kNarrowMaxLayers layers, no dropout on the output
  /// layer. A training step of such a network runs as Backend::narrow_step
  /// (forward, loss, every dz in one kernel; every weight gradient in one
  /// grouped launch) on backends that offer it for the dtype and precision
  /// (cuda/sim at fp32); elsewhere, and for evaluation, the per-layer ops.
  bool narrow() const;
};

int32_t act_code(Activation a);

}  // namespace cumlp
