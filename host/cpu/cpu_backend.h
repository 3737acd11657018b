// The cpu device (OpenBLAS GEMM) and the reference (plain loops, double
// accumulation). Both run every op in float and double.
#pragma once

#include <memory>

#include "host/shared/backend.h"

namespace cumlp {

/// blas = true: the cpu device. blas = false: the reference the tests trust.
std::unique_ptr<Backend> make_cpu_backend(bool blas = true);

}  // namespace cumlp
