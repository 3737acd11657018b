// The project's tiled GEMM, one template for every product the Linear layer
// needs, with the epilogue as a functor so bias, activation, dropout and
// activation derivatives are applied while the result is still in registers:
//
//   C [M, N] = op(A) op(B),  op(A) [M, K], op(B) [K, N], row-major storage;
//   kTransA: A is stored [K, M];  kTransB: B is stored [N, K].
//
// A 32 x 32 block of C per 16 x 16 threads; each thread owns the 2 x 2 outputs
// (ty + 16r, tx + 16c), so a warp reads one A value (broadcast) and 16
// consecutive B values per step. K advances in 32-wide tiles staged in shared
// memory; loads are bounds-checked and zero-filled, so any M, N, K (1, odd,
// not multiples of 32, K = 0) works. Each thread sums its K terms in order:
// the result does not depend on the schedule.
//
// Optional fused row sums of op(A): when a_row_sums is set, the blocks of the
// first column of C also add up every row of op(A) as its tiles pass through
// shared memory, in K order (the bias gradient db = column sums of dz rides on
// the weight-gradient GEMM this way, deterministic and without atomics).
#pragma once

#include "cuda/common.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

constexpr int kGemmTile = 32;                      // BM = BN = BK
constexpr int kGemmThreadsPerSide = 16;            // 16 x 16 threads
constexpr int kGemmThreads = kGemmThreadsPerSide * kGemmThreadsPerSide;
constexpr int kGemmPerThread = kGemmTile / kGemmThreadsPerSide;  // 2 x 2 outputs

/// Stages a kGemmTile x kGemmTile tile of a matrix into tile[k][outer]: element
/// (outer, k) of the logical [outer, K] operand, which is stored either with k
/// contiguous (k_inner) or with outer contiguous. Consecutive threads read
/// consecutive addresses in both layouts.
template <bool kKInner>
__device__ void load_tile(float (&tile)[kGemmTile][kGemmTile + 1], const float* __restrict__ src, int outer_size,
                          int K, int outer0, int k0) {
  const int tid = threadIdx.y * kGemmThreadsPerSide + threadIdx.x;
  for (int e = tid; e < kGemmTile * kGemmTile; e += kGemmThreads) {
    const int fast = e % kGemmTile, slow = e / kGemmTile;
    const int o = kKInner ? slow : fast, k = kKInner ? fast : slow;
    const int go = outer0 + o, gk = k0 + k;
    float v = 0.0f;
    if (go < outer_size && gk < K)
      v = kKInner ? src[static_cast<int64_t>(go) * K + gk] : src[static_cast<int64_t>(gk) * outer_size + go];
    tile[k][o] = v;
  }
}

template <bool kTransA, bool kTransB, class Epilogue>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_kernel(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                float* __restrict__ a_row_sums, Epilogue epilogue) {
  CUMLP_SHARED(float, a_tile, [kGemmTile][kGemmTile + 1]);  // [k][i]; +1 keeps the transposed stores conflict-free
  CUMLP_SHARED(float, b_tile, [kGemmTile][kGemmTile + 1]);  // [k][j]
  const int m0 = blockIdx.y * kGemmTile, n0 = blockIdx.x * kGemmTile;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int tid = ty * kGemmThreadsPerSide + tx;
  // Uniform per block: only blocks of C's first column sum rows, one thread per row.
  const bool sums_rows = a_row_sums != nullptr && blockIdx.x == 0 && tid < kGemmTile;
  float row_sum = 0.0f;
  float acc[kGemmPerThread][kGemmPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kGemmTile) {
    load_tile<!kTransA>(a_tile, A, M, K, m0, k0);  // op(A) row i: A[i][k], or A[k][i] when transposed
    load_tile<kTransB>(b_tile, B, N, K, n0, k0);   // op(B) column j: B[k][j], or B[j][k] when transposed
    __syncthreads();                               // tiles complete before anyone reads them
    for (int k = 0; k < kGemmTile; ++k) {
      float a[kGemmPerThread], b[kGemmPerThread];
      for (int r = 0; r < kGemmPerThread; ++r) a[r] = a_tile[k][ty + r * kGemmThreadsPerSide];
      for (int c = 0; c < kGemmPerThread; ++c) b[c] = b_tile[k][tx + c * kGemmThreadsPerSide];
      for (int r = 0; r < kGemmPerThread; ++r)
        for (int c = 0; c < kGemmPerThread; ++c) acc[r][c] += a[r] * b[c];
      CUMLP_COUNT_FMA(kGemmPerThread * kGemmPerThread);
    }
    if (sums_rows) {
      for (int k = 0; k < kGemmTile; ++k) row_sum += a_tile[k][tid];  // zero-filled beyond K
      CUMLP_COUNT_FLOPS(kGemmTile);
    }
    __syncthreads();  // everyone done reading before the next tiles overwrite them
  }
  for (int r = 0; r < kGemmPerThread; ++r)
    for (int c = 0; c < kGemmPerThread; ++c) {
      const int i = m0 + ty + r * kGemmThreadsPerSide, j = n0 + tx + c * kGemmThreadsPerSide;
      if (i < M && j < N) epilogue(i, j, acc[r][c]);
    }
  if (sums_rows && m0 + tid < M) a_row_sums[m0 + tid] = row_sum;
}

/// Launches gemm_kernel for C [M, N] after checking the sizes fit its grid and
/// indices. Returns the launches made (0 when C is empty).
template <bool kTransA, bool kTransB, class Epilogue>
int launch_gemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* a_row_sums,
                const Epilogue& epilogue, cudaStream_t stream) {
  CUMLP_CHECK(M >= 0 && N >= 0 && K >= 0, "GEMM with negative size M=", M, " N=", N, " K=", K);
  CUMLP_CHECK(M * K < (int64_t{1} << 31) && N * K < (int64_t{1} << 31) && M * N < (int64_t{1} << 31),
              "GEMM operands beyond 2^31 elements (M=", M, " N=", N, " K=", K, ")");
  if (M == 0 || N == 0) return 0;
  const int64_t grid_y = (M + kGemmTile - 1) / kGemmTile;
  CUMLP_CHECK(grid_y <= 65535, "GEMM with ", M, " rows exceeds the grid (at most ", 65535 * kGemmTile, ")");
  const dim3 grid(static_cast<unsigned>((N + kGemmTile - 1) / kGemmTile), static_cast<unsigned>(grid_y));
  auto* gemm = &gemm_kernel<kTransA, kTransB, Epilogue>;  // the launch's name on the simulator
  CUMLP_LAUNCH(gemm, grid, dim3(kGemmThreadsPerSide, kGemmThreadsPerSide), 0, stream, static_cast<int>(M),
               static_cast<int>(N), static_cast<int>(K), A, B, a_row_sums, epilogue);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

CUMLP_GPU_NAMESPACE_END
