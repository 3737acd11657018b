// The project's register-tiled GEMM, one template for every product the
// Linear layer needs, with the epilogue as a functor so bias, activation,
// dropout and activation derivatives are applied while the result is still in
// registers (four outputs at a time with float4 stores where the epilogue's
// `vec4` says its rows allow; its operator() one at a time elsewhere):
//
//   C [M, N] = op(A) op(B),  op(A) [M, K], op(B) [K, N], row-major storage;
//   kTransA: A is stored [K, M];  kTransB: B is stored [N, K].
//
// A block computes a BM x BN tile of C; each thread owns TM x TN outputs in
// groups of 4 x 4 (rows g * BM/(TM/4) + 4 ty + r, columns likewise), so a k
// step costs TM/4 + TN/4 float4 shared loads for TM x TN FMAs (0.0625 shared
// loads per FMA at 8 x 8, 0.125 at 4 x 4). K advances in 8-wide tiles through
// two shared buffers: the next tile is fetched into registers (float4 global
// loads where the operand is 16-byte aligned with a leading dimension % 4 ==
// 0, bounds-checked scalar loads where not, zero beyond M, N, K) while the
// current one is multiplied, then stored to the other buffer: one barrier per
// tile. The shared rows are BM + 4 floats (4 mod 32 words), which keeps the
// transposed stores of k-contiguous operands and the float4 reads free of
// bank conflicts. Each thread sums its K terms in order: the result does not
// depend on the schedule.
//
// Split-K (GemmProblem::splits > 1): block (tile, split) sums K range
// [split * k_per_split, ...) and writes its partial tile to a workspace; the
// last block of a tile to finish (an integer counter per tile, after a
// __threadfence; it resets the counter for the next launch) adds the partials
// in split order 0..S-1 and runs the epilogue. No block waits for another,
// and the sum's order is fixed: the same bits on every run and schedule.
//
// Optional fused row sums of op(A) (a_row_sums): the blocks of C's first tile
// column also add up every row of op(A) as its tiles pass through shared
// memory, in K order, split partials in split order (the bias gradient db =
// column sums of dz rides on the weight-gradient GEMM, without atomics).
//
// The kernels and launchers (one problem, a pair: a layer's input and weight
// gradients in one kernel, a group) are in gemm_group.cuh, shared with the
// tensor-core block of gemm_tf32.cuh, which uses the split-K fixup and row sums
// below. The tile rule choosing the tile and split count is gemm_rule.cuh.
#pragma once

#include <type_traits>

#include "cuda/gemm_rule.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

/// An epilogue with a last step per tile declares `using finishes_tile =
/// void;` and `finish_tile(m0, bm, tiles, smem)`: the block that ran the tile's
/// epilogue (with split-K, the tile's last split block) calls it with every
/// thread after its outputs are written (m0, bm: the tile's rows; tiles: the
/// launch's tiles of this problem; smem: the block's shared memory, free by
/// then, at least kMaxRowThreads floats). cuda/linear.cu's loss epilogue is one.
template <class E, class = void>
struct FinishesTile : std::false_type {};
template <class E>
struct FinishesTile<E, std::void_t<typename E::finishes_tile>> : std::true_type {};

template <class Cfg>
struct GemmSmem;

/// The tile configurations (gemm_rule.cuh says which shape takes which).
template <int BM_, int BN_, int TM_, int TN_>
struct GemmConfig {
  static constexpr int BM = BM_, BN = BN_, TM = TM_, TN = TN_;
  static constexpr int kThreadsX = BN / TN, kThreadsY = BM / TM, kThreads = kThreadsX * kThreadsY;
  static constexpr bool kTensor = false;  // the SIMT block (gemm_block); gemm_tf32.cuh's configs say true
  using Smem = GemmSmem<GemmConfig>;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && kThreadsX <= 32, "4 x 4 output groups, a row of threads in a warp");
};
using GemmLarge = GemmConfig<128, 128, 8, 8>;  // 256 threads
using GemmMedium = GemmConfig<64, 64, 4, 4>;   // 256 threads
using GemmSmall = GemmConfig<32, 32, 4, 4>;    // 64 threads

