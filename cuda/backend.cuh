// The GPU backend (cuda/backend.cu) as the device registrations
// (cuda/device_types.cu) make it: one per device build (cuda, sim, traced sim).
#pragma once

#include <memory>
#include <string>

#include "cuda/common.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// The Backend on GPU `index` of this build (the simulator's one device:
/// index 0), named `name` in errors and reports ("cuda:1", "sim").
std::unique_ptr<Backend> make_gpu_backend(std::string name, int index);

CUMLP_GPU_NAMESPACE_END
