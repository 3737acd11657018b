// The tensor-core GEMM block: the contract of cuda/gemm.cuh (C = op(A) op(B),
// row-major, kTransA / kTransB, the epilogue functor, the optional fused row
// sums of op(A), any M, N, K) computed with nvcuda::wmma TF32 16x16x8 products
// and fp32 accumulation (sm_80 and later; the simulator runs it through
// cuda/sim/wmma.h). It runs in gemm_group.cuh's kernels, so it has the SIMT
// GEMM's tile rule, split-K (gemm.cuh's fixup: partials summed in split order
// by the tile's last block, an integer counter, no float atomics) and grouped
// launches (a layer's two gradients, every layer's weight gradient).
//
//   Tf32Mode::tf32    each operand rounded once to TF32 (cvt.rna: 10-bit
//                     mantissa, unit roundoff 2^-11).
//   Tf32Mode::tf32x3  each operand split x = big + small, big = tf32(x),
//                     small = tf32(x - big) (x - big is exact in fp32), and
//                     acc += small_a big_b + big_a small_b + big_a big_b: the
//                     dropped small_a small_b is ~2^-22 of the product, so the
//                     result is close to an fp32 GEMM at three times the products.
// The rounding and splitting is done on the fragments in registers (the same
// operation on every element, which CUDA allows), so shared memory holds the
// operands once.
//
// Tiles (gemm_rule.cuh's GemmTile): large 128 x 128 by 8 warps (2 x 4), each
// 64 x 32 = 4 x 2 fragments; medium 64 x 64 by 4 warps, each 2 x 2 fragments;
// small 32 x 32 by 4 warps, one fragment each. K advances in 8-wide tiles (one
// MMA step) through two shared buffers, the next tile fetched into registers
// with float4 global loads (gemm.cuh's load_chunk: scalar where unaligned,
// zero beyond M, N, K) while the current one is multiplied: one barrier per
// tile. Each operand keeps its global layout in shared memory (the matching
// wmma layout, row_major or col_major), padded so that both the staging stores
// and the fragment loads are free of bank conflicts:
//   k contiguous, [outer][8 k], ldm 12 (= 12 mod 32): a fragment's lanes
//     (g, t) = (lane / 4, lane % 4) read g * 12 + t, 32 distinct banks; a warp's
//     float4 stores cover 16 rows of 8 words whose starts step by 4 banks;
//   outer contiguous, [8 k][outer], ldm outer + 8 (= 8 mod 32): lanes read
//     t * ldm + g = 8 t + g, 32 distinct banks; the stores are rows of
//     consecutive words.
// The finished fragments go through a per-warp 16 x 16 scratch (ldm 20, as a
// fragment's element mapping is unspecified), read back as float4 rows for the
// epilogue; with split-K they are stored straight to the workspace instead.
// The order of the additions is fixed by the kernel and the split rule, so
// results do not depend on the schedule.
//
// The row sums of op(A) (the bias gradient) are the fp32 kernel's: each row
// summed in the block's K range in K order from the unrounded values, split
// partials in split order; the tile rule and so the splits are the fp32
// kernel's, so db is the same bits at every precision.
#pragma once

#include <type_traits>

#include "cuda/gemm.cuh"
#include "cuda/wmma.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

enum class Tf32Mode { tf32, tf32x3 };

constexpr int kTf32ScratchLd = 20;  // a warp's 16 x 16 scratch: 20 = 20 mod 32, see above

template <int BO>
constexpr int tf32_tile_floats() {  // one buffer of a [BO, 8] operand tile in either layout
  return BO * (kGemmBK + 4) > kGemmBK * (BO + 8) ? BO * (kGemmBK + 4) : kGemmBK * (BO + 8);
}

template <class Cfg>
struct alignas(32) Tf32Smem {  // 32 bytes: wmma's pointer alignment on the GPU
  union {
    struct {
      float a[2][tf32_tile_floats<Cfg::BM>()];
      float b[2][tf32_tile_floats<Cfg::BN>()];
    } t;
    float scratch[Cfg::kThreads / 32][16 * kTf32ScratchLd];  // after the main loop
  };
};

