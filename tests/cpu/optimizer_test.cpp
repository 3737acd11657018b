// Optimizers against an independent re-implementation written here from
// PyTorch's documented algorithms (torch.optim.SGD, Adam, AdamW pages):
//
//   SGD:   g = grad + wd * p;  p = p - lr * g
//   SGD, momentum mu (dampening 0): b = g at update 1, else b = mu b + g;
//          p = p - lr * b, or with nesterov p = p - lr * (g + mu b)
//   Adam:  g = grad + wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//          mhat = m / (1 - b1^t);  vhat = v / (1 - b2^t);  p = p - lr * mhat / (sqrt(vhat) + eps)
//   AdamW: p = p - lr * wd * p; then Adam with g = grad
//   L1 (cumlp's addition, the notes' L1 remedy): g += l1 * sign(p) before the above.
//
// The library evaluates the same formulas in torch's operation order
// (m.lerp_, step_size folded), so in double the two agree to rounding:
// a few ulps per step of O(1) values -> atol 1e-14, rtol 1e-12 over 5 steps.
// In float the library rounds every intermediate (eps 6e-8) while the
// reference stays in double -> atol 1e-6, rtol 1e-5.
//
// tests/cpu/optimizer_reference.py regenerates the same trajectories with
// PyTorch where it is installed (optional; not run by ctest).
#include <gtest/gtest.h>

#include <cmath>

#include "compare.h"
#include "cumlp/cumlp.h"
#include "host/cpu/ops_cpu.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 99;
constexpr int kSteps = 5;
constexpr Tol kF64{1e-14, 1e-12};
constexpr Tol kF32{1e-6, 1e-5};

struct RefState {
  std::vector<double> p, m, v;
};

double sign(double x) { return (x > 0) - (x < 0); }

// One step of the documented algorithm, t 1-based.
void reference_step(const Optimizer& o, int t, RefState& s, const std::vector<double>& grad) {
  for (std::size_t i = 0; i < s.p.size(); ++i) {
    double g = grad[i];
    if (o.l1 > 0) g += o.l1 * sign(s.p[i]);
    if (o.kind == OptimizerKind::AdamW)
      s.p[i] -= o.lr * o.weight_decay * s.p[i];
    else
      g += o.weight_decay * s.p[i];
    if (o.kind == OptimizerKind::SGD) {
      if (o.momentum != 0) {  // torch starts the buffer as a copy of g
        s.m[i] = t == 1 ? g : o.momentum * s.m[i] + g;
        g = o.nesterov ? g + o.momentum * s.m[i] : s.m[i];
      }
      s.p[i] -= o.lr * g;
      continue;
    }
    s.m[i] = o.beta1 * s.m[i] + (1 - o.beta1) * g;
    s.v[i] = o.beta2 * s.v[i] + (1 - o.beta2) * g * g;
    const double mhat = s.m[i] / (1 - std::pow(o.beta1, t)), vhat = s.v[i] / (1 - std::pow(o.beta2, t));
    s.p[i] -= o.lr * mhat / (std::sqrt(vhat) + o.eps);
  }
}

struct Case {
  const char* name;
  Optimizer opt;
};

std::vector<Case> cases() {
  Optimizer sgd_l2 = Optimizer::sgd(0.1);
  sgd_l2.weight_decay = 0.05;
  Optimizer sgd_l1 = Optimizer::sgd(0.1);
  sgd_l1.l1 = 0.02;
  Optimizer momentum_l2 = Optimizer::sgd(0.1, 0.9);
  momentum_l2.weight_decay = 0.05;
  Optimizer nesterov_l1 = Optimizer::sgd(0.1, 0.8, true);
  nesterov_l1.l1 = 0.02;
  Optimizer adam_l1 = Optimizer::adam(0.01);
  adam_l1.l1 = 0.01;
  Optimizer adam_betas = Optimizer::adam(0.05);
  adam_betas.beta1 = 0.5;
  adam_betas.beta2 = 0.9;
  adam_betas.eps = 1e-6;
  return {{"sgd", Optimizer::sgd(0.1)},          {"sgd+l2", sgd_l2},
          {"sgd+l1", sgd_l1},                     {"adam", Optimizer::adam(0.01)},
          {"adam+l2", Optimizer::adam(0.01, 0.1)}, {"adam+l1", adam_l1},
          {"adam betas", adam_betas},             {"adamw", Optimizer::adamw(0.01, 0.1)},
          {"sgd momentum", Optimizer::sgd(0.1, 0.9)}, {"sgd nesterov", Optimizer::sgd(0.1, 0.9, true)},
          {"sgd momentum+l2", momentum_l2},       {"sgd nesterov+l1", nesterov_l1}};
}