/// One product and its epilogue; the launch fills in the tiling and workspace.
template <bool kTransA, bool kTransB, class Epilogue>
struct GemmProblem {
  int M = 0, N = 0, K = 0;
  const float* A = nullptr;
  const float* B = nullptr;
  float* a_row_sums = nullptr;  // null: no row sums
  Epilogue epilogue{};
  bool vec_a = false, vec_b = false;  // float4 global loads allowed (set by make_gemm_problem)
  int tiles_n = 0, tiles = 0, splits = 1, k_per_split = 0;
  float* partials = nullptr;      // [tiles][splits][BM * BN] when splits > 1
  float* row_partials = nullptr;  // [splits][tiles_m * BM] when splits > 1 and a_row_sums
  unsigned* counters = nullptr;   // [tiles], zero between launches
};

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <bool kTransA, bool kTransB, class Epilogue>
GemmProblem<kTransA, kTransB, Epilogue> make_gemm_problem(int64_t M, int64_t N, int64_t K, const float* A,
                                                          const float* B, float* a_row_sums, const Epilogue& ep) {
  CUMLP_CHECK(M >= 0 && N >= 0 && K >= 0, "GEMM with negative size M=", M, " N=", N, " K=", K);
  CUMLP_CHECK(M * K < (int64_t{1} << 31) && N * K < (int64_t{1} << 31) && M * N < (int64_t{1} << 31),
              "GEMM operands beyond 2^31 elements (M=", M, " N=", N, " K=", K, ")");
  GemmProblem<kTransA, kTransB, Epilogue> p;
  p.M = static_cast<int>(M);
  p.N = static_cast<int>(N);
  p.K = static_cast<int>(K);
  p.A = A;
  p.B = B;
  p.a_row_sums = a_row_sums;
  p.epilogue = ep;
  p.vec_a = aligned16(A) && (kTransA ? M : K) % 4 == 0;  // the leading dimension keeps rows 16-byte aligned
  p.vec_b = aligned16(B) && (kTransB ? K : N) % 4 == 0;
  return p;
}

/// Per block: the two buffers of the A and B tiles, [buffer][k][outer].
template <class Cfg>
struct alignas(16) GemmSmem {
  float a[2][kGemmBK][Cfg::BM + 4];
  float b[2][kGemmBK][Cfg::BN + 4];
};

/// Four consecutive elements along the contiguous dimension of a logical
/// [outer, K] operand, from (o, k): stored k-contiguous (kKInner, src[o*K + k])
/// or outer-contiguous (src[k*outer_size + o]). Zero beyond outer_size and K.
template <bool kKInner>
__device__ float4 load_chunk(const float* __restrict__ src, int outer_size, int K, int o, int k, bool vec) {
  const int fast = kKInner ? k : o, fast_size = kKInner ? K : outer_size;
  const int slow = kKInner ? o : k, slow_size = kKInner ? outer_size : K;
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (slow >= slow_size) return v;
  const float* p = src + static_cast<int64_t>(slow) * fast_size + fast;
  if (vec && fast + 3 < fast_size) return ld_float4(p);
  if (fast < fast_size) v.x = p[0];
  if (fast + 1 < fast_size) v.y = p[1];
  if (fast + 2 < fast_size) v.z = p[2];
  if (fast + 3 < fast_size) v.w = p[3];
  return v;
}

/// A BO x kGemmBK tile of one operand staged in registers, float4 chunks
/// spread over the block's threads; consecutive threads read consecutive
/// addresses in both storage layouts.
template <bool kKInner, int BO, int kThreads>
struct TileStage {
  static constexpr int kChunks = BO * kGemmBK / 4;
  static constexpr int kPerThread = (kChunks + kThreads - 1) / kThreads;
  float4 r[kPerThread] = {};  // zeroed: g++ (the simulator build) cannot see every chunk is loaded before stored

  // Chunk c covers (o, k..k+3) when k-contiguous, (o..o+3, k) otherwise.
  __device__ static void place(int c, int& o, int& k) {
    if (kKInner) {
      o = c / (kGemmBK / 4);
      k = (c % (kGemmBK / 4)) * 4;
    } else {
      k = c / (BO / 4);
      o = (c % (BO / 4)) * 4;
    }
  }
  // f(i, o, k) for each chunk i of this thread.
  template <class F>
  __device__ static void each(F f) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int c = static_cast<int>(threadIdx.x) + i * kThreads;
      if (c >= kChunks) break;
      int o, k;
      place(c, o, k);
      f(i, o, k);
    }
  }
  __device__ void load(const float* src, int outer_size, int K, int o0, int k0, bool vec) {
    each([&](int i, int o, int k) { r[i] = load_chunk<kKInner>(src, outer_size, K, o0 + o, k0 + k, vec); });
  }
  __device__ void store(float (&tile)[kGemmBK][BO + 4]) const {
    each([&](int i, int o, int k) {
      if (kKInner) {  // transposed: four scalar stores down a column
        tile[k][o] = r[i].x;
        tile[k + 1][o] = r[i].y;
        tile[k + 2][o] = r[i].z;
        tile[k + 3][o] = r[i].w;
      } else {
        st_float4(&tile[k][o], r[i]);
      }
    });
  }
};

