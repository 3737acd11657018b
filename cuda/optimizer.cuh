// One optimizer update over the flat parameter / gradient / moment buffers.
#pragma once

#include "cuda/common.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// SGD, Adam or AdamW with the L2 / L1 terms, over n parameters (m, v unused
/// by SGD). One launch (none for n == 0).
int launch_optimizer_step(const OptimArgs& a, int64_t n, float* params, const float* grads, float* m, float* v,
                          cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
