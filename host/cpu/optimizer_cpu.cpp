// One optimizer update over the flat parameter buffer, written as torch.optim
// computes it (same operation order, so fp64 runs agree to rounding):
//   g = grad + weight_decay * p (SGD, Adam) + l1 * sign(p)
//   SGD:   p -= lr * g
//   Adam:  m += (1-b1) (g - m);  v = b2 v + (1-b2) g^2
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   AdamW: p *= 1 - lr * weight_decay, then the Adam update (without L2 in g)
#include <cmath>

#include "cumlp/optim.h"
#include "host/cpu/ops_cpu.h"

namespace cumlp::cpu {

template <class T>
void optimizer_step_cpu(const OptimArgs& a, int64_t n, T* p, const T* grads, T* m, T* v) {
  const auto kind = static_cast<OptimizerKind>(a.kind);
  const bool decoupled = kind == OptimizerKind::AdamW;
  const T lr = T(a.lr), wd = T(a.weight_decay), l1 = T(a.l1), b1 = T(a.beta1), b2 = T(a.beta2), eps = T(a.eps);
  const double t = static_cast<double>(a.step);
  const T step_size = static_cast<T>(a.lr / (1.0 - std::pow(a.beta1, t)));
  const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(a.beta2, t)));
  for (int64_t i = 0; i < n; ++i) {
    T g = grads[i];
    if (!decoupled && wd != T(0)) g += wd * p[i];
    if (l1 != T(0)) g += l1 * static_cast<T>((p[i] > T(0)) - (p[i] < T(0)));
    if (kind == OptimizerKind::SGD) {
      p[i] -= lr * g;
      continue;
    }
    if (decoupled) p[i] *= T(1) - lr * wd;
    m[i] += (T(1) - b1) * (g - m[i]);  // torch: m.lerp_(g, 1 - b1)
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

template void optimizer_step_cpu<float>(const OptimArgs&, int64_t, float*, const float*, float*, float*);
template void optimizer_step_cpu<double>(const OptimArgs&, int64_t, double*, const double*, double*, double*);

}  // namespace cumlp::cpu
