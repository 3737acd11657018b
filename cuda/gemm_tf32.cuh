// The tensor-core GEMM: the contract of cuda/gemm.cuh's launch_gemm (C = op(A)
// op(B), row-major, kTransA / kTransB, the epilogue functor epilogue(i, j, acc),
// the optional fused row sums of op(A), any M, N, K) computed with nvcuda::wmma
// TF32 16x16x8 products and fp32 accumulation (sm_80 and later; the simulator
// runs it through cuda/sim/wmma.h).
//
//   Tf32Mode::tf32    each operand rounded once to TF32 (cvt.rna: 10-bit
//                     mantissa, unit roundoff 2^-11).
//   Tf32Mode::tf32x3  each operand split x = big + small, big = tf32(x),
//                     small = tf32(x - big) (x - big is exact in fp32), and
//                     acc += small_a big_b + big_a small_b + big_a big_b: the
//                     dropped small_a small_b is ~2^-22 of the product, so the
//                     result is close to an fp32 GEMM at three times the products.
//
// A 64 x 64 block of C per 4 warps (2 x 2), each warp 32 x 32 = 2 x 2 fragments.
// K advances in 16-wide tiles staged in shared memory in the layout the global
// operand has (k contiguous or outer contiguous: the matching wmma layout,
// row_major or col_major), already rounded (and split), zero-filled outside
// the matrix. Rows are padded by 4 floats (fragment loads stay 32-byte aligned,
// ldm a multiple of 16 bytes). Each warp stores its finished fragments to its
// own shared scratch and applies the epilogue from there, as a fragment's
// element mapping is unspecified. The order of the additions is fixed by the
// kernel, so results do not depend on the schedule.
//
// The row sums of op(A) (the bias gradient) are the fp32 kernel's: each row
// summed in K order from the unrounded values, so db is the same bits at every
// precision.
#pragma once

#include <type_traits>

#include "cuda/common.cuh"
#include "cuda/wmma.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

enum class Tf32Mode { tf32, tf32x3 };

constexpr int kTf32BlockM = 64, kTf32BlockN = 64, kTf32BlockK = 16;
constexpr int kTf32Pad = 4;  // floats: ldm stays a multiple of 16 bytes
constexpr int kTf32Threads = 128;
constexpr int kTf32ScratchLd = 32 + kTf32Pad;

/// Shared memory of one block: kParts copies (big, small) of each operand tile,
/// in the operand's global layout, and a 32 x 32 scratch per warp.
template <int kParts, bool kTransA, bool kTransB>
struct alignas(32) Tf32Tiles {
  // op(A) tile [64 m][16 k]: stored [m][k] (A is [M, K]) or [k][m] (A^T stored [K, M]).
  static constexpr int kLdA = kTransA ? kTf32BlockM + kTf32Pad : kTf32BlockK + kTf32Pad;
  static constexpr int kLdB = kTransB ? kTf32BlockK + kTf32Pad : kTf32BlockN + kTf32Pad;
  float a[kParts][kTransA ? kTf32BlockK : kTf32BlockM][kLdA];
  float b[kParts][kTransB ? kTf32BlockN : kTf32BlockK][kLdB];
  float scratch[kTf32Threads / 32][32][kTf32ScratchLd];  // a warp's 32 x 32 outputs
};

/// Stages the [outer 64][k 16] tile of an operand into dst in its global
/// layout (k contiguous when kKInner), rounded to TF32, with the small parts
/// in dst_small when splitting. Consecutive threads read consecutive addresses.
template <bool kKInner, bool kSplit, int kOuter, int kLd, int kRows>
__device__ void stage_tf32_tile(float (*dst)[kRows][kLd], const float* __restrict__ src, int outer_size, int K,
                                int outer0, int k0) {
  constexpr int kFast = kKInner ? kTf32BlockK : kOuter;
  for (int e = threadIdx.x; e < kOuter * kTf32BlockK; e += kTf32Threads) {
    const int fast = e % kFast, slow = e / kFast;
    const int o = kKInner ? slow : fast, k = kKInner ? fast : slow;
    const int go = outer0 + o, gk = k0 + k;
    float v = 0.0f;
    if (go < outer_size && gk < K)
      v = kKInner ? src[static_cast<int64_t>(go) * K + gk] : src[static_cast<int64_t>(gk) * outer_size + go];
    const float big = nvcuda::wmma::__float_to_tf32(v);
    dst[0][slow][fast] = big;
    if constexpr (kSplit) dst[1][slow][fast] = nvcuda::wmma::__float_to_tf32(v - big);
  }
}

