// Linear layer forward and backward on the CPU, with the same fusions as the
// CUDA kernels: bias + activation + dropout in the forward epilogue; dropout
// and activation derivative of the previous layer in the input-gradient
// epilogue; bias gradient beside the weight gradient.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "host/cpu/gemm_avx2.h"
#include "host/cpu/gemm_cpu.h"
#include "host/cpu/ops_cpu.h"
#include "host/cpu/parallel.h"
#include "host/shared/rng.h"

namespace cumlp::cpu {

namespace {

// Largest weight (N x K values) for which the tile kernel beat OpenBLAS
// (one thread, AMD EPYC Zen, the A/B/D seed shapes): the forward pays a
// transpose of the weight, so it stops earlier.
constexpr int64_t kTileMaxWeightsForward = 20000, kTileMaxWeightsBackward = 65536;

// Numerically stable softmax of one row, in place.
template <class T>
void softmax_row(T* row, int64_t n) {
  T mx = row[0];
  for (int64_t j = 1; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    row[j] = std::exp(row[j] - mx);
    sum += row[j];
  }
  for (int64_t j = 0; j < n; ++j) row[j] = static_cast<T>(row[j] / sum);
}

// Inverted-dropout factor of element e of a layer's [M, width] output.
template <class T>
inline T dropout_factor(const Epilogue& ep, int64_t e) {
  // The keep decision compares a 24-bit uniform with p in float (as the
  // kernels do); the scale is 1/(1-p) in T, so f64 is not rounded to float's p.
  const bool keep = rng::dropout_keep(ep.seed, ep.layer, ep.step, static_cast<uint64_t>(ep.element0 + e),
                                      static_cast<float>(ep.dropout_p));
  return keep ? T(1) / (T(1) - static_cast<T>(ep.dropout_p)) : T(0);
}

// Calls f with the activation code as a compile-time constant: the
// elementwise epilogue loops then inline the activation instead of
// switching on it per element, and vectorize.
template <class F>
void with_act(int32_t code, F&& f) {
  using C = int32_t;
  switch (code) {
    case ops::kStep: return f(std::integral_constant<C, ops::kStep>{});
    case ops::kSigmoid: return f(std::integral_constant<C, ops::kSigmoid>{});
    case ops::kTanh: return f(std::integral_constant<C, ops::kTanh>{});
    case ops::kReLU: return f(std::integral_constant<C, ops::kReLU>{});
    case ops::kLeakyReLU: return f(std::integral_constant<C, ops::kLeakyReLU>{});
    case ops::kELU: return f(std::integral_constant<C, ops::kELU>{});
    default: return f(std::integral_constant<C, ops::kIdentity>{});
  }
}

// Bias, activation and dropout over y [M, N] = x w^T (bias not yet added).
template <class T>
void forward_epilogue(int64_t M, int64_t N, const T* b, const Epilogue& ep, T* y) {
  const T alpha = static_cast<T>(ep.alpha);
  if (ep.act == ops::kSoftmax) {
    for (int64_t i = 0; i < M; ++i) {
      T* row = y + i * N;
      if (b)
        for (int64_t j = 0; j < N; ++j) row[j] += b[j];
      softmax_row(row, N);
    }
  } else {
    with_act(ep.act, [&](auto act) {
      for (int64_t i = 0; i < M; ++i) {
        T* __restrict row = y + i * N;
        if (b)
          for (int64_t j = 0; j < N; ++j) row[j] = ops::act_forward(act.value, row[j] + b[j], alpha);
        else
          for (int64_t j = 0; j < N; ++j) row[j] = ops::act_forward(act.value, row[j], alpha);
      }
    });
  }
}

// d[e] *= dropout factor and act'(y_prev[e]) for the elements e in [e0, e1).
template <class T>
void backward_epilogue(int64_t e0, int64_t e1, const T* y_prev, const Epilogue& ep, T* dz_prev) {
  const T alpha = static_cast<T>(ep.alpha);
  with_act(ep.act, [&](auto act) {
    T* __restrict d = dz_prev;
    if (ep.dropout_p > 0)
      for (int64_t e = e0; e < e1; ++e) d[e] = d[e] * dropout_factor<T>(ep, e) * ops::act_derivative(act.value, y_prev[e], alpha);
    else
      for (int64_t e = e0; e < e1; ++e) d[e] = d[e] * ops::act_derivative(act.value, y_prev[e], alpha);
  });
}

// db[j] for j in [j0, j1): column sums of dz [M, N] in double, rows added in
// order (the same bits every run), walking dz row by row over a block of
// columns so reads are contiguous.
template <class T>
void bias_grad(int64_t M, int64_t N, int64_t j0, int64_t j1, const T* dz, T* db) {
  constexpr int64_t kBlock = 256;
  for (int64_t b0 = j0; b0 < j1; b0 += kBlock) {
    const int64_t w = std::min(kBlock, j1 - b0);
    double acc[kBlock] = {};
    for (int64_t i = 0; i < M; ++i) {
      const T* row = dz + i * N + b0;
      for (int64_t j = 0; j < w; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; ++j) db[b0 + j] = static_cast<T>(acc[j]);
  }
}

// The register-tile kernel (gemm_avx2.h) serves float on the cpu device
// when the CPU has AVX2/FMA and the GEMM is small or skinny enough that
// OpenBLAS's packing and call overhead outweigh its better blocking.
template <class T>
bool use_tiles(int64_t weights, int64_t max_weights) {
  if constexpr (!std::is_same_v<T, float>)
    return false;
  else
    return weights <= max_weights && avx2_available();
}

// How many chunks (parallel.h) a GEMM of `fmas` multiply-adds is cut into,
// by `rows` rows. Below ~4M multiply-adds (~50 us) waking the second thread
// costs more than it saves (D's 1437x32x64 layer, 2.9M, ran slower on two).
// Tiles split anywhere at no cost, so there are several chunks per thread (a
// descheduled worker then holds up little), and their bits never depend on
// the count (each output is one sum in one order). Every OpenBLAS call
// repacks its operands (+7% per split), so there one chunk per thread; its
// sums do depend on the cut, which depends only on the shape and the thread
// count, so runs with the same thread count give the same bits.
int64_t gemm_chunks(bool tiled, int64_t fmas, int64_t rows) {
  const int threads = op_threads();
  if (threads <= 1 || fmas < (int64_t{1} << 22)) return 1;
  const int64_t per_thread = tiled ? 4 : 1;
  return std::max<int64_t>(1, std::min<int64_t>(threads * per_thread, rows / (tiled ? 12 : 32)));
}

// The transposed weight for the tile kernel's forward: per thread, grown
// once to the largest layer (no allocation in steady-state steps).
float* weight_scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<std::size_t>(n));
  return buf.data();
}

}  // namespace