/// Reads memory another block wrote (split-K partials) past the L1 cache.
__device__ inline float load_coherent(const float* p) { return *static_cast<const volatile float*>(p); }

// Split-K's deterministic fixup, shared by the SIMT and the tensor-core blocks.

/// Called by every thread of a block after it wrote its partials of `tile`:
/// counts the block in (an integer counter per tile) and returns true in the
/// tile's last block to finish, which resets the counter for the next launch
/// and then adds the partials in split order. No block waits for another.
template <class P>
__device__ bool gemm_split_last(const P& p, int tile) {
  __threadfence();  // this thread's partials are visible before the block counts itself done
  __syncthreads();
  const int last = __syncthreads_or(threadIdx.x == 0 &&
                                    atomicAdd(&p.counters[tile], 1u) == static_cast<unsigned>(p.splits - 1));
  if (!last) return false;
  __threadfence();  // every other block's partials are visible from here
  if (threadIdx.x == 0) p.counters[tile] = 0;  // ready for the next launch
  return true;
}

/// v = the sum of the tile's split partials at `at` .. at + 3, in split order
/// 0..splits-1 (parts: the tile's [splits][tile_size] partials).
__device__ inline void gemm_split_sum4(const float* parts, int splits, int tile_size, int at, float (&v)[4]) {
  v[0] = v[1] = v[2] = v[3] = 0.0f;
  for (int q = 0; q < splits; ++q) {
    const float4 t = ld_float4_cg(&parts[q * tile_size + at]);
    v[0] += t.x, v[1] += t.y, v[2] += t.z, v[3] += t.w;
  }
  CUMLP_COUNT_FLOPS(4 * splits);
}

/// Row `row` of op(A)'s sum (row < p.M skipped otherwise): this block's
/// row_sum, or with split-K the split partials (stride `rows`) in split order.
template <class P>
__device__ void gemm_row_sum_out(const P& p, int rows, int row, float row_sum) {
  if (row >= p.M) return;
  float v = row_sum;
  if (p.splits > 1) {
    v = 0.0f;
    for (int q = 0; q < p.splits; ++q) v += load_coherent(&p.row_partials[static_cast<int64_t>(q) * rows + row]);
    CUMLP_COUNT_FLOPS(p.splits);
  }
  p.a_row_sums[row] = v;
}

/// The K loop of a block, shared by the SIMT and the tensor-core blocks: the
/// 8-wide tiles of [kb, ke) pass through two shared buffers, the next one
/// fetched into registers (sa, sb: the operands' register stages) while
/// step(buf) multiplies the current one, then written by store(other buf):
/// one barrier per tile.
template <class P, class SA, class SB, class Store, class Step>
__device__ void gemm_k_loop(const P& p, SA& sa, SB& sb, int m0, int n0, int kb, int ke, Store store, Step step) {
  if (kb < ke) {
    sa.load(p.A, p.M, p.K, m0, kb, p.vec_a);
    sb.load(p.B, p.N, p.K, n0, kb, p.vec_b);
    store(0);
  }
  __syncthreads();  // the first tiles complete before anyone reads them
  int buf = 0;
  for (int k0 = kb; k0 < ke; k0 += kGemmBK) {
    const bool more = k0 + kGemmBK < ke;
    if (more) {  // the next tiles into registers while this one is multiplied
      sa.load(p.A, p.M, p.K, m0, k0 + kGemmBK, p.vec_a);
      sb.load(p.B, p.N, p.K, n0, k0 + kGemmBK, p.vec_b);
    }
    step(buf);
    if (more) store(buf ^ 1);  // the other buffer's readers finished before the last barrier
    __syncthreads();
    buf ^= 1;
  }
}

