#include "host/cpu/gemm_avx2.h"

#include <immintrin.h>

#include "host/shared/activation.h"

// Only the functions marked CUMLP_AVX2 use AVX2/FMA; nothing from a header
// is instantiated inside them, so no AVX2 copy of an inline function can be
// picked by the linker for the rest of the library.
#define CUMLP_AVX2 __attribute__((target("avx2,fma")))

namespace cumlp::cpu {

namespace {

constexpr int64_t kMR = 6;   // rows per register tile
constexpr int64_t kNR = 16;  // columns per register tile (two 8-float vectors)

// Lanes [0, valid) set.
CUMLP_AVX2 inline __m256i lane_mask(int64_t valid) {
  const int32_t v = static_cast<int32_t>(valid < 0 ? 0 : (valid > 8 ? 8 : valid));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <bool FULL>
CUMLP_AVX2 inline __m256 load(const float* p, __m256i mask) {
  if constexpr (FULL)
    return _mm256_loadu_ps(p);
  else
    return _mm256_maskload_ps(p, mask);
}

// n < 8 floats of v: 4, 2 and 1 at a time (vmaskmovps stores are microcoded
// and slow on AMD Zen).
CUMLP_AVX2 inline void store_partial(float* p, int64_t n, __m256 v) {
  __m128 h = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, h);
    h = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), h);
    h = _mm_movehl_ps(h, h);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, h);
}

template <bool FULL>
CUMLP_AVX2 inline void store_row(float* p, int64_t nvalid, __m256 v0, __m256 v1) {
  if (FULL || nvalid >= 8) {
    _mm256_storeu_ps(p, v0);
    if (FULL)
      _mm256_storeu_ps(p + 8, v1);
    else
      store_partial(p + 8, nvalid - 8, v1);
  } else {
    store_partial(p, nvalid, v0);
  }
}

// act applied in registers, as ops::act_forward: ReLU x > 0 ? x : 0,
// LeakyReLU x > 0 ? x : alpha x.
CUMLP_AVX2 inline __m256 act_forward(int32_t act, __m256 v, __m256 alpha) {
  const __m256 pos = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
  if (act == ops::kReLU) return _mm256_and_ps(v, pos);
  if (act == ops::kLeakyReLU) return _mm256_blendv_ps(_mm256_mul_ps(v, alpha), v, pos);
  return v;
}

// ops::act_derivative from the output y: 1 where y > 0, else 0 (ReLU) or alpha (LeakyReLU).
CUMLP_AVX2 inline __m256 act_derivative(int32_t act, __m256 y, __m256 alpha) {
  const __m256 pos = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ);
  const __m256 neg = act == ops::kReLU ? _mm256_setzero_ps() : alpha;
  return _mm256_blendv_ps(neg, _mm256_set1_ps(1.0f), pos);
}

// One MR x 16 tile of C at (i0, j0); nvalid of its 16 columns exist
// (FULL: all 16). A, C and Y point at the tile's first row, B and the bias at
// its first column.
//
// The p range may be one block of a longer sum: with `more` set, the block
// continues the FMA chains from the values in C (exactly what one unbroken
// chain computes, as the partial sums are floats either way); the epilogue
// waits for the last block (`last`).
template <int MR, bool FULL>
CUMLP_AVX2 void tile(int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb, float* C,
                     int64_t ldc, int64_t nvalid, const TileEpilogue& ep, const float* bias, const float* Y,
                     bool more, bool last) {
  __m256 c0[MR], c1[MR];
  const __m256i m0 = lane_mask(nvalid), m1 = lane_mask(nvalid - 8);
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    c0[r] = more ? load<FULL>(C + r * ldc, m0) : _mm256_setzero_ps();
    c1[r] = more ? load<FULL>(C + r * ldc + 8, m1) : _mm256_setzero_ps();
  }
  const float* a = A;
  const float* b = B;
  for (int64_t p = 0; p < K; ++p, a += a_cs, b += ldb) {
    const __m256 b0 = load<FULL>(b, m0), b1 = load<FULL>(b + 8, m1);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * a_rs);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
  const __m256 alpha = _mm256_set1_ps(ep.alpha);
  if (!last) {
  } else if (ep.mode == TileEpilogue::kForward) {
    const __m256 bias0 = bias ? load<FULL>(bias, m0) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? load<FULL>(bias + 8, m1) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      if (bias) {
        c0[r] = _mm256_add_ps(c0[r], bias0);
        c1[r] = _mm256_add_ps(c1[r], bias1);
      }
      c0[r] = act_forward(ep.act, c0[r], alpha);
      c1[r] = act_forward(ep.act, c1[r], alpha);
    }
  } else if (ep.mode == TileEpilogue::kDerivative && ep.act != ops::kIdentity) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      c0[r] = _mm256_mul_ps(c0[r], act_derivative(ep.act, load<FULL>(Y + r * ep.ldy, m0), alpha));
      c1[r] = _mm256_mul_ps(c1[r], act_derivative(ep.act, load<FULL>(Y + r * ep.ldy + 8, m1), alpha));
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) store_row<FULL>(C + r * ldc, nvalid, c0[r], c1[r]);
}

