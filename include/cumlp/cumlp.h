// cumlp — multilayer perceptrons on GPUs, with a CPU reference for every kernel.
// The one header to include.
#pragma once

#include <string>

#include "cumlp/device.h"
#include "cumlp/dist.h"
#include "cumlp/error.h"
#include "cumlp/export.h"
#include "cumlp/model.h"
#include "cumlp/network.h"
#include "cumlp/optim.h"
#include "cumlp/perceptron.h"
#include "cumlp/tensor.h"

namespace cumlp {

/// The library version, "MAJOR.MINOR.PATCH".
CUMLP_API const char* version();
/// Build flags as "key=value" pairs separated by spaces (cuda, sim, blas, build type).
CUMLP_API std::string build_info();

}  // namespace cumlp