template <int BM_, int BN_, int kWarpsM_, int kWarpsN_, Tf32Mode kMode_>
struct Tf32Config {
  static constexpr int BM = BM_, BN = BN_, kWarpsM = kWarpsM_, kWarpsN = kWarpsN_;
  static constexpr int kThreads = 32 * kWarpsM * kWarpsN;
  static constexpr int FM = BM / kWarpsM / 16, FN = BN / kWarpsN / 16;  // a warp's fragments
  static constexpr Tf32Mode kMode = kMode_;
  static constexpr bool kTensor = true;
  using Smem = Tf32Smem<Tf32Config>;
  static_assert(FM >= 1 && FN >= 1 && BM % (16 * kWarpsM) == 0 && BN % (16 * kWarpsN) == 0, "whole fragments");
  static_assert(BM <= kThreads, "a thread per row for the row sums");
};
template <Tf32Mode M>
using Tf32Large = Tf32Config<128, 128, 2, 4, M>;
template <Tf32Mode M>
using Tf32Medium = Tf32Config<64, 64, 2, 2, M>;
template <Tf32Mode M>
using Tf32Small = Tf32Config<32, 32, 2, 2, M>;

/// An operand's [BO, 8] tile staged in registers as float4 chunks and stored
/// to shared memory in its global layout (k contiguous when kKInner).
template <bool kKInner, int BO, int kThreads>
struct Tf32Stage {
  static constexpr int kLd = kKInner ? kGemmBK + 4 : BO + 8;
  static constexpr int kChunks = BO * kGemmBK / 4;
  static constexpr int kPerThread = (kChunks + kThreads - 1) / kThreads;
  float4 r[kPerThread] = {};

  // Chunk c: (o, k..k+3) when k-contiguous, (o..o+3, k) otherwise.
  __device__ static int offset(int c, int& o, int& k) {
    if (kKInner) o = c / (kGemmBK / 4), k = (c % (kGemmBK / 4)) * 4;
    else k = c / (BO / 4), o = (c % (BO / 4)) * 4;
    return kKInner ? o * kLd + k : k * kLd + o;
  }
  __device__ void load(const float* src, int outer_size, int K, int o0, int k0, bool vec) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int c = static_cast<int>(threadIdx.x) + i * kThreads;
      int o, k;
      offset(c, o, k);
      if (c < kChunks) r[i] = load_chunk<kKInner>(src, outer_size, K, o0 + o, k0 + k, vec);
    }
  }
  __device__ void store(float* tile) const {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int c = static_cast<int>(threadIdx.x) + i * kThreads;
      int o, k;
      const int at = offset(c, o, k);
      if (c < kChunks) st_float4(tile + at, r[i]);
    }
  }
};

/// A fragment rounded to TF32 (big) and, when splitting, the rest (small).
template <bool kSplit, class Frag>
__device__ void tf32_split(Frag& big, Frag& small) {
#pragma unroll
  for (int e = 0; e < big.num_elements; ++e) {
    const float v = big.x[e];
    big.x[e] = nvcuda::wmma::__float_to_tf32(v);
    if constexpr (kSplit) small.x[e] = nvcuda::wmma::__float_to_tf32(v - big.x[e]);
  }
}

