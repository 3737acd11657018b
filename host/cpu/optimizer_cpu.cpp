// One optimizer update over the flat parameter buffer, written as torch.optim
// computes it (same operation order, so fp64 runs agree to rounding):
//   g = grad + weight_decay * p (SGD, Adam) + l1 * sign(p)
//   SGD:   p -= lr * g
//   SGD with momentum mu (torch.optim.SGD, dampening 0; the velocity b is the
//          buffer m, zero before update 1, so update 1 gives b = g as torch's):
//          b = mu b + g;  p -= lr * b   (Nesterov: p -= lr * (g + mu b))
//   Adam:  m += (1-b1) (g - m);  v = b2 v + (1-b2) g^2
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   AdamW: p *= 1 - lr * weight_decay, then the Adam update (without L2 in g)
//
// The kind and the penalties are template parameters, so each loop has no
// branch inside and the compiler vectorizes it (the update is memory-bound:
// the buffers are read and written once each).
#include <cmath>

#include "cumlp/optim.h"
#include "host/shared/error_macros.h"
#include "host/cpu/ops_cpu.h"
#include "host/cpu/parallel.h"

namespace cumlp::cpu {

namespace {

template <class T>
struct Consts {
  T lr, wd, l1, b1, b2, eps, step_size, bc2_sqrt, decay, mu;
};

// The update rules, one loop each: the optimizer kinds, SGD split by momentum.
enum class Rule { SGD, Momentum, Nesterov, Adam, AdamW };

template <Rule K, bool L2, bool L1, class T>
[[gnu::always_inline]] inline void update_loop(const Consts<T> c, int64_t n, T* __restrict p,
                                               const T* __restrict grads, T* __restrict m, T* __restrict v) {
  for (int64_t i = 0; i < n; ++i) {
    T g = grads[i];
    if constexpr (L2) g += c.wd * p[i];
    if constexpr (L1) g += c.l1 * static_cast<T>((p[i] > T(0)) - (p[i] < T(0)));
    if constexpr (K == Rule::SGD) {
      p[i] -= c.lr * g;
    } else if constexpr (K == Rule::Momentum || K == Rule::Nesterov) {
      m[i] = c.mu * m[i] + g;  // torch: buf.mul_(momentum).add_(g)
      if constexpr (K == Rule::Nesterov)
        p[i] -= c.lr * (g + c.mu * m[i]);
      else
        p[i] -= c.lr * m[i];
    } else {
      if constexpr (K == Rule::AdamW) p[i] *= c.decay;
      m[i] += (T(1) - c.b1) * (g - m[i]);  // torch: m.lerp_(g, 1 - b1)
      v[i] = c.b2 * v[i] + (T(1) - c.b2) * g * g;
      p[i] -= c.step_size * m[i] / (std::sqrt(v[i]) / c.bc2_sqrt + c.eps);
    }
  }
}

// The loop compiled twice: for the baseline ISA (SSE2, 4 floats a vector)
// and for AVX2 (8): Adam's sqrt and two divisions per value keep the
// divider busy, so the wider vectors nearly halve its time. Both compute
// the same IEEE operations in the same order (no FMA contraction), so the
// bits do not depend on which one runs.
template <Rule K, bool L2, bool L1, class T>
void update_baseline(const Consts<T> c, int64_t n, T* p, const T* grads, T* m, T* v) {
  update_loop<K, L2, L1>(c, n, p, grads, m, v);
}

template <Rule K, bool L2, bool L1, class T>
[[gnu::target("avx2")]] void update_avx2(const Consts<T> c, int64_t n, T* p, const T* grads, T* m, T* v) {
  update_loop<K, L2, L1>(c, n, p, grads, m, v);
}

template <Rule K, bool L2, bool L1, class T>
void update(const Consts<T> c, int64_t n, T* p, const T* grads, T* m, T* v) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2)
    update_avx2<K, L2, L1>(c, n, p, grads, m, v);
  else
    update_baseline<K, L2, L1>(c, n, p, grads, m, v);
}

template <Rule K, class T>
void update_with_penalties(const Consts<T>& c, int64_t n, T* p, const T* g, T* m, T* v) {
  const bool l2 = K != Rule::AdamW && c.wd != T(0), l1 = c.l1 != T(0);
  if (l2 && l1)
    update<K, true, true>(c, n, p, g, m, v);
  else if (l2)
    update<K, true, false>(c, n, p, g, m, v);
  else if (l1)
    update<K, false, true>(c, n, p, g, m, v);
  else
    update<K, false, false>(c, n, p, g, m, v);
}

}  // namespace

template <class T>
void optimizer_step_cpu(const OptimArgs& a, int64_t n, T* p, const T* grads, T* m, T* v) {
  const double t = static_cast<double>(a.step);
  const T lr = T(a.lr), wd = T(a.weight_decay);
  const Consts<T> c{lr, wd, T(a.l1), T(a.beta1), T(a.beta2), T(a.eps),
                    static_cast<T>(a.lr / (1.0 - std::pow(a.beta1, t))),
                    static_cast<T>(std::sqrt(1.0 - std::pow(a.beta2, t))), T(1) - lr * wd, T(a.momentum)};
  const auto kind = static_cast<OptimizerKind>(a.kind);
  const Rule rule = kind == OptimizerKind::Adam    ? Rule::Adam
                    : kind == OptimizerKind::AdamW ? Rule::AdamW
                    : a.momentum == 0              ? Rule::SGD
                    : a.nesterov                   ? Rule::Nesterov
                                                   : Rule::Momentum;
  CUMLP_CHECK(rule == Rule::SGD || n == 0 || m, "optimizer_step: momentum or Adam without a moment buffer");
  // Elementwise, so any cut gives the same bits: fixed blocks of 64K
  // values, spread over the threads (a single-threaded run has one).
  constexpr int64_t kBlock = int64_t{1} << 16;
  const int64_t chunks = op_threads() > 1 ? (n + kBlock - 1) / kBlock : 1;
  parallel_for(chunks, [&](int64_t k) {
    const auto [i0, i1] = chunk_range(n, chunks, k);
    T* mk = m ? m + i0 : nullptr;
    T* vk = v ? v + i0 : nullptr;
    const int64_t len = i1 - i0;
    switch (rule) {
      case Rule::SGD: update_with_penalties<Rule::SGD>(c, len, p + i0, grads + i0, mk, vk); break;
      case Rule::Momentum: update_with_penalties<Rule::Momentum>(c, len, p + i0, grads + i0, mk, vk); break;
      case Rule::Nesterov: update_with_penalties<Rule::Nesterov>(c, len, p + i0, grads + i0, mk, vk); break;
      case Rule::Adam: update_with_penalties<Rule::Adam>(c, len, p + i0, grads + i0, mk, vk); break;
      case Rule::AdamW: update_with_penalties<Rule::AdamW>(c, len, p + i0, grads + i0, mk, vk); break;
    }
  });
}

template void optimizer_step_cpu<float>(const OptimArgs&, int64_t, float*, const float*, float*, float*);
template void optimizer_step_cpu<double>(const OptimArgs&, int64_t, double*, const double*, double*, double*);

}  // namespace cumlp::cpu
