// Planted access patterns for the profile tests (planted_access.cuh).
#include "tests/profile/planted_access.cuh"

#include "cuda/wmma.cuh"
#include "host/shared/error_macros.h"

namespace {

__global__ void coalesced_copy_kernel(const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  y[i] = x[i];
}

__global__ void stride32_load_kernel(const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  y[i] = x[32 * i];
}

__global__ void float4_copy_kernel(const float4* x, float4* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  y[i] = x[i];
}

__global__ void global_broadcast_kernel(const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  y[i] = x[0];
}

template <int kWidth>
__global__ void shared_column_kernel(const float* x, float* y) {
  CUMLP_SHARED(float, tile, [32][kWidth]);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x][0] = x[i];
  __syncthreads();
  y[i] = tile[threadIdx.x][0];
}

__global__ void shared_broadcast_kernel(const float* x, float* y) {
  CUMLP_SHARED(float, tile, [32]);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = x[i];
  __syncthreads();
  y[i] = tile[0];
}

// The GEMM's tile staging (cuda/gemm.cuh load_tile, outer index contiguous) in
// an edge block: lanes whose column is past `valid` store a zero instead of a
// loaded value. 256 threads stage a [32][33]-padded tile in 4 rounds; every
// store of a warp is 32 consecutive words of one row: conflict-free.
__global__ void edge_tile_kernel(const float* x, float* y, int valid) {
  CUMLP_SHARED(float, tile, [32][33]);
  for (int e = threadIdx.x; e < 32 * 32; e += 256) {
    const int o = e % 32, k = e / 32;
    float v = 0.0f;
    if (o < valid) v = x[k * valid + o];
    tile[k][o] = v;
  }
  __syncthreads();
  y[threadIdx.x] = tile[threadIdx.x / 32][threadIdx.x % 32];
}

// y[i] = 2 y[i]: a load and a store of the same address, without and with a
// counted operation (a call in the traced build) between them.
__global__ void rmw_kernel(float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  y[i] = 2.0f * y[i];
}
__global__ void rmw_counted_kernel(float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const float v = 2.0f * y[i];
  CUMLP_COUNT_FLOPS(1);
  y[i] = v;
}

namespace wmma = nvcuda::wmma;

template <int kLdm>
__global__ void wmma_load_kernel(const float* x, float* y) {
  CUMLP_SHARED(float, tile, [16 * kLdm]);
  const int lane = threadIdx.x;
  for (int e = lane; e < 16 * kLdm; e += 32) tile[e] = x[e];
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
  wmma::load_matrix_sync(a, tile, kLdm);
  for (int i = 0; i < a.num_elements; ++i) y[(blockIdx.x * 4 + i) * 32 + lane] = a.x[i];
}

template <int kLdc>
__global__ void wmma_mma_store_kernel(const float* x, float* y) {
  CUMLP_SHARED(float, out, [16 * kLdc]);
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> c;
  wmma::load_matrix_sync(a, x, 8);
  wmma::load_matrix_sync(b, x + 128, 16);
  wmma::fill_fragment(c, 0.0f);
  wmma::mma_sync(c, a, b, c);
  wmma::store_matrix_sync(out, c, kLdc, wmma::mem_row_major);
  __syncwarp();
  for (int e = threadIdx.x; e < 256; e += 32) y[blockIdx.x * 256 + e] = out[e / 16 * kLdc + e % 16];
}

}  // namespace

void launch_wmma_load(const float* x, float* y, int blocks, int ldm) {
  CUMLP_CHECK(ldm == 8 || ldm == 12, "launch_wmma_load: ldm ", ldm, " (8 or 12)");
  auto* k = ldm == 8 ? &wmma_load_kernel<8> : &wmma_load_kernel<12>;
  CUMLP_LAUNCH(k, dim3(blocks), dim3(32), 0, 0, x, y);
}

void launch_wmma_mma_store(const float* x, float* y, int blocks, int ldc) {
  CUMLP_CHECK(ldc == 16 || ldc == 20, "launch_wmma_mma_store: ldc ", ldc, " (16 or 20)");
  auto* k = ldc == 16 ? &wmma_mma_store_kernel<16> : &wmma_mma_store_kernel<20>;
  CUMLP_LAUNCH(k, dim3(blocks), dim3(32), 0, 0, x, y);
}

void launch_read_modify_write(float* y, int blocks, int threads, bool counted) {
  if (counted) CUMLP_LAUNCH(rmw_counted_kernel, dim3(blocks), dim3(threads), 0, 0, y);
  else CUMLP_LAUNCH(rmw_kernel, dim3(blocks), dim3(threads), 0, 0, y);
}

void launch_edge_tile(const float* x, float* y, int valid) {
  CUMLP_LAUNCH(edge_tile_kernel, dim3(1), dim3(256), 0, 0, x, y, valid);
}

void launch_coalesced_copy(const float* x, float* y, int blocks, int threads) {
  CUMLP_LAUNCH(coalesced_copy_kernel, dim3(blocks), dim3(threads), 0, 0, x, y);
}
void launch_stride32_load(const float* x, float* y, int blocks, int threads) {
  CUMLP_LAUNCH(stride32_load_kernel, dim3(blocks), dim3(threads), 0, 0, x, y);
}
void launch_float4_copy(const float* x, float* y, int blocks, int threads) {
  CUMLP_LAUNCH(float4_copy_kernel, dim3(blocks), dim3(threads), 0, 0, reinterpret_cast<const float4*>(x),
               reinterpret_cast<float4*>(y));
}
void launch_global_broadcast(const float* x, float* y, int blocks, int threads) {
  CUMLP_LAUNCH(global_broadcast_kernel, dim3(blocks), dim3(threads), 0, 0, x, y);
}
void launch_shared_column(const float* x, float* y, int blocks, bool padded) {
  if (padded) {
    auto* k = &shared_column_kernel<33>;
    CUMLP_LAUNCH(k, dim3(blocks), dim3(32), 0, 0, x, y);
  } else {
    auto* k = &shared_column_kernel<32>;
    CUMLP_LAUNCH(k, dim3(blocks), dim3(32), 0, 0, x, y);
  }
}
void launch_shared_broadcast(const float* x, float* y, int blocks) {
  CUMLP_LAUNCH(shared_broadcast_kernel, dim3(blocks), dim3(32), 0, 0, x, y);
}
