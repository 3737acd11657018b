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
#include <bit>
#include <type_traits>

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

// exp(x) in float without libm (Cephes' expf: Cody-Waite reduction, degree-6
// polynomial, ~1 ulp), written so GCC vectorizes a loop of it (no branch,
// no clamp: the caller keeps x in [-87.3, 88.3], where 2^n is a normal float).
inline float exp_f32(float x) {
  // Round x log2(e) to nearest with the 1.5 * 2^23 trick (no SSE4.1 needed).
  const float fn = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  return p * std::bit_cast<float>((static_cast<int32_t>(fn) + 127) << 23);
}

// The cross-entropy in float: the same formulas, with the exponentials of a
// block of rows computed in one vectorized pass (one double exp per element,
// as cross_entropy above takes, dominated small-width outputs).
void cross_entropy_f32(const LossArgs& a, const float* z, const int32_t* cls, float* dz, float* loss,
                       float* scratch) {
  constexpr int64_t kRows = 64;
  const int64_t C = a.cols;
  const double inv_rows = 1.0 / static_cast<double>(a.rows);
  double total = 0;
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRows) {
    const int64_t nr = std::min(kRows, a.rows - r0);
    float* e = a.want_grad ? dz + r0 * C : scratch;  // exp(z - max) of the block's rows
    float mx[kRows];
    for (int64_t i = 0; i < nr; ++i) {
      const float* row = z + (r0 + i) * C;
      float m = row[0];
      for (int64_t j = 1; j < C; ++j) m = std::max(m, row[j]);
      mx[i] = m;
      // exp(-87.3) ~ 1e-38 stands for anything smaller (a denormal or 0).
      for (int64_t j = 0; j < C; ++j) e[i * C + j] = std::max(row[j] - m, -87.3f);
    }
    float* __restrict ev = e;
    for (int64_t k = 0; k < nr * C; ++k) ev[k] = exp_f32(ev[k]);
    for (int64_t i = 0; i < nr; ++i) {
      const int64_t r = r0 + i;
      float* d = e + i * C;
      double sum = 0;
      for (int64_t j = 0; j < C; ++j) sum += d[j];
      total += static_cast<double>(mx[i]) + std::log(static_cast<float>(sum)) - static_cast<double>(z[r * C + cls[r]]);
      if (!a.want_grad) continue;
      const double inv_sum = 1.0 / sum, e_cls = d[cls[r]];
      for (int64_t j = 0; j < C; ++j) d[j] = static_cast<float>(static_cast<double>(d[j]) * inv_sum * inv_rows);
      d[cls[r]] = static_cast<float>((e_cls * inv_sum - 1.0) * inv_rows);
    }
  }
  *loss = static_cast<float>(total * inv_rows);
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
    if constexpr (std::is_same_v<T, float>) {
      // Without a gradient the exponentials go to a stack block of rows.
      float scratch[64 * 64];
      if (a.want_grad || a.cols <= 64) {
        cross_entropy_f32(a, y, static_cast<const int32_t*>(target), dz, loss, scratch);
        return;
      }
    }
    cross_entropy(a, y, static_cast<const int32_t*>(target), dz, loss);
    return;
  }
  *loss = static_cast<T>(elementwise(a, y, static_cast<const T*>(target), dz));
  if (a.want_grad) apply_output_derivative(a, y, dz);
}

template void loss_forward_backward_cpu<float>(const LossArgs&, const float*, const void*, float*, float*);
template void loss_forward_backward_cpu<double>(const LossArgs&, const double*, const void*, double*, double*);

}  // namespace cumlp::cpu