/// Block `b` of problem p: tile b / splits, K range b % splits.
template <class Cfg, bool kTransA, bool kTransB, class Epilogue>
__device__ void gemm_block(const GemmProblem<kTransA, kTransB, Epilogue>& p, int b, GemmSmem<Cfg>& s) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, TM = Cfg::TM, TN = Cfg::TN, T = Cfg::kThreads;
  constexpr int kRowStride = BM * 4 / TM, kColStride = BN * 4 / TN;  // between a thread's 4 x 4 groups
  const int split = b % p.splits, tile = b / p.splits;
  const int tm = tile / p.tiles_n, tn = tile % p.tiles_n;
  const int m0 = tm * BM, n0 = tn * BN;
  const int kb = split * p.k_per_split, ke = min(p.K, kb + p.k_per_split);
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % Cfg::kThreadsX, ty = tid / Cfg::kThreadsX;
  // Uniform per block: only tiles of C's first column sum rows, one thread per row.
  const bool sums_rows = p.a_row_sums != nullptr && tn == 0;
  float row_sum = 0.0f;
  float acc[TM][TN] = {};
  TileStage<!kTransA, BM, T> sa;  // op(A) row i: A[i][k], or A[k][i] when transposed
  TileStage<kTransB, BN, T> sb;   // op(B) column j: B[k][j], or B[j][k] when transposed
  gemm_k_loop(p, sa, sb, m0, n0, kb, ke, [&](int b) { sa.store(s.a[b]), sb.store(s.b[b]); }, [&](int buf) {
#pragma unroll
    for (int k = 0; k < kGemmBK; ++k) {
      float a[TM], bv[TN];
#pragma unroll
      for (int g = 0; g < TM / 4; ++g) {
        const float4 v = ld_float4(&s.a[buf][k][g * kRowStride + ty * 4]);
        a[4 * g] = v.x, a[4 * g + 1] = v.y, a[4 * g + 2] = v.z, a[4 * g + 3] = v.w;
      }
#pragma unroll
      for (int g = 0; g < TN / 4; ++g) {
        const float4 v = ld_float4(&s.b[buf][k][g * kColStride + tx * 4]);
        bv[4 * g] = v.x, bv[4 * g + 1] = v.y, bv[4 * g + 2] = v.z, bv[4 * g + 3] = v.w;
      }
#pragma unroll
      for (int r = 0; r < TM; ++r)
#pragma unroll
        for (int c = 0; c < TN; ++c) acc[r][c] += a[r] * bv[c];
      CUMLP_COUNT_FMA(TM * TN);
    }
    if (sums_rows && tid < BM) {
      for (int k = 0; k < kGemmBK; ++k) row_sum += s.a[buf][k][tid];  // zero-filled beyond K
      CUMLP_COUNT_FLOPS(kGemmBK);
    }
  });
  const auto row_of = [&](int r) { return (r / 4) * kRowStride + ty * 4 + r % 4; };
  const auto col_of = [&](int c) { return (c / 4) * kColStride + tx * 4 + c % 4; };
  const int tiles_m = p.tiles / p.tiles_n;
  float* const parts = p.splits > 1 ? p.partials + static_cast<int64_t>(tile) * p.splits * (BM * BN) : nullptr;
  if (p.splits > 1) {
    // Split-K: this block's partial tile; the last block of the tile to finish adds them up.
    float* const part = parts + split * (BM * BN);
#pragma unroll
    for (int r = 0; r < TM; ++r)
#pragma unroll
      for (int c = 0; c < TN; c += 4)
        st_float4(&part[row_of(r) * BN + col_of(c)], make_float4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]));
    if (sums_rows && tid < BM) p.row_partials[static_cast<int64_t>(split) * tiles_m * BM + m0 + tid] = row_sum;
    if (!gemm_split_last(p, tile)) return;
  }
  // The epilogue, on the accumulators or on the partials summed in split order.
#pragma unroll
  for (int r = 0; r < TM; ++r)
#pragma unroll
    for (int c0 = 0; c0 < TN; c0 += 4) {
      float v[4] = {acc[r][c0], acc[r][c0 + 1], acc[r][c0 + 2], acc[r][c0 + 3]};
      if (p.splits > 1) gemm_split_sum4(parts, p.splits, BM * BN, row_of(r) * BN + col_of(c0), v);
      const int i = m0 + row_of(r), j0 = n0 + col_of(c0);
      if (i >= p.M) continue;
      if (p.epilogue.vec4 && j0 + 3 < p.N) {
        p.epilogue.four(i, j0, v);
      } else {
#pragma unroll
        for (int c = 0; c < 4; ++c)
          if (j0 + c < p.N) p.epilogue(i, j0 + c, v[c]);
      }
    }
  if (sums_rows && tid < BM) gemm_row_sum_out(p, tiles_m * BM, m0 + tid, row_sum);
  if constexpr (FinishesTile<Epilogue>::value) {
    static_assert(sizeof(GemmSmem<Cfg>) >= kMaxRowThreads * sizeof(float), "the tile's last step needs the scratch");
    p.epilogue.finish_tile(m0, BM, p.tiles, reinterpret_cast<float*>(&s));
  }
}

CUMLP_GPU_NAMESPACE_END
