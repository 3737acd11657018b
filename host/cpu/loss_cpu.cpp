// Losses on the CPU: value and gradient with respect to the last layer's
// pre-activation, in one pass (the output activation's derivative is fused).
//
//   cross-entropy  logits z, class t: loss_i = logsumexp(z_i) - z_i[t]; mean over rows;
//                  dz = (softmax(z) - onehot(t)) / rows
//   bce            PyTorch's BCELoss: -(t log y + (1-t) log(1-y)), logs clamped at -100;
//                  dy = (y - t) / max(y (1-y), 1e-12) / n
//   mse / mse-sum  (y - t)^2, mean over all n elements / sum; dy = 2 (y - t) [/ n]
//   half-sse       sum 0.5 (t - y)^2; dy = y - t
#include <algorithm>
#include <cmath>

#include "cumlp/model.h"
#include "host/cpu/ops_cpu.h"

namespace cumlp::cpu {

namespace {

template <class T>
void cross_entropy(const LossArgs& a, const T* z, const int32_t* cls, T* dz, T* loss) {
  double total = 0;
  const double inv_rows = 1.0 / static_cast<double>(a.rows);
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* row = z + i * a.cols;
    T mx = row[0];
    for (int64_t j = 1; j < a.cols; ++j) mx = std::max(mx, row[j]);
    // One exp per element: exp(z - max) is kept (in dz) and divided by the
    // sum for the softmax, instead of a second exp(z - lse).
    T* d = dz + i * a.cols;
    double sum = 0;
    for (int64_t j = 0; j < a.cols; ++j) {
      const double e = std::exp(static_cast<double>(row[j] - mx));
      sum += e;
      if (a.want_grad) d[j] = static_cast<T>(e);
    }
    total += static_cast<double>(mx) + std::log(sum) - static_cast<double>(row[cls[i]]);
    if (!a.want_grad) continue;
    const double inv_sum = 1.0 / sum;
    for (int64_t j = 0; j < a.cols; ++j)
      d[j] = static_cast<T>((static_cast<double>(d[j]) * inv_sum - (j == cls[i] ? 1.0 : 0.0)) * inv_rows);
  }
  *loss = static_cast<T>(total * inv_rows);
}

// Loss value and dL/dy for the elementwise losses.
template <class T>
double elementwise(const LossArgs& a, const T* y, const T* t, T* dy) {
  const int64_t n = a.rows * a.cols;
  const double inv_n = 1.0 / static_cast<double>(n);
  double total = 0;
  for (int64_t e = 0; e < n; ++e) {
    const double yv = y[e], tv = t[e], d = yv - tv;
    double g = 0;
    switch (static_cast<LossKind>(a.kind)) {
      case LossKind::BCE:
        total -= tv * std::max(std::log(yv), -100.0) + (1 - tv) * std::max(std::log1p(-yv), -100.0);
        g = d / std::max(yv * (1 - yv), 1e-12) * inv_n;
        break;
      case LossKind::MSE: total += d * d; g = 2 * d * inv_n; break;
      case LossKind::MSESum: total += d * d; g = 2 * d; break;
      default: total += 0.5 * d * d; g = d; break;  // HalfSSE
    }
    if (a.want_grad) dy[e] = static_cast<T>(g);
  }
  const auto kind = static_cast<LossKind>(a.kind);
  return (kind == LossKind::BCE || kind == LossKind::MSE) ? total * inv_n : total;
}

// dz = J_act^T dy, in place: elementwise derivative, or the softmax Jacobian per row.
template <class T>
void apply_output_derivative(const LossArgs& a, const T* y, T* d) {
  const T alpha = static_cast<T>(a.out_alpha);
  if (a.out_act != ops::kSoftmax) {
    for (int64_t e = 0; e < a.rows * a.cols; ++e) d[e] *= ops::act_derivative(a.out_act, y[e], alpha);
    return;
  }
  for (int64_t i = 0; i < a.rows; ++i) {
    const T* yr = y + i * a.cols;
    T* dr = d + i * a.cols;
    double dot = 0;
    for (int64_t j = 0; j < a.cols; ++j) dot += static_cast<double>(dr[j]) * yr[j];
    for (int64_t j = 0; j < a.cols; ++j) dr[j] = static_cast<T>(yr[j] * (dr[j] - dot));
  }
}

}  // namespace

template <class T>
void loss_forward_backward_cpu(const LossArgs& a, const T* y, const void* target, T* dz, T* loss) {
  if (static_cast<LossKind>(a.kind) == LossKind::CrossEntropy) {
    cross_entropy(a, y, static_cast<const int32_t*>(target), dz, loss);
    return;
  }
  *loss = static_cast<T>(elementwise(a, y, static_cast<const T*>(target), dz));
  if (a.want_grad) apply_output_derivative(a, y, dz);
}

template void loss_forward_backward_cpu<float>(const LossArgs&, const float*, const void*, float*, float*);
template void loss_forward_backward_cpu<double>(const LossArgs&, const double*, const void*, double*, double*);

}  // namespace cumlp::cpu
