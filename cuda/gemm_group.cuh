// The GEMM's kernels and launchers: one problem (gemm_kernel), two in one
// launch (gemm_pair_kernel: a layer's input and weight gradients), up to
// kGemmGroupMax of one type (gemm_group_kernel: the weight gradients of every
// layer). blockIdx ranges pick the problem; each block runs the block function
// of its configuration, Cfg::kTensor picking the SIMT block (gemm.cuh) or the
// tensor-core block (gemm_tf32.cuh), so both share the tiling, the split-K
// workspace and fixup and the grouping. A launcher's Tiles names the
// configuration of each GemmTile of the tile rule (gemm_rule.cuh):
// SimtTiles (fp32, the default) or Tf32Tiles<mode>.
#pragma once

#include "cuda/gemm.cuh"
#include "cuda/gemm_tf32.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

struct SimtTiles {
  template <GemmTile T>
  using Cfg = std::conditional_t<T == GemmTile::large, GemmLarge,
                                 std::conditional_t<T == GemmTile::medium, GemmMedium, GemmSmall>>;
};
template <Tf32Mode kMode>
struct Tf32Tiles {
  template <GemmTile T>
  using Cfg = std::conditional_t<T == GemmTile::large, Tf32Large<kMode>,
                                 std::conditional_t<T == GemmTile::medium, Tf32Medium<kMode>, Tf32Small<kMode>>>;
};

/// Block `b` of problem p with Cfg's block function.
template <class Cfg, class P>
__device__ void gemm_run(const P& p, int b, typename Cfg::Smem& s) {
  if constexpr (Cfg::kTensor) gemm_tf32_block<Cfg>(p, b, s);
  else gemm_block<Cfg>(p, b, s);
}

// One resident block per SM is enough (the tile rule aims at a block per SM):
// ptxas may then give the 8 x 8 tile the registers it needs without spilling.
template <class Cfg, class P>
__global__ void __launch_bounds__(Cfg::kThreads, 1) gemm_kernel(P p) {
  CUMLP_SHARED(typename Cfg::Smem, smem, [1]);
  gemm_run<Cfg>(p, static_cast<int>(blockIdx.x), smem[0]);
}

/// Two problems in one launch: blocks [0, blocks of p0) run p0, the rest p1.
template <class Cfg, class P0, class P1>
__global__ void __launch_bounds__(Cfg::kThreads, 1) gemm_pair_kernel(P0 p0, P1 p1) {
  CUMLP_SHARED(typename Cfg::Smem, smem, [1]);
  const int b = static_cast<int>(blockIdx.x), blocks0 = p0.tiles * p0.splits;
  if (b < blocks0) gemm_run<Cfg>(p0, b, smem[0]);
  else gemm_run<Cfg>(p1, b - blocks0, smem[0]);
}

/// Up to kGemmGroupMax problems of one type in one launch: blocks
/// [first[i], first[i + 1]) run problem i.
template <class P>
struct GemmGroup {
  P p[kGemmGroupMax];
  int first[kGemmGroupMax + 1] = {};
  int count = 0;
};

template <class Cfg, class P>
__global__ void __launch_bounds__(Cfg::kThreads, 1) gemm_group_kernel(GemmGroup<P> g) {
  CUMLP_SHARED(typename Cfg::Smem, smem, [1]);
  const int b = static_cast<int>(blockIdx.x);
  int i = 0;
  while (i + 1 < g.count && b >= g.first[i + 1]) ++i;
  gemm_run<Cfg>(g.p[i], b - g.first[i], smem[0]);
}

/// Fills in p's tiling for Cfg and its share of the workspace (slot `slot`
/// of a launch; past kGemmWorkspaceSlots, no split). Returns its blocks.
template <class Cfg, class P>
int64_t bind_gemm(P& p, const GemmWorkspace& ws, int slot) {
  // A problem past the workspace's slots (a group of more than two) runs unsplit.
  const GemmSplit sp = slot < kGemmWorkspaceSlots ? gemm_split(p.M, p.N, p.K, Cfg::BM, Cfg::BN)
                                                  : GemmSplit{1, (p.K + kGemmBK - 1) / kGemmBK * kGemmBK};
  p.tiles_n = (p.N + Cfg::BN - 1) / Cfg::BN;
  p.tiles = ((p.M + Cfg::BM - 1) / Cfg::BM) * p.tiles_n;
  p.splits = sp.splits;
  p.k_per_split = sp.k_per_split;
  if (p.splits > 1) {
    CUMLP_CHECK(ws.data && ws.counters, "GEMM M=", p.M, " N=", p.N, " K=", p.K, " splits K but has no workspace");
    CUMLP_CHECK(int64_t{p.tiles} * p.splits <= kGemmSplitBlockCap && p.tiles <= kGemmCountersPerSlot &&
                    Cfg::BM * Cfg::BN <= kGemmMaxSplitTile,
                "GEMM split beyond its workspace");
    p.partials = ws.data + slot * kGemmWorkspaceFloatsPerSlot;
    p.row_partials = p.partials + kGemmSplitBlockCap * kGemmMaxSplitTile;
    p.counters = ws.counters + slot * kGemmCountersPerSlot;
  }
  return int64_t{p.tiles} * p.splits;
}