OptimArgs args_of(const Optimizer& o, int t) { return OptimArgs::from(o, t); }

template <class T>
void check_twin(const Case& c, Tol tol) {
  SCOPED_TRACE(c.name);
  const int64_t n = 9;
  RefState ref{uniform(kSeed, 1, n, -1, 1), std::vector<double>(n, 0), std::vector<double>(n, 0)};
  ref.p[0] = 0;  // sign(0) = 0: no L1 pull on a zero parameter
  // The reference starts from the values the typed buffers actually hold.
  std::vector<T> p = cast<T>(ref.p), m(n, 0), v(n, 0);
  ref.p.assign(p.begin(), p.end());
  for (int t = 1; t <= kSteps; ++t) {
    const std::vector<T> g = cast<T>(uniform(kSeed, 10 + t, n, -2, 2));
    cpu::optimizer_step_cpu<T>(args_of(c.opt, t), n, p.data(), g.data(), m.data(), v.data());
    reference_step(c.opt, t, ref, std::vector<double>(g.begin(), g.end()));
    EXPECT_TRUE(close("params after step " + std::to_string(t), p, ref.p, tol, kSeed));
    if (c.opt.kind != OptimizerKind::SGD || c.opt.momentum != 0) {
      EXPECT_TRUE(close("first moment after step " + std::to_string(t), m, ref.m, tol, kSeed));
    }
    if (c.opt.kind != OptimizerKind::SGD) {
      EXPECT_TRUE(close("second moment after step " + std::to_string(t), v, ref.v, tol, kSeed));
    }
  }
}

TEST(OptimizerTwin, EveryKindMatchesDocumentedAlgorithmF64) {
  for (const Case& c : cases()) check_twin<double>(c, kF64);
}

TEST(OptimizerTwin, EveryKindMatchesDocumentedAlgorithmF32) {
  for (const Case& c : cases()) check_twin<float>(c, kF32);
}

// The fixed trajectory of optimizer_reference.py (p0[i] = 0.1 (i - 4),
// g_t[i] = sin(1.3 i + 0.7 t)), so its PyTorch output can be compared with
// what this test accepts.
TEST(OptimizerTwin, ScriptTrajectory) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    RefState ref{std::vector<double>(9), std::vector<double>(9, 0), std::vector<double>(9, 0)};
    for (int i = 0; i < 9; ++i) ref.p[i] = 0.1 * (i - 4);
    std::vector<double> p = ref.p, m(9, 0), v(9, 0), g(9);
    for (int t = 1; t <= kSteps; ++t) {
      for (int i = 0; i < 9; ++i) g[i] = std::sin(1.3 * i + 0.7 * t);
      cpu::optimizer_step_cpu<double>(args_of(c.opt, t), 9, p.data(), g.data(), m.data(), v.data());
      reference_step(c.opt, t, ref, g);
    }
    EXPECT_TRUE(close("params after 5 steps", p, ref.p, kF64, 0));
  }
}

// End to end through Network: a 1-layer identity model with MSE, whose
// gradient the test computes in closed form from its own copy of the
// parameters (y = x W^T + b, L = mean (y - t)^2, dL/dW = 2/(B N) (y-t)^T x,
// dL/db = 2/(B N) sum_rows (y - t)); the reference optimizer then updates
// that copy. Nothing of the library's is read back but the parameters.
TEST(OptimizerNetwork, OneLayerClosedFormGradientMatchesTrainStep) {
  const int64_t B = 5, in = 3, out = 2;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Network net(ModelSpec::input(in).linear(out).loss(LossKind::MSE), c.opt, {Device{}, DType::F64, kSeed, B});
    RefState ref{net.parameters().to_vector(), {}, {}};
    ref.m.assign(ref.p.size(), 0);
    ref.v.assign(ref.p.size(), 0);
    for (int t = 1; t <= kSteps; ++t) {
      const std::vector<double> x = uniform(kSeed, 40 + t, B * in, -1, 1), tg = uniform(kSeed, 50 + t, B * out, -1, 1);
      // Closed-form gradient; flat layout: W [out, in] then b [out].
      std::vector<double> grad(ref.p.size(), 0);
      for (int64_t r = 0; r < B; ++r)
        for (int64_t j = 0; j < out; ++j) {
          double y = ref.p[out * in + j];
          for (int64_t k = 0; k < in; ++k) y += x[r * in + k] * ref.p[j * in + k];
          const double d = 2 * (y - tg[r * out + j]) / (B * out);
          for (int64_t k = 0; k < in; ++k) grad[j * in + k] += d * x[r * in + k];
          grad[out * in + j] += d;
        }
      net.train_step(Tensor::from({B, in}, x, DType::F64), Tensor::from({B, out}, tg, DType::F64));
      EXPECT_TRUE(close("closed-form gradient at step " + std::to_string(t), net.gradients(), grad, kF64, kSeed));
      reference_step(c.opt, t, ref, grad);
      EXPECT_TRUE(close("parameters after step " + std::to_string(t), net.parameters(), ref.p, kF64, kSeed));
    }
    EXPECT_EQ(net.step_count(), kSteps);
    if (c.opt.kind != OptimizerKind::SGD) {
      EXPECT_TRUE(close("Adam first moment", net.optimizer_state(0), ref.m, kF64, kSeed));
      EXPECT_TRUE(close("Adam second moment", net.optimizer_state(1), ref.v, kF64, kSeed));
    } else if (c.opt.momentum != 0) {
      EXPECT_TRUE(close("SGD velocity", net.optimizer_state(0), ref.m, kF64, kSeed));
      EXPECT_EQ(net.optimizer_state(1).numel(), 0) << "SGD with momentum keeps one buffer";
    } else {
      EXPECT_EQ(net.optimizer_state(0).numel(), 0) << "SGD keeps no moments";
    }
  }
}