template <bool FULL>
CUMLP_AVX2 void tile_rows(int64_t mr, int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                          int64_t ldb, float* C, int64_t ldc, int64_t nvalid, const TileEpilogue& ep,
                          const float* bias, const float* Y, bool more, bool last) {
  switch (mr) {
    case 6: return tile<6, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
    case 5: return tile<5, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
    case 4: return tile<4, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
    case 3: return tile<3, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
    case 2: return tile<2, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
    default: return tile<1, FULL>(K, A, a_rs, a_cs, B, ldb, C, ldc, nvalid, ep, bias, Y, more, last);
  }
}

// Rows [i0, i0 + mr), columns [j0, min(N, j0 + 16)), sum terms [p0, p0 + kc) of K.
CUMLP_AVX2 void one_tile(int64_t i0, int64_t mr, int64_t j0, int64_t p0, int64_t kc, int64_t N, int64_t K,
                         const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb, float* C,
                         int64_t ldc, const TileEpilogue& ep) {
  const int64_t nvalid = N - j0;
  const float* a = A + i0 * a_rs + p0 * a_cs;
  const float* b = B + p0 * ldb + j0;
  float* c = C + i0 * ldc + j0;
  const float* bias = ep.bias ? ep.bias + j0 : nullptr;
  const float* y = ep.y ? ep.y + i0 * ep.ldy + j0 : nullptr;
  const bool more = p0 > 0, last = p0 + kc >= K;
  if (nvalid >= kNR)
    tile_rows<true>(mr, kc, a, a_rs, a_cs, b, ldb, c, ldc, kNR, ep, bias, y, more, last);
  else
    tile_rows<false>(mr, kc, a, a_rs, a_cs, b, ldb, c, ldc, nvalid, ep, bias, y, more, last);
}

}  // namespace

bool avx2_available() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

bool tile_act_supported(int32_t act) {
  return act == ops::kIdentity || act == ops::kReLU || act == ops::kLeakyReLU;
}

void gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
               int64_t ldb, float* C, int64_t ldc, const TileEpilogue& ep) {
  // The sum runs in blocks of kKC terms, so that the block's rows of B (and
  // of A) stay in L1 while every tile passes over them. Within a block: if
  // its rows of B fit in L1 next to a row tile of A, rows outer; otherwise
  // one 16-column panel of B stays in cache while all row tiles pass.
  // Row tiles are as even as possible (32 rows: 5 5 6 5 5 6, not 6 6 6 6 6 2):
  // a short tile does less work per load of B.
  constexpr int64_t kKC = 128;
  const int64_t tiles = (M + kMR - 1) / kMR;
  auto tile_start = [&](int64_t t) { return t * M / tiles; };
  int64_t p0 = 0;
  do {
    const int64_t kc = K - p0 < kKC ? K - p0 : kKC;
    if (kc * N <= 4096) {
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t i0 = tile_start(t), mr = tile_start(t + 1) - i0;
        for (int64_t j0 = 0; j0 < N; j0 += kNR) one_tile(i0, mr, j0, p0, kc, N, K, A, a_rs, a_cs, B, ldb, C, ldc, ep);
      }
    } else {
      for (int64_t j0 = 0; j0 < N; j0 += kNR)
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t i0 = tile_start(t), mr = tile_start(t + 1) - i0;
          one_tile(i0, mr, j0, p0, kc, N, K, A, a_rs, a_cs, B, ldb, C, ldc, ep);
        }
    }
    p0 += kc;
  } while (p0 < K);
}

CUMLP_AVX2 void epilogue_avx2(int64_t M, int64_t N, float* C, int64_t ldc, const TileEpilogue& ep) {
  const __m256 alpha = _mm256_set1_ps(ep.alpha);
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    const float* y = ep.y ? ep.y + i * ep.ldy : nullptr;
    for (int64_t j = 0; j < N; j += 8) {
      const __m256i mask = lane_mask(N - j);
      const bool full = N - j >= 8;
      __m256 v = full ? _mm256_loadu_ps(c + j) : _mm256_maskload_ps(c + j, mask);
      if (ep.mode == TileEpilogue::kForward) {
        if (ep.bias) v = _mm256_add_ps(v, full ? _mm256_loadu_ps(ep.bias + j) : _mm256_maskload_ps(ep.bias + j, mask));
        v = act_forward(ep.act, v, alpha);
      } else if (ep.mode == TileEpilogue::kDerivative && ep.act != ops::kIdentity) {
        v = _mm256_mul_ps(v, act_derivative(ep.act, full ? _mm256_loadu_ps(y + j) : _mm256_maskload_ps(y + j, mask), alpha));
      }
      if (full)
        _mm256_storeu_ps(c + j, v);
      else
        store_partial(c + j, N - j, v);
    }
  }
}

void transpose_f32(int64_t N, int64_t K, const float* w, float* dst) {
  constexpr int64_t kB = 32;
  for (int64_t j0 = 0; j0 < N; j0 += kB)
    for (int64_t p0 = 0; p0 < K; p0 += kB)
      for (int64_t j = j0; j < N && j < j0 + kB; ++j)
        for (int64_t p = p0; p < K && p < p0 + kB; ++p) dst[p * N + j] = w[j * K + p];
}

}  // namespace cumlp::cpu
