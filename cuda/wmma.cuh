// nvcuda::wmma for a kernel source: CUDA's <mma.h> under nvcc, the
// simulator's implementation (cuda/sim/wmma.h) under g++.
#pragma once

#include "cuda/sim/portable.h"

#if defined(__CUDACC__)
#include <mma.h>
#else
#include "cuda/sim/wmma.h"
#endif
