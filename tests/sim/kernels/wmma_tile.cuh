// nvcuda::wmma TF32 test kernels (tests/sim/wmma_test.cpp); the same source
// compiles with nvcc for sm_80 and sm_90.
#pragma once

#include "cuda/wmma.cuh"

/// D [16, 16] = A [16, 8 ksteps] B [8 ksteps, 16] + C [16, 16], one warp, in
/// ksteps mma_sync calls of K = 8. A is stored row-major (lda = 8 ksteps) or,
/// with a_col, column-major (lda = 16); B row-major (ldb = 16) or, with b_col,
/// column-major (ldb = 8 ksteps). C and D row-major. round: convert every
/// operand fragment element with wmma::__float_to_tf32 before the product.
void launch_wmma_tile(const float* a, const float* b, const float* c, float* d, int ksteps, bool a_col, bool b_col,
                      bool round, cudaStream_t stream);

/// Misuses of the warp-collective API the simulator reports: a warp whose
/// lanes reach two different calls, an ldm that is no multiple of 4 floats,
/// a pointer that differs between lanes, and a block of 48 threads (a partial
/// second warp). tile: 16 x 8 floats, 16-byte aligned; out: 48 floats.
enum WmmaMisuse { kWmmaDiverged, kWmmaBadLdm, kWmmaLanePointer, kWmmaPartialWarp };
void launch_wmma_misuse(const float* tile, float* out, int misuse, cudaStream_t stream);
