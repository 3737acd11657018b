// The device registry: every device type this build knows, in the order
// `cumlp info` lists them, and the one place that turns a Device into a Backend.
#pragma once

#include <memory>
#include <vector>

#include "cumlp/device.h"
#include "host/shared/device_type.h"

namespace cumlp {

/// Every registered device type (built or not).
const std::vector<DeviceType>& device_types();

/// The registered type called `name`, or null.
const DeviceType* find_device_type(const std::string& name);

/// A fresh backend for the device; throws Error, saying why, for a device this
/// build or this machine cannot run.
std::unique_ptr<Backend> make_backend(const Device& d);

}  // namespace cumlp