/// Block `b` of problem p: tile b / splits, K range b % splits (gemm.cuh's gemm_block, on tensor cores).
template <class Cfg, bool kTransA, bool kTransB, class Epilogue>
__device__ void gemm_tf32_block(const GemmProblem<kTransA, kTransB, Epilogue>& p, int b, typename Cfg::Smem& s) {
  namespace wmma = nvcuda::wmma;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, FM = Cfg::FM, FN = Cfg::FN, T = Cfg::kThreads;
  constexpr bool kSplit = Cfg::kMode == Tf32Mode::tf32x3;
  using StageA = Tf32Stage<!kTransA, BM, T>;  // op(A) row i: A[i][k], or A[k][i] when transposed
  using StageB = Tf32Stage<kTransB, BN, T>;   // op(B) column j: B[k][j], or B[j][k] when transposed
  using LayoutA = std::conditional_t<kTransA, wmma::col_major, wmma::row_major>;
  using LayoutB = std::conditional_t<kTransB, wmma::col_major, wmma::row_major>;
  using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, LayoutA>;
  using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, LayoutB>;
  using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
  static_assert(sizeof(typename Cfg::Smem) >= kMaxRowThreads * sizeof(float), "finish_tile's scratch");
  const int split = b % p.splits, tile = b / p.splits;
  const int m0 = (tile / p.tiles_n) * BM, n0 = (tile % p.tiles_n) * BN;
  const int kb = split * p.k_per_split, ke = min(p.K, kb + p.k_per_split);
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int wm = (warp / Cfg::kWarpsN) * (16 * FM), wn = (warp % Cfg::kWarpsN) * (16 * FN);
  FragC acc[FM][FN];
#pragma unroll
  for (int i = 0; i < FM; ++i)
#pragma unroll
    for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  StageA sa;
  StageB sb;
  gemm_k_loop(p, sa, sb, m0, n0, kb, ke, [&](int b) { sa.store(s.t.a[b]), sb.store(s.t.b[b]); }, [&](int buf) {
    FragA a[FM][kSplit ? 2 : 1];
    FragB bf[FN][kSplit ? 2 : 1];
#pragma unroll
    for (int i = 0; i < FM; ++i) {
      const int m = wm + 16 * i;
      wmma::load_matrix_sync(a[i][0], s.t.a[buf] + (kTransA ? m : m * StageA::kLd), StageA::kLd);
      tf32_split<kSplit>(a[i][0], a[i][kSplit ? 1 : 0]);
    }
#pragma unroll
    for (int j = 0; j < FN; ++j) {
      const int n = wn + 16 * j;
      wmma::load_matrix_sync(bf[j][0], s.t.b[buf] + (kTransB ? n * StageB::kLd : n), StageB::kLd);
      tf32_split<kSplit>(bf[j][0], bf[j][kSplit ? 1 : 0]);
    }
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j) {
        if constexpr (kSplit) {  // small terms first: they are the smallest
          wmma::mma_sync(acc[i][j], a[i][1], bf[j][0], acc[i][j]);
          wmma::mma_sync(acc[i][j], a[i][0], bf[j][1], acc[i][j]);
        }
        wmma::mma_sync(acc[i][j], a[i][0], bf[j][0], acc[i][j]);
      }
  });
  // Bias gradient: as the fp32 kernel, each row of op(A) over this K range in K order, unrounded.
  const bool sums_rows = p.a_row_sums != nullptr && tile % p.tiles_n == 0;
  float row_sum = 0.0f;
  if (sums_rows && tid < BM && m0 + tid < p.M) {
    const int i = m0 + tid;
    for (int k = kb; k < ke; ++k)
      row_sum += kTransA ? p.A[static_cast<int64_t>(k) * p.M + i] : p.A[static_cast<int64_t>(i) * p.K + k];
    CUMLP_COUNT_FLOPS(ke - kb);
  }
  const int tiles_m = p.tiles / p.tiles_n;
  float* const parts = p.splits > 1 ? p.partials + static_cast<int64_t>(tile) * p.splits * (BM * BN) : nullptr;
  if (p.splits > 1) {  // this block's partial tile, straight from the fragments
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j)
        wmma::store_matrix_sync(parts + split * (BM * BN) + (wm + 16 * i) * BN + wn + 16 * j, acc[i][j], BN,
                                wmma::mem_row_major);
    if (sums_rows && tid < BM) p.row_partials[static_cast<int64_t>(split) * tiles_m * BM + m0 + tid] = row_sum;
    if (!gemm_split_last(p, tile)) return;
  }
  // The epilogue, a fragment at a time: lane l takes row l / 4 (+ 8) and
  // columns 4 (l % 4) .. + 3, from the scratch or the partials in split order.
  // Not unrolled: inlined copies of an epilogue with its activation and
  // dropout made ptxas spill.
  float* const scratch = s.scratch[warp];
#pragma unroll 1
  for (int f = 0; f < FM * FN; ++f) {
    const int fi = f / FN, fj = f % FN, r0 = wm + 16 * fi, c0 = wn + 16 * fj;
    if (p.splits == 1) {
      FragC out;  // acc[fi][fj], selected without a dynamic index into the fragments
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j)
          if (i == fi && j == fj) out = acc[i][j];
      __syncwarp();  // the warp's reads of the previous fragment are done
      wmma::store_matrix_sync(scratch, out, kTf32ScratchLd, wmma::mem_row_major);
      __syncwarp();
    }
#pragma unroll 1
    for (int h = 0; h < 2; ++h) {
      const int r = lane / 4 + 8 * h, c = 4 * (lane % 4);
      float v[4];
      if (p.splits > 1) {
        gemm_split_sum4(parts, p.splits, BM * BN, (r0 + r) * BN + c0 + c, v);
      } else {
        const float4 t = ld_float4(scratch + r * kTf32ScratchLd + c);
        v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
      }
      const int i = m0 + r0 + r, j0 = n0 + c0 + c;
      if (i >= p.M) continue;
      if (p.epilogue.vec4 && j0 + 3 < p.N) {
        p.epilogue.four(i, j0, v);
      } else {
        for (int e = 0; e < 4; ++e)
          if (j0 + e < p.N) p.epilogue(i, j0 + e, v[e]);
      }
    }
  }
  if (sums_rows && tid < BM) gemm_row_sum_out(p, tiles_m * BM, m0 + tid, row_sum);
  if constexpr (FinishesTile<Epilogue>::value) p.epilogue.finish_tile(m0, BM, p.tiles, reinterpret_cast<float*>(&s));
}

CUMLP_GPU_NAMESPACE_END