template <bool kTransA, bool kTransB, Tf32Mode kMode, class Epilogue>
__global__ void __launch_bounds__(kTf32Threads)
    gemm_tf32_kernel(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                     float* __restrict__ a_row_sums, Epilogue epilogue) {
  namespace wmma = nvcuda::wmma;
  constexpr bool kSplit = kMode == Tf32Mode::tf32x3;
  using Tiles = Tf32Tiles<kSplit ? 2 : 1, kTransA, kTransB>;
  using LayoutA = std::conditional_t<kTransA, wmma::col_major, wmma::row_major>;
  using LayoutB = std::conditional_t<kTransB, wmma::col_major, wmma::row_major>;
  using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, LayoutA>;
  using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, LayoutB>;
  using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
  CUMLP_SHARED(Tiles, tiles, [1]);
  Tiles& t = tiles[0];
  const int m0 = blockIdx.y * kTf32BlockM, n0 = blockIdx.x * kTf32BlockN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;  // the warp's 32 x 32 in the block tile
  FragC acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  for (int k0 = 0; k0 < K; k0 += kTf32BlockK) {
    stage_tf32_tile<!kTransA, kSplit, kTf32BlockM>(t.a, A, M, K, m0, k0);
    stage_tf32_tile<kTransB, kSplit, kTf32BlockN>(t.b, B, N, K, n0, k0);
    __syncthreads();  // tiles complete before anyone reads them
    for (int kk = 0; kk < kTf32BlockK; kk += 8) {
      FragA a[2][kSplit ? 2 : 1];
      FragB b[2][kSplit ? 2 : 1];
      for (int p = 0; p < (kSplit ? 2 : 1); ++p)
        for (int i = 0; i < 2; ++i) {
          const int m = wm + 16 * i, n = wn + 16 * i;
          wmma::load_matrix_sync(a[i][p], kTransA ? &t.a[p][kk][m] : &t.a[p][m][kk], Tiles::kLdA);
          wmma::load_matrix_sync(b[i][p], kTransB ? &t.b[p][n][kk] : &t.b[p][kk][n], Tiles::kLdB);
        }
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          if constexpr (kSplit) {  // small terms first: they are the smallest
            wmma::mma_sync(acc[i][j], a[i][1], b[j][0], acc[i][j]);
            wmma::mma_sync(acc[i][j], a[i][0], b[j][1], acc[i][j]);
          }
          wmma::mma_sync(acc[i][j], a[i][0], b[j][0], acc[i][j]);
        }
    }
    __syncthreads();  // everyone done reading before the next tiles overwrite them
  }
  // Through the warp's scratch, so each lane knows the (i, j) of its values;
  // one epilogue loop, not unrolled: inlined copies of an epilogue with its
  // activation and dropout made ptxas spill.
  float(&scratch)[32][kTf32ScratchLd] = t.scratch[warp];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&scratch[16 * i][16 * j], acc[i][j], kTf32ScratchLd, wmma::mem_row_major);
  __syncwarp();
#pragma unroll 1
  for (int e = lane; e < 32 * 32; e += 32) {
    const int r = e / 32, c = e % 32;
    const int gi = m0 + wm + r, gj = n0 + wn + c;
    if (gi < M && gj < N) epilogue(gi, gj, scratch[r][c]);
  }
  // Bias gradient: as the fp32 kernel, each row of op(A) in K order, unrounded.
  const int i = m0 + static_cast<int>(threadIdx.x);
  if (a_row_sums != nullptr && blockIdx.x == 0 && threadIdx.x < kTf32BlockM && i < M) {
    float sum = 0.0f;
    for (int k = 0; k < K; ++k) sum += kTransA ? A[static_cast<int64_t>(k) * M + i] : A[static_cast<int64_t>(i) * K + k];
    a_row_sums[i] = sum;
  }
}

/// Launches gemm_tf32_kernel for C [M, N] (contract: launch_gemm in
/// cuda/gemm.cuh). Returns the launches made (0 when C is empty).
template <bool kTransA, bool kTransB, class Epilogue>
int launch_gemm_tf32(Tf32Mode mode, int64_t M, int64_t N, int64_t K, const float* A, const float* B,
                     float* a_row_sums, const Epilogue& epilogue, cudaStream_t stream) {
  CUMLP_CHECK(M >= 0 && N >= 0 && K >= 0, "TF32 GEMM with negative size M=", M, " N=", N, " K=", K);
  CUMLP_CHECK(M * K < (int64_t{1} << 31) && N * K < (int64_t{1} << 31) && M * N < (int64_t{1} << 31),
              "TF32 GEMM operands beyond 2^31 elements (M=", M, " N=", N, " K=", K, ")");
  if (M == 0 || N == 0) return 0;
  const int64_t grid_y = (M + kTf32BlockM - 1) / kTf32BlockM;
  CUMLP_CHECK(grid_y <= 65535, "TF32 GEMM with ", M, " rows exceeds the grid (at most ", 65535 * kTf32BlockM, ")");
  const dim3 grid(static_cast<unsigned>((N + kTf32BlockN - 1) / kTf32BlockN), static_cast<unsigned>(grid_y));
  auto* tf32 = &gemm_tf32_kernel<kTransA, kTransB, Tf32Mode::tf32, Epilogue>;  // the launch's name on the simulator
  auto* tf32x3 = &gemm_tf32_kernel<kTransA, kTransB, Tf32Mode::tf32x3, Epilogue>;
  auto* gemm_tf32 = mode == Tf32Mode::tf32x3 ? tf32x3 : tf32;
  CUMLP_LAUNCH(gemm_tf32, grid, dim3(kTf32Threads), 0, stream, static_cast<int>(M), static_cast<int>(N),
               static_cast<int>(K), A, B, a_row_sums, epilogue);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

CUMLP_GPU_NAMESPACE_END
