// The one place that maps a Device to a Backend (defined in host/network.cpp),
// shared by Network and the benchmark suite.
#pragma once

#include <memory>

#include "cumlp/device.h"
#include "host/shared/backend.h"

namespace cumlp {

/// A fresh backend for the device; throws Error for a device this build cannot run.
std::unique_ptr<Backend> make_backend(const Device& d);

}  // namespace cumlp
