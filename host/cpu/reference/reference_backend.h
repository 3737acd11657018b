// The reference backend: the plain loops of reference_ops.h behind the
// Backend interface, in host memory, so any device is compared with it the
// same way. f64 runs the loops directly; f32 converts the inputs to double,
// runs them, and rounds each output to float once.
#pragma once

#include <memory>

#include "host/shared/backend.h"

namespace cumlp {

/// A fresh reference backend (name "reference"; cannot record).
std::unique_ptr<Backend> make_reference_backend();

}  // namespace cumlp
