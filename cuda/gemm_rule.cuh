// The tile rule of the GEMM (gemm.cuh): which block tile and how many K
// splits a product C [M, N] = op(A) [M, K] op(B) [K, N] gets, and the split-K
// workspace the cuda backend owns. Host code; the numbers are for an H100
// (132 SMs), the GPU the kernels are shaped for.
//
//   tile:   large  128 x 128, 8 x 8 per thread (256 threads)  when it still gives
//                  >= 132 tiles (every SM busy): big batches;
//           medium  64 x 64,  4 x 4 per thread (256 threads)  when M and N are
//                  both > 32;
//           small   32 x 32,  4 x 4 per thread (64 threads)   otherwise: the narrow
//                  layers (widths <= 32: models C and D, the 10-class outputs).
//   splits: with fewer than 132 tiles, K is split into S = min(ceil(132 /
//           tiles), K / 32) ranges, each a multiple of the 8-wide K tile (so a
//           split never starts inside a float4), S recomputed so none is
//           empty; with >= 132 tiles, or K < 64, S = 1. So S x tiles stays
//           below 2 x 132 and a split does at least 32 K steps.
//
// Examples (batch 100 / 256): model A's first forward product, 100 x 100 x
// 784, is medium 2 x 2 tiles x 20 splits = 80 blocks; model B's first,
// 256 x 500 x 784, medium 32 tiles x 5 = 160 blocks; B's first weight
// gradient, 500 x 784 x 256 (K = batch), medium 104 tiles x 2 = 208 blocks; a
// 10-wide output layer, small tiles. With the split partials summed in a
// fixed order, the tiling changes speed, never the bits for a given shape.
//
// The tensor-core block (gemm_tf32.cuh, --precision tf32|tf32x3) takes the
// same rule and splits with its own warp layout per tile: large 8 warps of
// 64 x 32 (4 x 2 fragments of 16 x 16), medium 4 warps of 32 x 32 (2 x 2),
// small 4 warps of 16 x 16 (1 x 1); so a shape has the same tiles, splits
// and blocks at every precision.
#pragma once

#include <cstdint>

#include "cuda/common.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

constexpr int kGemmBK = 8;                 // K tile
constexpr int kGemmTargetBlocks = 132;     // H100 SXM SMs
constexpr int kGemmMinKPerSplit = 32;      // K steps a split does at least
constexpr int kGemmSplitBlockCap = 2 * kGemmTargetBlocks;  // S x tiles < this whenever S > 1
constexpr int kGemmMaxSplitTile = 64 * 64;                 // the large tile never splits
constexpr int kGemmCountersPerSlot = kGemmTargetBlocks;   // tiles < 132 whenever S > 1
/// Per problem of a launch (a grouped launch has two): the partial tiles, then the row-sum partials.
constexpr int64_t kGemmWorkspaceFloatsPerSlot = int64_t{kGemmSplitBlockCap} * (kGemmMaxSplitTile + 64);
constexpr int kGemmWorkspaceSlots = 2;
/// The most problems one grouped launch takes (gemm_group_kernel).
constexpr int kGemmGroupMax = 8;

/// The split-K scratch: kGemmWorkspaceSlots x kGemmWorkspaceFloatsPerSlot floats
/// and as many x kGemmCountersPerSlot counters, zeroed once (the counters
/// return to zero after each launch).
struct GemmWorkspace {
  float* data = nullptr;
  unsigned* counters = nullptr;
};

enum class GemmTile { small, medium, large };  // ordered by size

inline int64_t gemm_tiles(int64_t M, int64_t N, int bm, int bn) { return ((M + bm - 1) / bm) * ((N + bn - 1) / bn); }

inline GemmTile gemm_tile(int64_t M, int64_t N) {
  if (gemm_tiles(M, N, 128, 128) >= kGemmTargetBlocks) return GemmTile::large;
  if (M > 32 && N > 32) return GemmTile::medium;
  return GemmTile::small;
}

struct GemmSplit {
  int splits = 1;
  int k_per_split = 0;  // a multiple of kGemmBK covering K in `splits` ranges
};

inline GemmSplit gemm_split(int64_t M, int64_t N, int64_t K, int bm, int bn) {
  const int64_t tiles = gemm_tiles(M, N, bm, bn);
  int64_t s = 1;
  if (tiles > 0 && tiles < kGemmTargetBlocks && K >= 2 * kGemmMinKPerSplit && bm * bn <= kGemmMaxSplitTile) {
    s = (kGemmTargetBlocks + tiles - 1) / tiles;
    if (K / kGemmMinKPerSplit < s) s = K / kGemmMinKPerSplit;
  }
  GemmSplit sp;
  const int64_t per = (K + s - 1) / s;
  sp.k_per_split = static_cast<int>((per + kGemmBK - 1) / kGemmBK * kGemmBK);
  sp.splits = sp.k_per_split > 0 ? static_cast<int>((K + sp.k_per_split - 1) / sp.k_per_split) : 1;
  return sp;
}

CUMLP_GPU_NAMESPACE_END