// Each op: the GEMM by blocks of rows, each block's epilogue right after its
// GEMM (while the block is in cache), blocks spread over the threads.
template <class T>
void linear_act_forward_cpu(int64_t M, int64_t N, int64_t K, const T* x, const T* w, const T* b,
                            const Epilogue& ep, T* y, T* y_drop) {
  if (M == 0 || N == 0) return;
  const bool tiled = use_tiles<T>(N * K, kTileMaxWeightsForward);
  const bool simd = use_tiles<T>(0, 0) && tile_act_supported(ep.act);  // the epilogue in AVX2
  const bool fused = tiled && simd;
  const T* wt = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (tiled) {
      float* t = weight_scratch(N * K);
      transpose_f32(N, K, w, t);
      wt = t;
    }
  }
  const int64_t chunks = gemm_chunks(tiled, M * N * K, M);
  parallel_for(chunks, [&](int64_t c) {
    const auto [r0, r1] = chunk_range(M, chunks, c);
    T* yc = y + r0 * N;
    bool epilogue_done = false;
    if constexpr (std::is_same_v<T, float>) {
      const TileEpilogue te =
          simd ? TileEpilogue::forward(ep.act, static_cast<float>(ep.alpha), b) : TileEpilogue{};
      if (tiled) gemm_avx2(r1 - r0, N, K, x + r0 * K, K, 1, wt, N, yc, N, fused ? te : TileEpilogue{});
      if (simd && !tiled) {
        gemm_cpu(false, true, r1 - r0, N, K, x + r0 * K, w, yc);
        epilogue_avx2(r1 - r0, N, yc, N, te);
      }
      epilogue_done = simd;
    }
    if (!tiled && !epilogue_done) gemm_cpu(false, true, r1 - r0, N, K, x + r0 * K, w, yc);
    if (!epilogue_done) forward_epilogue(r1 - r0, N, b, ep, yc);
    if (y_drop && ep.dropout_p > 0)
      for (int64_t e = r0 * N; e < r1 * N; ++e) y_drop[e] = y[e] * dropout_factor<T>(ep, e);
  });
}

