// The fused training step of a narrow network (every layer after the input at
// most kNarrowMaxWidth wide): one kernel for the forward through every layer,
// the loss and every layer's dz, then every layer's weight and bias gradients
// in one grouped GEMM launch (cuda/gemm.cuh). fp32; see cuda/narrow.cu.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/gemm_rule.cuh"
#include "cuda/loss.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

constexpr int kNarrowRows = 8;                // batch rows per block (two float4 of them per shared load)
constexpr int kNarrowKT = 32;                 // K tile of the forward products
constexpr int kNarrowMinKTilesPerSplit = 2;   // a split of the first layer's K does at least 64 K steps

/// How the fused kernel splits the first layer's K (the input width, e.g.
/// 784) over blockIdx.y when the batch gives few row tiles (kNarrowRows rows
/// each): S = min(132 / tiles, K tiles / 2) ranges of whole 32-wide K tiles,
/// S recomputed so none is empty; so the grid stays within the H100's 132 SMs
/// and a split does >= 64 K steps. No split (S = 1) from 67 row tiles (batch
/// 529) up, or for K <= 96 (fewer than 4 K tiles). Model A at batch 100: 13 tiles x 9 splits of 96
/// (the last 16). The partials are summed in split order: the split changes
/// speed, never the bits for a given batch and shape.
struct NarrowSplit {
  int splits = 1;
  int k_per_split = 0;  // a multiple of kNarrowKT
};
inline NarrowSplit narrow_split(int64_t rows, int64_t first_in) {
  const int64_t row_tiles = (rows + kNarrowRows - 1) / kNarrowRows;
  const int64_t k_tiles = (first_in + kNarrowKT - 1) / kNarrowKT;
  int64_t s = 1;
  if (row_tiles >= 1 && 2 * row_tiles <= kGemmTargetBlocks && k_tiles >= 2 * kNarrowMinKTilesPerSplit)
    s = std::min(kGemmTargetBlocks / row_tiles, k_tiles / kNarrowMinKTilesPerSplit);
  const int64_t per = (k_tiles + s - 1) / s;  // K tiles a split takes
  NarrowSplit sp;
  sp.splits = static_cast<int>((k_tiles + per - 1) / per);
  sp.k_per_split = static_cast<int>(per * kNarrowKT);
  return sp;
}

/// What Backend::narrow_step computes, pointers device floats. Returns the
/// launches made (2).
int launch_narrow_step(const NarrowStepArgs& a, LossScratch scratch, const GemmWorkspace& ws, cudaStream_t stream);

CUMLP_GPU_NAMESPACE_END
