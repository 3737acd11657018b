// Entry points of the CUDA backend for the host library (no CUDA headers
// here). The same backend source is built twice: by nvcc for real GPUs and by
// g++ against the SIMT simulator; each build defines its own entry points.
#pragma once

#include <memory>
#include <string>

#include "host/shared/backend.h"

namespace cumlp {

/// The `sim` device: the CUDA kernels and backend on the SIMT simulator
/// (defined when the library is built with CUMLP_SIM).
std::unique_ptr<Backend> make_sim_backend();

/// The `cuda:N` device (defined when built with CUMLP_CUDA). Throws Error
/// when GPU `index` cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int index);
/// Why GPU `index` cannot be used on this machine, or "" if it can (asks the
/// CUDA runtime; defined when built with CUMLP_CUDA).
std::string cuda_unavailable_reason(int index);
/// The name and memory of GPU `index` (after cuda_unavailable_reason said "").
std::string cuda_device_name(int index, double* memory_gb);

}  // namespace cumlp
