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
#include "host/rng.h"

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
  const bool keep = rng::dropout_keep(ep.seed, ep.layer, ep.step, static_cast<uint64_t>(e), static_cast<float>(ep.dropout_p));
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

// d [M, K] *= dropout factor and act'(y_prev), elementwise.
template <class T>
void backward_epilogue(int64_t M, int64_t K, const T* y_prev, const Epilogue& ep, T* dz_prev) {
  const T alpha = static_cast<T>(ep.alpha);
  with_act(ep.act, [&](auto act) {
    T* __restrict d = dz_prev;
    if (ep.dropout_p > 0)
      for (int64_t e = 0; e < M * K; ++e) d[e] = d[e] * dropout_factor<T>(ep, e) * ops::act_derivative(act.value, y_prev[e], alpha);
    else
      for (int64_t e = 0; e < M * K; ++e) d[e] = d[e] * ops::act_derivative(act.value, y_prev[e], alpha);
  });
}

// The register-tile kernel (gemm_avx2.h) serves float on the cpu device
// when the CPU has AVX2/FMA and the GEMM is small or skinny enough that
// OpenBLAS's packing and call overhead outweigh its better blocking.
template <class T>
bool use_tiles(bool blas, int64_t weights, int64_t max_weights) {
  if constexpr (!std::is_same_v<T, float>)
    return false;
  else
    return blas && weights <= max_weights && avx2_available();
}

// The transposed weight for the tile kernel's forward: per thread, grown
// once to the largest layer (no allocation in steady-state steps).
float* weight_scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<std::size_t>(n));
  return buf.data();
}

}  // namespace

template <class T>
void linear_act_forward_cpu(bool blas, int64_t M, int64_t N, int64_t K, const T* x, const T* w, const T* b,
                            const Epilogue& ep, T* y, T* y_drop) {
  if (M == 0 || N == 0) return;
  bool tiled = false;
  if constexpr (std::is_same_v<T, float>) {
    if (use_tiles<T>(blas, N * K, kTileMaxWeightsForward)) {
      tiled = true;
      float* wt = weight_scratch(N * K);
      transpose_f32(N, K, w, wt);
      const bool fused = tile_act_supported(ep.act);
      TileEpilogue te;
      if (fused) {
        te.mode = TileEpilogue::kForward;
        te.act = ep.act;
        te.alpha = static_cast<float>(ep.alpha);
        te.bias = b;
      }
      gemm_avx2(M, N, K, x, K, 1, wt, N, y, N, te);
      if (!fused) forward_epilogue(M, N, b, ep, y);
    }
  }
  if (!tiled) {
    gemm_cpu(blas, false, true, M, N, K, x, w, y);
    forward_epilogue(M, N, b, ep, y);
  }
  if (y_drop && ep.dropout_p > 0)
    for (int64_t e = 0; e < M * N; ++e) y_drop[e] = y[e] * dropout_factor<T>(ep, e);
}

template <class T>
void linear_backward_data_cpu(bool blas, int64_t M, int64_t N, int64_t K, const T* dz, const T* w, const T* y_prev,
                              const Epilogue& ep, T* dz_prev) {
  if (M == 0 || K == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (use_tiles<T>(blas, N * K, kTileMaxWeightsBackward)) {
      const bool fused = ep.dropout_p == 0 && tile_act_supported(ep.act);
      TileEpilogue te;
      if (fused) {
        te.mode = TileEpilogue::kDerivative;
        te.act = ep.act;
        te.alpha = static_cast<float>(ep.alpha);
        te.y = y_prev;
        te.ldy = K;
      }
      gemm_avx2(M, K, N, dz, N, 1, w, K, dz_prev, K, te);
      if (!fused) backward_epilogue(M, K, y_prev, ep, dz_prev);
      return;
    }
  }
  gemm_cpu(blas, false, false, M, K, N, dz, w, dz_prev);
  backward_epilogue(M, K, y_prev, ep, dz_prev);
}

template <class T>
void linear_backward_weight_cpu(bool blas, int64_t M, int64_t N, int64_t K, const T* dz, const T* x, T* dw, T* db) {
  if (use_tiles<T>(blas, N * K, kTileMaxWeightsBackward))
    gemm_avx2(N, K, M, reinterpret_cast<const float*>(dz), 1, N, reinterpret_cast<const float*>(x), K,
              reinterpret_cast<float*>(dw), K, TileEpilogue{});
  else
    gemm_cpu(blas, true, false, N, K, M, dz, x, dw);
  if (!db) return;
  // Column sums in double, rows added in order (the same bits every run),
  // walking dz row by row over a block of columns so reads are contiguous.
  constexpr int64_t kBlock = 256;
  for (int64_t j0 = 0; j0 < N; j0 += kBlock) {
    const int64_t w = std::min(kBlock, N - j0);
    double acc[kBlock] = {};
    for (int64_t i = 0; i < M; ++i) {
      const T* row = dz + i * N + j0;
      for (int64_t j = 0; j < w; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; ++j) db[j0 + j] = static_cast<T>(acc[j]);
  }
}

#define CUMLP_INSTANTIATE(T)                                                                                       \
  template void linear_act_forward_cpu<T>(bool, int64_t, int64_t, int64_t, const T*, const T*, const T*,          \
                                          const Epilogue&, T*, T*);                                               \
  template void linear_backward_data_cpu<T>(bool, int64_t, int64_t, int64_t, const T*, const T*, const T*,        \
                                            const Epilogue&, T*);                                                 \
  template void linear_backward_weight_cpu<T>(bool, int64_t, int64_t, int64_t, const T*, const T*, T*, T*);
CUMLP_INSTANTIATE(float)
CUMLP_INSTANTIATE(double)
#undef CUMLP_INSTANTIATE

}  // namespace cumlp::cpu
