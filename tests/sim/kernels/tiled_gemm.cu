// Tiled GEMM: each 16 x 16 block stages a tile of A and of B in shared memory,
// barriers on both sides of the inner product, bounds-checked for any m, n, k.
#include "tests/sim/kernels/reference.cuh"

namespace {

constexpr int kTile = 16;

__global__ void tiled_gemm_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c,
                                  int m, int n, int k) {
  CUMLP_SHARED(float, a_tile, [kTile][kTile]);
  CUMLP_SHARED(float, b_tile, [kTile][kTile + 1]);  // +1: no bank conflicts on the column read
  const int row = blockIdx.y * kTile + threadIdx.y;
  const int col = blockIdx.x * kTile + threadIdx.x;
  float acc = 0.0f;
  for (int t = 0; t < k; t += kTile) {
    const int ak = t + threadIdx.x, bk = t + threadIdx.y;
    a_tile[threadIdx.y][threadIdx.x] = row < m && ak < k ? a[static_cast<long long>(row) * k + ak] : 0.0f;
    b_tile[threadIdx.y][threadIdx.x] = bk < k && col < n ? b[static_cast<long long>(bk) * n + col] : 0.0f;
    __syncthreads();  // tiles complete before anyone reads them
#pragma unroll
    for (int i = 0; i < kTile; ++i) acc += a_tile[threadIdx.y][i] * b_tile[i][threadIdx.x];
    __syncthreads();  // everyone done reading before the next tile overwrites them
  }
  if (row < m && col < n) c[static_cast<long long>(row) * n + col] = acc;
}

}  // namespace

void launch_tiled_gemm(const float* a, const float* b, float* c, int m, int n, int k, cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile);
  CUMLP_LAUNCH(tiled_gemm_kernel, grid, dim3(kTile, kTile), 0, stream, a, b, c, m, n, k);
}
