// A float GEMM for the small and skinny shapes of MLP layers (widths up to a
// few hundred, thousands of rows), where OpenBLAS's packing and blocking cost
// more than the arithmetic: AVX2/FMA register tiles of 6 rows x 16 columns
// that read A in place through strides (so x, dz and dz^T need no copy) and B
// by rows, with the layer's epilogue applied in registers before the store.
//
//   C[i, j] = epilogue( sum_p A[i * a_rs + p * a_cs] * B[p * ldb + j] )   i < M, j < N, p < K
//
// Each output is one FMA chain over p in order: the same bits every run and
// on any thread. Compiled with target attributes, so the library still runs
// on CPUs without AVX2; callers check avx2_available() first.
#pragma once

#include <cstdint>

namespace cumlp::cpu {

/// What is applied to a tile in registers before it is stored.
struct TileEpilogue {
  enum Mode : int32_t {
    kNone,          // C = AB
    kForward,       // C = act(AB + bias), act identity, ReLU or LeakyReLU (bias may be null)
    kDerivative,    // C = AB * act'(Y), act identity, ReLU or LeakyReLU
  };
  Mode mode = kNone;
  int32_t act = 0;         // ops::kIdentity, kReLU or kLeakyReLU
  float alpha = 0;         // LeakyReLU slope
  const float* bias = nullptr;  // [N] (kForward)
  const float* y = nullptr;     // [M, ldy] (kDerivative): the activation output
  int64_t ldy = 0;

  static TileEpilogue forward(int32_t act, float alpha, const float* bias) {
    return {kForward, act, alpha, bias, nullptr, 0};
  }
  static TileEpilogue derivative(int32_t act, float alpha, const float* y, int64_t ldy) {
    return {kDerivative, act, alpha, nullptr, y, ldy};
  }
};

/// True when the CPU has AVX2 and FMA (checked once).
bool avx2_available();

/// The activations the tile epilogue can apply in registers.
bool tile_act_supported(int32_t act);

/// C (row stride ldc) as above. Rows [0, M) of A, C and Y; the caller splits
/// the rows for threads. Requires avx2_available().
void gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
               int64_t ldb, float* C, int64_t ldc, const TileEpilogue& ep);

/// The tile epilogue as a pass over C [M, N] (row stride ldc), for a GEMM
/// done by OpenBLAS: the same operations, so the same bits, as in registers.
/// (The generic loops branch per element on the sign, which mispredicts.)
void epilogue_avx2(int64_t M, int64_t N, float* C, int64_t ldc, const TileEpilogue& ep);

/// dst[p * N + j] = w[j * K + p]: the weight [N, K] transposed to [K, N], so
/// that the forward x w^T reads B by rows.
void transpose_f32(int64_t N, int64_t K, const float* w, float* dst);

}  // namespace cumlp::cpu
