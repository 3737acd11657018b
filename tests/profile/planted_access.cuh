// Kernels with known memory-access patterns, compiled into the access-traced
// build, whose counts the profile tests compute by hand. Each launch is
// `blocks` blocks of `threads` threads over float arrays the caller sized.
#pragma once

#include "cuda/sim/portable.h"

/// y[i] = x[i], i = global thread index: consecutive lanes, consecutive floats.
void launch_coalesced_copy(const float* x, float* y, int blocks, int threads);
/// y[i] = x[32 i]: each lane 128 bytes after the previous one.
void launch_stride32_load(const float* x, float* y, int blocks, int threads);
/// y4[i] = x4[i] as float4: one 16-byte load and store per lane.
void launch_float4_copy(const float* x, float* y, int blocks, int threads);
/// A global broadcast: every lane loads x[0]; y[i] = x[0].
void launch_global_broadcast(const float* x, float* y, int blocks, int threads);
/// One warp per block: tile[lane][0] = x[i]; __syncthreads(); y[i] = tile[lane][0]
/// with tile [32][32] (a column: every lane in bank 0) or, padded, [32][33].
void launch_shared_column(const float* x, float* y, int blocks, bool padded);
/// One warp per block: tile[lane] = x[i]; __syncthreads(); y[i] = tile[0] (a broadcast).
void launch_shared_broadcast(const float* x, float* y, int blocks);
/// One block of 256 threads stages a [32][33] tile as the GEMM does at an edge:
/// tile[k][o] = o < valid ? x[k * valid + o] : 0, four rounds of 32 x 8 stores.
void launch_edge_tile(const float* x, float* y, int valid);
/// y[i] = 2 y[i], with `counted`: CUMLP_COUNT_FLOPS(1) between the load and the store.
void launch_read_modify_write(float* y, int blocks, int threads, bool counted);
/// One warp per block: tile[16][ldm] (ldm 8 or 12) filled from x (32 consecutive floats
/// per store), __syncthreads, then one wmma::load_matrix_sync of a row-major 16 x 8
/// matrix_a fragment from it; y[block][i][lane] = element i.
void launch_wmma_load(const float* x, float* y, int blocks, int ldm);
/// One warp per block: a row-major matrix_a [16][8] (ldm 8) and matrix_b [8][16] (ldm 16)
/// loaded from global x and x + 128, one mma_sync with a zero accumulator, the
/// accumulator stored row-major to shared out[16][ldc] (ldc 16 or 20), then y[block] = out.
void launch_wmma_mma_store(const float* x, float* y, int blocks, int ldc);
