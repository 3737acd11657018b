// Batch gather on the device: the training rows of a dataset kept in device
// memory in its native type (uint8 pixels stay bytes), picked by an index
// vector and scaled into the network's input buffer (host/cpu twin:
// Dataset::gather, whose rounding this follows).
#pragma once

#include "cuda/common.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// x [n, a.cols] = samples[rows[i]] * a.scale, and the targets (see
/// GatherArgs). One launch (none for n == 0). float networks only.
int launch_gather_batch(const GatherArgs& a, const int64_t* rows, int64_t n, float* x, void* target,
                        cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
