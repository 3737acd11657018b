// The cpu device: OpenBLAS GEMM and AVX2 register tiles, every op in float
// and double. (The plain reference it is checked against lives apart, in
// host/cpu/reference/.)
#pragma once

#include <memory>

#include "host/shared/backend.h"

namespace cumlp {

/// A fresh cpu device backend.
std::unique_ptr<Backend> make_cpu_backend();

}  // namespace cumlp
