// Reference kernels for the SIMT simulator: small, real kernels that exercise
// warp shuffles, dynamic and static shared memory and barriers. The same sources
// compile with nvcc (sm_80, sm_90) and, through cuda/sim/portable.h, with g++.
#pragma once

#include "cuda/sim/portable.h"

/// out[b] = sum of x[i] over the i that block b visits with a grid-stride loop
/// (blocks * threads elements per stride); sum(out) == sum(x).
void launch_block_reduce(const float* x, float* out, int n, int blocks, int threads, cudaStream_t stream);

/// y[r, :] = softmax(x[r, :]) for a row-major rows x cols matrix, one block per row.
void launch_row_softmax(const float* x, float* y, int rows, int cols, int threads, cudaStream_t stream);

/// C = A B for row-major A (m x k), B (k x n), C (m x n), in 16 x 16 shared-memory tiles.
void launch_tiled_gemm(const float* a, const float* b, float* c, int m, int n, int k, cudaStream_t stream);