/// Launches `kernel` over `blocks` blocks of Cfg, named gemm (SIMT) or
/// gemm_tf32 (tensor cores) on the simulator.
template <class Cfg, class Kernel, class... Args>
void launch_gemm_kernel(Kernel* kernel, int64_t blocks, cudaStream_t stream, const Args&... args) {
  CUMLP_CHECK(blocks <= 0x7fffffff, "GEMM grid of ", blocks, " blocks");
  const dim3 grid(static_cast<unsigned>(blocks));
  if constexpr (Cfg::kTensor) {
    auto* gemm_tf32 = kernel;
    CUMLP_LAUNCH(gemm_tf32, grid, dim3(Cfg::kThreads), 0, stream, args...);
  } else {
    auto* gemm = kernel;
    CUMLP_LAUNCH(gemm, grid, dim3(Cfg::kThreads), 0, stream, args...);
  }
  CUMLP_CUDA_CHECK(cudaGetLastError());
}

template <class Cfg, class P>
int launch_gemm_as(P p, const GemmWorkspace& ws, cudaStream_t stream) {
  const int64_t blocks = bind_gemm<Cfg>(p, ws, 0);
  launch_gemm_kernel<Cfg>(&gemm_kernel<Cfg, P>, blocks, stream, p);
  return 1;
}

/// Launches p with the tile and split of the tile rule. Returns the launches
/// made (0 when C is empty).
template <class Tiles = SimtTiles, class P>
int launch_gemm(const P& p, const GemmWorkspace& ws, cudaStream_t stream) {
  if (p.M == 0 || p.N == 0) return 0;
  switch (gemm_tile(p.M, p.N)) {
    case GemmTile::large: return launch_gemm_as<typename Tiles::template Cfg<GemmTile::large>>(p, ws, stream);
    case GemmTile::medium: return launch_gemm_as<typename Tiles::template Cfg<GemmTile::medium>>(p, ws, stream);
    default: return launch_gemm_as<typename Tiles::template Cfg<GemmTile::small>>(p, ws, stream);
  }
}

template <class Cfg, class P0, class P1>
int launch_gemm_pair_as(P0 p0, P1 p1, const GemmWorkspace& ws, cudaStream_t stream) {
  const int64_t blocks = bind_gemm<Cfg>(p0, ws, 0) + bind_gemm<Cfg>(p1, ws, 1);
  launch_gemm_kernel<Cfg>(&gemm_pair_kernel<Cfg, P0, P1>, blocks, stream, p0, p1);
  return 1;
}

/// Both products in one launch, each tiled and split by the rule for the
/// smaller of the two tiles the rule picks (one block size serves both).
/// An empty product adds no blocks; returns 0 when both are empty.
template <class Tiles = SimtTiles, class P0, class P1>
int launch_gemm_pair(P0 p0, P1 p1, const GemmWorkspace& ws, cudaStream_t stream) {
  const bool has0 = p0.M > 0 && p0.N > 0, has1 = p1.M > 0 && p1.N > 0;
  if (!has0 && !has1) return 0;
  const GemmTile t0 = has0 ? gemm_tile(p0.M, p0.N) : GemmTile::large;
  const GemmTile t1 = has1 ? gemm_tile(p1.M, p1.N) : GemmTile::large;
  if (!has0) p0.M = p0.N = 0;  // no tiles
  if (!has1) p1.M = p1.N = 0;
  switch (t0 < t1 ? t0 : t1) {
    case GemmTile::large:
      return launch_gemm_pair_as<typename Tiles::template Cfg<GemmTile::large>>(p0, p1, ws, stream);
    case GemmTile::medium:
      return launch_gemm_pair_as<typename Tiles::template Cfg<GemmTile::medium>>(p0, p1, ws, stream);
    default: return launch_gemm_pair_as<typename Tiles::template Cfg<GemmTile::small>>(p0, p1, ws, stream);
  }
}

template <class Cfg, class P>
int launch_gemm_group_as(GemmGroup<P> g, const GemmWorkspace& ws, cudaStream_t stream) {
  int64_t blocks = 0;
  for (int i = 0; i < g.count; ++i) {
    g.first[i] = static_cast<int>(blocks);
    blocks += bind_gemm<Cfg>(g.p[i], ws, i);
    CUMLP_CHECK(blocks <= 0x7fffffff, "GEMM grid of ", blocks, " blocks");
  }
  g.first[g.count] = static_cast<int>(blocks);
  launch_gemm_kernel<Cfg>(&gemm_group_kernel<Cfg, P>, blocks, stream, g);
  return 1;
}

/// The problems of `g` in one launch, tiled by the rule for the smallest tile
/// any of them gets (one block size serves all); the first kGemmWorkspaceSlots
/// problems split K by the rule, the others do not. Empty problems add no
/// blocks; returns 0 when all are empty.
template <class Tiles = SimtTiles, class P>
int launch_gemm_group(GemmGroup<P> g, const GemmWorkspace& ws, cudaStream_t stream) {
  CUMLP_CHECK(g.count >= 0 && g.count <= kGemmGroupMax, "GEMM group of ", g.count, " problems");
  GemmTile tile = GemmTile::large;
  bool any = false;
  for (int i = 0; i < g.count; ++i) {
    if (g.p[i].M == 0 || g.p[i].N == 0) {
      g.p[i].M = g.p[i].N = 0;  // no tiles
      continue;
    }
    any = true;
    const GemmTile t = gemm_tile(g.p[i].M, g.p[i].N);
    if (t < tile) tile = t;
  }
  if (!any) return 0;
  switch (tile) {
    case GemmTile::large: return launch_gemm_group_as<typename Tiles::template Cfg<GemmTile::large>>(g, ws, stream);
    case GemmTile::medium: return launch_gemm_group_as<typename Tiles::template Cfg<GemmTile::medium>>(g, ws, stream);
    default: return launch_gemm_group_as<typename Tiles::template Cfg<GemmTile::small>>(g, ws, stream);
  }
}

CUMLP_GPU_NAMESPACE_END
