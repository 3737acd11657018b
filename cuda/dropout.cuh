// The dropout mask of a layer's output on the GPU, by element index: keyed by
// (seed, layer, step, element) through rng::dropout_keep, so masks equal the
// CPU's bit for bit whatever the launch shape. Used by the Linear kernels'
// epilogues (cuda/linear.cu) and the fused narrow step (cuda/narrow.cu).
#pragma once

#include "cuda/common.cuh"
#include "host/shared/backend.h"
#include "host/shared/rng.h"

CUMLP_GPU_NAMESPACE_BEGIN

// The dropout of one layer's [M, width] output, by element index. The step
// comes from the StepRecord when there is one (a replayed step reads it when
// it runs), else from the launch arguments.
struct Dropout {
  uint64_t seed = 0;
  uint32_t layer = 0, step = 0;
  float p = 0, scale = 0;  // p == 0: no dropout
  const StepRecord* record = nullptr;
  int64_t element0 = 0;  // key of element 0 (a rank's first row in the global batch)

  static Dropout of(const Epilogue& ep) {
    Dropout d;
    if (ep.dropout_p <= 0) return d;
    d.seed = ep.seed;
    d.layer = ep.layer;
    d.step = ep.step;
    d.record = ep.record;
    d.element0 = ep.element0;
    d.p = static_cast<float>(ep.dropout_p);
    d.scale = dropout_scale(ep.dropout_p);
    return d;
  }
  __device__ float factor(int64_t e) const {
    const uint32_t s = record ? static_cast<uint32_t>(record->updates) : step;
    return rng::dropout_keep(seed, layer, s, static_cast<uint64_t>(element0 + e), p) ? scale : 0.0f;
  }
};

CUMLP_GPU_NAMESPACE_END