// A deeper model, gradients read back each step: the update applied to the
// whole flat buffer (every layer's weights and biases) is the documented one.
TEST(OptimizerNetwork, DeepModelUpdateMatchesReferenceEachStep) {
  const int64_t B = 4;
  ModelSpec spec = ModelSpec::input(3).linear(5).tanh().linear(4, false).relu().linear(2).loss(LossKind::MSE);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Network net(spec, c.opt, {Device{}, DType::F64, kSeed + 1, B});
    RefState ref{net.parameters().to_vector(), {}, {}};
    ref.m.assign(ref.p.size(), 0);
    ref.v.assign(ref.p.size(), 0);
    const Tensor x = Tensor::from({B, 3}, uniform(kSeed, 60, B * 3, -1, 1), DType::F64);
    const Tensor t = Tensor::from({B, 2}, uniform(kSeed, 61, B * 2, -1, 1), DType::F64);
    for (int s = 1; s <= kSteps; ++s) {
      net.compute_gradients(x, t);
      reference_step(c.opt, s, ref, net.gradients().to_vector());
      net.apply_gradients();
      EXPECT_TRUE(close("parameters after step " + std::to_string(s), net.parameters(), ref.p, kF64, kSeed));
    }
  }
}

// set_learning_rate takes effect on the next update and is validated.
TEST(OptimizerNetwork, SetLearningRate) {
  Network net(ModelSpec::input(2).linear(1).loss(LossKind::MSE), Optimizer::sgd(0.1), {Device{}, DType::F64, kSeed, 2});
  net.set_learning_rate(0.5);
  EXPECT_EQ(net.learning_rate(), 0.5);
  const std::vector<double> before = net.parameters().to_vector();
  const Tensor x = Tensor::from({2, 2}, {1, 2, 3, 4}, DType::F64), t = Tensor::from({2, 1}, {1, -1}, DType::F64);
  net.compute_gradients(x, t);
  const std::vector<double> g = net.gradients().to_vector();
  net.apply_gradients();
  std::vector<double> want(before.size());
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = before[i] - 0.5 * g[i];
  EXPECT_TRUE(close("sgd update with lr 0.5", net.parameters(), want, kF64, kSeed));
  EXPECT_THROW(net.set_learning_rate(-1), Error);
  EXPECT_EQ(net.learning_rate(), 0.5) << "a rejected rate leaves the old one";
}

// Momentum outside [0, 1), momentum on Adam, Nesterov without momentum: each
// refused with its own message, never ignored.
TEST(OptimizerSettings, MomentumIsValidated) {
  EXPECT_NO_THROW(Optimizer::sgd(0.1, 0.9, true).validate());
  EXPECT_THROW(Optimizer::sgd(0.1, 1.0).validate(), Error);
  EXPECT_THROW(Optimizer::sgd(0.1, -0.1).validate(), Error);
  EXPECT_THROW(Optimizer::sgd(0.1, 0, true).validate(), Error);
  Optimizer adam = Optimizer::adam();
  adam.momentum = 0.9;
  EXPECT_THROW(adam.validate(), Error);
  EXPECT_EQ(Optimizer::sgd(0.1, 0.9, true).describe(), "sgd(lr=0.1, momentum=0.9, nesterov)");
}

}  // namespace
}  // namespace cumlp::test