template <class T>
void linear_backward_data_cpu(int64_t M, int64_t N, int64_t K, const T* dz, const T* w, const T* y_prev,
                              const Epilogue& ep, T* dz_prev) {
  if (M == 0 || K == 0) return;
  const bool tiled = use_tiles<T>(N * K, kTileMaxWeightsBackward);
  const bool simd = use_tiles<T>(0, 0) && ep.dropout_p == 0 && tile_act_supported(ep.act);
  const bool fused = tiled && simd;
  const int64_t chunks = gemm_chunks(tiled, M * N * K, M);
  parallel_for(chunks, [&](int64_t c) {
    const auto [r0, r1] = chunk_range(M, chunks, c);
    bool epilogue_done = false;
    if constexpr (std::is_same_v<T, float>) {
      const TileEpilogue te =
          simd ? TileEpilogue::derivative(ep.act, static_cast<float>(ep.alpha), y_prev + r0 * K, K) : TileEpilogue{};
      if (tiled) gemm_avx2(r1 - r0, K, N, dz + r0 * N, N, 1, w, K, dz_prev + r0 * K, K, fused ? te : TileEpilogue{});
      if (simd && !tiled) {
        gemm_cpu(false, false, r1 - r0, K, N, dz + r0 * N, w, dz_prev + r0 * K);
        epilogue_avx2(r1 - r0, K, dz_prev + r0 * K, K, te);
      }
      epilogue_done = simd;
    }
    if (!tiled && !epilogue_done) gemm_cpu(false, false, r1 - r0, K, N, dz + r0 * N, w, dz_prev + r0 * K);
    if (!epilogue_done) backward_epilogue(r0 * K, r1 * K, y_prev, ep, dz_prev);
  });
}

// dw [N, K] = dz^T x by blocks of its rows (columns of dz), each block with
// its part of db.
template <class T>
void linear_backward_weight_cpu(int64_t M, int64_t N, int64_t K, const T* dz, const T* x, T* dw, T* db) {
  if (N == 0) return;
  const bool tiled = use_tiles<T>(N * K, kTileMaxWeightsBackward);
  const int64_t chunks = gemm_chunks(tiled, M * N * K, N);
  parallel_for(chunks, [&](int64_t c) {
    const auto [n0, n1] = chunk_range(N, chunks, c);
    if constexpr (std::is_same_v<T, float>) {
      if (tiled) gemm_avx2(n1 - n0, K, M, dz + n0, 1, N, x, K, dw + n0 * K, K, TileEpilogue{});
    }
    if (!tiled) {
      gemm_blas(true, false, n1 - n0, K, M, dz + n0, N, x, K, dw + n0 * K, K);
    }
    if (db) bias_grad(M, N, n0, n1, dz, db);
  });
}

#define CUMLP_INSTANTIATE(T)                                                                                       \
  template void linear_act_forward_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,          \
                                          const Epilogue&, T*, T*);                                               \
  template void linear_backward_data_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*,        \
                                            const Epilogue&, T*);                                                 \
  template void linear_backward_weight_cpu<T>(int64_t, int64_t, int64_t, const T*, const T*, T*, T*);
CUMLP_INSTANTIATE(float)
CUMLP_INSTANTIATE(double)
#undef CUMLP_INSTANTIATE

}  // namespace cumlp::cpu
