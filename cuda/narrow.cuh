// The fused training step of a narrow network (every layer after the input at
// most kNarrowMaxWidth wide): one kernel for the forward through every layer,
// the loss and every layer's dz, then every layer's weight and bias gradients
// in one grouped GEMM launch (cuda/gemm.cuh). fp32; see cuda/narrow.cu.
#pragma once

#include "cuda/common.cuh"
#include "cuda/gemm_rule.cuh"
#include "cuda/loss.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// What Backend::narrow_step computes, pointers device floats. Returns the
/// launches made (2).
int launch_narrow_step(const NarrowStepArgs& a, LossScratch scratch, const GemmWorkspace& ws, cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
