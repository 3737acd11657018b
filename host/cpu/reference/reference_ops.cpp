// The plain reference (reference_ops.h): one loop nest per op, every sum
// in double in index order. Nothing here is tuned; nothing may be shared
// with host/cpu's fast path or cuda/ (see the header).
#include "host/cpu/reference/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cumlp/model.h"
#include "host/shared/rng.h"

namespace cumlp::reference {

double activation(int32_t act, double x, double alpha) {
  switch (act) {
    case ops::kStep: return x > 0 ? 1.0 : 0.0;
    case ops::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ops::kTanh: return std::tanh(x);
    case ops::kReLU: return x > 0 ? x : 0.0;
    case ops::kLeakyReLU: return x > 0 ? x : alpha * x;
    case ops::kELU: return x > 0 ? x : alpha * (std::exp(x) - 1.0);
    default: return x;
  }
}

double activation_derivative(int32_t act, double y, double alpha) {
  switch (act) {
    case ops::kStep: return 0.0;                       // flat on both sides of the jump
    case ops::kSigmoid: return y * (1.0 - y);          // s' = s (1 - s)
    case ops::kTanh: return 1.0 - y * y;               // tanh' = 1 - tanh^2
    case ops::kReLU: return y > 0 ? 1.0 : 0.0;         // f'(0) = 0, as PyTorch
    case ops::kLeakyReLU: return y > 0 ? 1.0 : alpha;
    case ops::kELU: return y > 0 ? 1.0 : y + alpha;    // alpha e^x = y + alpha for x <= 0
    default: return 1.0;
  }
}

namespace {

// The inverted-dropout factor of element e: 0 (dropped) or 1 / (1 - p).
double dropout_factor(const Epilogue& ep, int64_t e) {
  const bool keep = rng::dropout_keep(ep.seed, ep.layer, ep.step, static_cast<uint64_t>(e), static_cast<float>(ep.dropout_p));
  return keep ? 1.0 / (1.0 - ep.dropout_p) : 0.0;
}

// softmax(z) of one row, in place.
void softmax(double* z, int64_t n) {
  double mx = z[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, z[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(z[j] - mx);
  for (int64_t j = 0; j < n; ++j) z[j] = std::exp(z[j] - mx) / sum;
}

}  // namespace

void linear_act_forward(int64_t M, int64_t N, int64_t K, const double* x, const double* w, const double* b,
                        const Epilogue& ep, double* y, double* y_drop) {
  for (int64_t i = 0; i < M; ++i) {
    double* row = y + i * N;
    for (int64_t j = 0; j < N; ++j) {
      double z = b ? b[j] : 0.0;
      for (int64_t k = 0; k < K; ++k) z += x[i * K + k] * w[j * K + k];
      row[j] = z;
    }
    if (ep.act == ops::kSoftmax) {
      softmax(row, N);
    } else {
      for (int64_t j = 0; j < N; ++j) row[j] = activation(ep.act, row[j], ep.alpha);
    }
  }
  if (y_drop && ep.dropout_p > 0)
    for (int64_t e = 0; e < M * N; ++e) y_drop[e] = y[e] * dropout_factor(ep, e);
}

void linear_backward_data(int64_t M, int64_t N, int64_t K, const double* dz, const double* w, const double* y_prev,
                          const Epilogue& ep, double* dz_prev) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      double g = 0;
      for (int64_t j = 0; j < N; ++j) g += dz[i * N + j] * w[j * K + k];
      const int64_t e = i * K + k;
      if (ep.dropout_p > 0) g *= dropout_factor(ep, e);
      dz_prev[e] = g * activation_derivative(ep.act, y_prev[e], ep.alpha);
    }
}

void linear_backward_weight(int64_t M, int64_t N, int64_t K, const double* dz, const double* x, double* dw,
                            double* db) {
  for (int64_t j = 0; j < N; ++j) {
    for (int64_t k = 0; k < K; ++k) {
      double g = 0;
      for (int64_t i = 0; i < M; ++i) g += dz[i * N + j] * x[i * K + k];
      dw[j * K + k] = g;
    }
    if (db) {
      double s = 0;
      for (int64_t i = 0; i < M; ++i) s += dz[i * N + j];
      db[j] = s;
    }
  }
}

// Cross-entropy on logits:  loss = mean_i (logsumexp(z_i) - z_i[t_i]),
// dz = (softmax(z) - onehot(t)) / rows. The others on outputs y, then
// dz = J_act^T dy (elementwise derivative, or the softmax Jacobian per row):
//   bce      -(t log y + (1-t) log(1-y)), logs clamped at -100 (PyTorch's BCELoss),
//            mean; dy = (y - t) / max(y (1-y), 1e-12) / n
//   mse      (y-t)^2 mean; dy = 2 (y-t) / n     mse-sum: sum, dy = 2 (y-t)
//   half-sse sum 0.5 (y-t)^2; dy = y - t
void loss_forward_backward(const LossArgs& a, const double* y, const void* target, double* dz, double* loss) {
  const int64_t R = a.rows, C = a.cols, n = R * C;
  const auto kind = static_cast<LossKind>(a.kind);
  double total = 0;
  if (kind == LossKind::CrossEntropy) {
    const auto* cls = static_cast<const int32_t*>(target);
    std::vector<double> p(static_cast<std::size_t>(C));
    for (int64_t i = 0; i < R; ++i) {
      const double* z = y + i * C;
      double mx = z[0];
      for (int64_t j = 1; j < C; ++j) mx = std::max(mx, z[j]);
      double sum = 0;
      for (int64_t j = 0; j < C; ++j) sum += std::exp(z[j] - mx);
      total += mx + std::log(sum) - z[cls[i]];
      if (a.want_grad)
        for (int64_t j = 0; j < C; ++j) dz[i * C + j] = (std::exp(z[j] - mx) / sum - (j == cls[i] ? 1.0 : 0.0)) / R;
    }
    *loss = total / R;
    return;
  }
  const auto* t = static_cast<const double*>(target);
  std::vector<double> dy(static_cast<std::size_t>(n));
  for (int64_t e = 0; e < n; ++e) {
    const double d = y[e] - t[e];
    switch (kind) {
      case LossKind::BCE:
        total += -(t[e] * std::max(std::log(y[e]), -100.0) + (1 - t[e]) * std::max(std::log(1 - y[e]), -100.0));
        dy[e] = d / std::max(y[e] * (1 - y[e]), 1e-12) / n;
        break;
      case LossKind::MSE: total += d * d; dy[e] = 2 * d / n; break;
      case LossKind::MSESum: total += d * d; dy[e] = 2 * d; break;
      default: total += 0.5 * d * d; dy[e] = d; break;  // half-sse
    }
  }
  *loss = (kind == LossKind::BCE || kind == LossKind::MSE) ? total / n : total;
  if (!a.want_grad) return;
  for (int64_t i = 0; i < R; ++i) {
    const double* yr = y + i * C;
    const double* g = dy.data() + i * C;
    double dot = 0;  // softmax: dz_j = y_j (g_j - sum_k g_k y_k)
    if (a.out_act == ops::kSoftmax)
      for (int64_t j = 0; j < C; ++j) dot += g[j] * yr[j];
    for (int64_t j = 0; j < C; ++j)
      dz[i * C + j] = a.out_act == ops::kSoftmax ? yr[j] * (g[j] - dot)
                                                 : g[j] * activation_derivative(a.out_act, yr[j], a.out_alpha);
  }
}

// torch.optim's update, in double: g = grad + wd p (SGD, Adam) + l1 sign(p);
// SGD p -= lr g, or with momentum mu (torch.optim.SGD, dampening 0; the
// velocity m starts at 0) m = mu m + g and p -= lr m, Nesterov p -= lr (g + mu m); Adam m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
// p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps); AdamW first p -= lr wd p.
void optimizer_step(const OptimArgs& a, int64_t n, double* p, const double* grads, double* m, double* v) {
  const auto kind = static_cast<OptimizerKind>(a.kind);
  const double t = static_cast<double>(a.step);
  for (int64_t i = 0; i < n; ++i) {
    double g = grads[i];
    if (kind != OptimizerKind::AdamW) g += a.weight_decay * p[i];
    if (a.l1 != 0) g += a.l1 * (p[i] > 0 ? 1.0 : p[i] < 0 ? -1.0 : 0.0);
    if (kind == OptimizerKind::SGD) {
      if (a.momentum != 0) {
        m[i] = a.momentum * m[i] + g;
        g = a.nesterov ? g + a.momentum * m[i] : m[i];
      }
      p[i] -= a.lr * g;
      continue;
    }
    if (kind == OptimizerKind::AdamW) p[i] -= a.lr * a.weight_decay * p[i];
    m[i] = a.beta1 * m[i] + (1 - a.beta1) * g;
    v[i] = a.beta2 * v[i] + (1 - a.beta2) * g * g;
    const double m_hat = m[i] / (1 - std::pow(a.beta1, t)), v_hat = v[i] / (1 - std::pow(a.beta2, t));
    p[i] -= a.lr * m_hat / (std::sqrt(v_hat) + a.eps);
  }
}

void gather_batch(const GatherArgs& a, bool table_f32, const int64_t* rows, int64_t n, double* x, void* target) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = rows[i];
    for (int64_t j = 0; j < a.cols; ++j) {
      const int64_t e = r * a.cols + j;
      const double s = a.samples_u8 ? static_cast<const uint8_t*>(a.samples)[e] : static_cast<const float*>(a.samples)[e];
      x[i * a.cols + j] = s * a.scale;
    }
    if (a.labels) {
      static_cast<int32_t*>(target)[i] = a.labels[r];
      continue;
    }
    for (int64_t j = 0; j < a.target_cols; ++j) {
      const int64_t e = r * a.target_cols + j;
      static_cast<double*>(target)[i * a.target_cols + j] =
          table_f32 ? static_cast<const float*>(a.target_table)[e] : static_cast<const double*>(a.target_table)[e];
    }
  }
}

}  // namespace cumlp::reference
