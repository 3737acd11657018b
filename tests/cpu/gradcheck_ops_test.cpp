// Finite differences against the analytic derivatives of every activation
// (the shared kernel form, host/shared/activation.h, and the plain
// reference's own, host/cpu/reference), every loss and the fused Linear ops,
// at the Backend op level on the reference backend (plain loops, double
// accumulation), all in double.
//
// Step h = 1e-6, central differences. Error of (f(x+h) - f(x-h)) / 2h:
// truncation h^2/6 * |f'''| ~ 1e-13 for these smooth O(1) functions, plus
// rounding ~ eps * |f| / h ~ 2.2e-16 * 50 / 1e-6 ~ 1e-8 at most (|f| <= 50,
// the widest logits); typically 1e-10. Hence atol 1e-8 and rtol 1e-6: two
// orders above the expected error, and far below any real derivative bug
// (a wrong factor or sign is an O(1) relative error).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "compare.h"
#include "cumlp/model.h"
#include "host/cpu/reference/reference_backend.h"
#include "host/cpu/reference/reference_ops.h"
#include "host/executor/plan.h"
#include "host/shared/activation.h"

namespace cumlp::test {
namespace {

constexpr double kH = 1e-6;
constexpr Tol kFdTol{1e-8, 1e-6};  // see the file comment
constexpr uint64_t kSeed = 20240601;

// Central-difference gradient of f with respect to every element of v.
std::vector<double> numeric_gradient(std::vector<double>& v, const std::function<double()>& f) {
  std::vector<double> g(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + kH;
    const double up = f();
    v[i] = keep - kH;
    const double down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * kH);
  }
  return g;
}

struct ActCase {
  const char* name;
  int32_t code;
  double alpha;
};
const ActCase kActs[] = {{"identity", ops::kIdentity, 0}, {"step", ops::kStep, 0},
                         {"sigmoid", ops::kSigmoid, 0},   {"tanh", ops::kTanh, 0},
                         {"relu", ops::kReLU, 0},         {"leaky-relu 0.01", ops::kLeakyReLU, 0.01},
                         {"leaky-relu 0.3", ops::kLeakyReLU, 0.3}, {"elu 1", ops::kELU, 1.0},
                         {"elu 0.5", ops::kELU, 0.5}};

TEST(GradCheckOps, EveryActivationDerivativeMatchesFiniteDifferences) {
  for (const ActCase& c : kActs) {
    // Points at least 1e-3 from 0: the kinked activations (step, relu, leaky,
    // elu's second derivative) have no usable central difference across 0.
    std::vector<double> xs = uniform_away_from_zero(kSeed, 1, 400, -6, 6, 1e-3);
    std::vector<double> analytic, numeric;
    for (double x : xs) {
      analytic.push_back(ops::act_derivative<double>(c.code, ops::act_forward<double>(c.code, x, c.alpha), c.alpha));
      const double up = ops::act_forward<double>(c.code, x + kH, c.alpha);
      const double down = ops::act_forward<double>(c.code, x - kH, c.alpha);
      numeric.push_back((up - down) / (2 * kH));
    }
    EXPECT_TRUE(close(std::string("d/dx ") + c.name, analytic, numeric, kFdTol, kSeed));
  }
}

// The reference writes its activations itself (sharing nothing with the
// kernels' header): its derivative, taken from the output, against finite
// differences of its forward.
TEST(GradCheckOps, ReferenceActivationDerivativeMatchesFiniteDifferences) {
  for (const ActCase& c : kActs) {
    const std::vector<double> xs = uniform_away_from_zero(kSeed, 12, 400, -6, 6, 1e-3);
    std::vector<double> analytic, numeric;
    for (double x : xs) {
      analytic.push_back(reference::activation_derivative(c.code, reference::activation(c.code, x, c.alpha), c.alpha));
      numeric.push_back((reference::activation(c.code, x + kH, c.alpha) - reference::activation(c.code, x - kH, c.alpha)) /
                        (2 * kH));
    }
    EXPECT_TRUE(close(std::string("reference d/dx ") + c.name, analytic, numeric, kFdTol, kSeed));
  }
}

TEST(GradCheckOps, StepDerivativeIsZeroAwayFromZero) {
  for (double x : {-3.0, -1e-3, 1e-3, 2.0}) {
    EXPECT_EQ(ops::act_derivative<double>(ops::kStep, ops::act_forward<double>(ops::kStep, x, 0), 0), 0.0);
    EXPECT_EQ((ops::act_forward<double>(ops::kStep, x + kH, 0) - ops::act_forward<double>(ops::kStep, x - kH, 0)), 0.0);
  }
}

TEST(GradCheckOps, PublicActivationValueMatchesKernelForm) {
  const Activation acts[] = {Activation::Identity, Activation::Step, Activation::Sigmoid, Activation::Tanh,
                             Activation::ReLU,     Activation::LeakyReLU, Activation::ELU};
  const std::vector<double> xs = uniform(kSeed, 2, 200, -5, 5);
  for (Activation a : acts) {
    const double alpha = default_alpha(a);
    std::vector<double> pub, kern;
    for (double x : xs) {
      pub.push_back(activation_value(a, x, alpha));
      kern.push_back(ops::act_forward<double>(act_code(a), x, alpha));
    }
    // Same formula up to expm1(x) vs exp(x) - 1 in ELU: a few ulps of O(1) values.
    EXPECT_TRUE(close(std::string("activation_value ") + activation_name(a), pub, kern, Tol{1e-15, 1e-14}, kSeed));
  }
}

// ---- losses: loss_forward_backward's dz against d loss / d input ---------------

class LossGrad : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> ref = make_reference_backend();

  double loss(const LossArgs& args, const std::vector<double>& y, const void* target) {
    LossArgs a = args;
    a.want_grad = false;
    double l = 0;
    std::vector<double> scratch(y.size());
    ref->loss_forward_backward(DType::F64, a, y.data(), target, scratch.data(), &l);
    return l;
  }
  std::vector<double> grad(const LossArgs& args, const std::vector<double>& y, const void* target) {
    double l = 0;
    std::vector<double> dz(y.size());
    ref->loss_forward_backward(DType::F64, args, y.data(), target, dz.data(), &l);
    return dz;
  }
  // d loss / d y for an identity output layer.
  void check(const char* what, LossKind kind, int64_t rows, int64_t cols, std::vector<double> y, const void* target) {
    LossArgs a;
    a.kind = static_cast<int32_t>(kind);
    a.rows = rows;
    a.cols = cols;
    const std::vector<double> analytic = grad(a, y, target);
    const std::vector<double> numeric = numeric_gradient(y, [&] { return loss(a, y, target); });
    EXPECT_TRUE(close(what, analytic, numeric, kFdTol, kSeed));
  }
};

TEST_F(LossGrad, CrossEntropyOnLogitsModerateAndWideRange) {
  const int64_t rows = 6, cols = 7;
  const std::vector<int32_t> cls = classes(kSeed, 3, rows, cols);
  check("cross-entropy logits in [-3, 3]", LossKind::CrossEntropy, rows, cols, uniform(kSeed, 4, rows * cols, -3, 3),
        cls.data());
  // +-50: exp overflows float and underflows to 0 for most classes; the
  // log-sum-exp must stay stable and the gradient exact.
  std::vector<double> wide = uniform(kSeed, 5, rows * cols, -50, 50);
  wide[0] = 50;
  wide[1] = -50;
  check("cross-entropy logits in [-50, 50]", LossKind::CrossEntropy, rows, cols, wide, cls.data());
}

TEST_F(LossGrad, BceOnProbabilities) {
  const int64_t rows = 5, cols = 3;
  // Probabilities in (0.05, 0.95): away from the clamp at log(0) = -100.
  const std::vector<double> t = uniform(kSeed, 6, rows * cols, 0, 1);
  check("bce", LossKind::BCE, rows, cols, uniform(kSeed, 7, rows * cols, 0.05, 0.95), t.data());
}

TEST_F(LossGrad, SquaredErrorLosses) {
  const int64_t rows = 4, cols = 5;
  const std::vector<double> t = uniform(kSeed, 8, rows * cols, -2, 2);
  const std::vector<double> y = uniform(kSeed, 9, rows * cols, -2, 2);
  check("mse (mean)", LossKind::MSE, rows, cols, y, t.data());
  check("mse-sum", LossKind::MSESum, rows, cols, y, t.data());
  check("half-sse", LossKind::HalfSSE, rows, cols, y, t.data());
}

// The output activation's derivative is fused into the loss gradient: dz is
// d loss / d pre-activation. Check it for softmax + mse and sigmoid + bce.
TEST_F(LossGrad, FusedOutputActivation) {
  const int64_t rows = 4, cols = 5;
  struct Case { const char* name; LossKind loss; int32_t act; };
  for (const Case& c : {Case{"softmax + mse", LossKind::MSE, ops::kSoftmax},
                        Case{"softmax + half-sse", LossKind::HalfSSE, ops::kSoftmax},
                        Case{"sigmoid + bce", LossKind::BCE, ops::kSigmoid},
                        Case{"tanh + mse-sum", LossKind::MSESum, ops::kTanh}}) {
    std::vector<double> z = uniform(kSeed, 10, rows * cols, -3, 3);
    const std::vector<double> t = uniform(kSeed, 11, rows * cols, 0, 1);
    // The activation computed independently of the library.
    auto activate = [&](const std::vector<double>& zz) {
      std::vector<double> y(zz.size());
      for (int64_t i = 0; i < rows; ++i) {
        const double* zr = zz.data() + i * cols;
        double* yr = y.data() + i * cols;
        if (c.act == ops::kSoftmax) {
          double sum = 0;
          for (int64_t j = 0; j < cols; ++j) sum += std::exp(zr[j]);
          for (int64_t j = 0; j < cols; ++j) yr[j] = std::exp(zr[j]) / sum;
        } else {
          for (int64_t j = 0; j < cols; ++j) yr[j] = c.act == ops::kSigmoid ? 1 / (1 + std::exp(-zr[j])) : std::tanh(zr[j]);
        }
      }
      return y;
    };
    LossArgs a;
    a.kind = static_cast<int32_t>(c.loss);
    a.rows = rows;
    a.cols = cols;
    a.out_act = c.act;
    const std::vector<double> analytic = grad(a, activate(z), t.data());
    const std::vector<double> numeric = numeric_gradient(z, [&] { return loss(a, activate(z), t.data()); });
    EXPECT_TRUE(close(c.name, analytic, numeric, kFdTol, kSeed));
  }
}

// ---- Linear: two fused layers, gradients of weights, biases and input ---------
//
// x [M, K] -> layer 1: y1 = act1(x W1^T + b1), dropout -> layer 2: y2 = x W2^T + b2
// -> mse. The backward path is exactly the executor's: loss dz2, weight
// gradients of layer 2 from the dropped y1, linear_backward_data with
// layer 1's activation and dropout fused, weight gradients of layer 1, and
// one more linear_backward_data (identity, no dropout) for d loss / d x.
struct TwoLayer {
  int64_t M = 5, K = 4, N1 = 6, N2 = 3;
  Epilogue ep1;
  std::vector<double> x, w1, b1, w2, b2, t;
  std::unique_ptr<Backend> ref = make_reference_backend();
  std::vector<double> y1, y1d, y2;

  LossArgs loss_args(bool grad) const {
    LossArgs a;
    a.kind = static_cast<int32_t>(LossKind::MSE);
    a.rows = M;
    a.cols = N2;
    a.want_grad = grad;
    return a;
  }
  const double* layer2_input() const { return ep1.dropout_p > 0 ? y1d.data() : y1.data(); }
  double forward() {
    y1.assign(M * N1, 0);
    y1d.assign(M * N1, 0);
    y2.assign(M * N2, 0);
    ref->linear_act_forward(DType::F64, M, N1, K, x.data(), w1.data(), b1.data(), ep1, y1.data(),
                            ep1.dropout_p > 0 ? y1d.data() : nullptr);
    ref->linear_act_forward(DType::F64, M, N2, N1, layer2_input(), w2.data(), b2.data(), Epilogue{}, y2.data(), nullptr);
    double l = 0;
    std::vector<double> scratch(M * N2);
    ref->loss_forward_backward(DType::F64, loss_args(false), y2.data(), t.data(), scratch.data(), &l);
    return l;
  }
  // Analytic gradients, in the order x, w1, b1, w2, b2.
  std::vector<std::vector<double>> backward() {
    forward();
    double l = 0;
    std::vector<double> dz2(M * N2), dz1(M * N1), dx(M * K), dw1(N1 * K), db1(N1), dw2(N2 * N1), db2(N2);
    ref->loss_forward_backward(DType::F64, loss_args(true), y2.data(), t.data(), dz2.data(), &l);
    ref->linear_backward_weight(DType::F64, M, N2, N1, dz2.data(), layer2_input(), dw2.data(), db2.data());
    ref->linear_backward_data(DType::F64, M, N2, N1, dz2.data(), w2.data(), y1.data(), ep1, dz1.data());
    ref->linear_backward_weight(DType::F64, M, N1, K, dz1.data(), x.data(), dw1.data(), db1.data());
    ref->linear_backward_data(DType::F64, M, N1, K, dz1.data(), w1.data(), x.data(), Epilogue{}, dx.data());
    return {dx, dw1, db1, dw2, db2};
  }
};

TEST(GradCheckOps, LinearWeightsBiasAndInputWithFusedActivationAndDropout) {
  for (const ActCase& c : kActs) {
    for (double p : {0.0, 0.4}) {
      TwoLayer net;
      net.ep1.act = c.code;
      net.ep1.alpha = c.alpha;
      net.ep1.dropout_p = p;
      net.ep1.seed = kSeed;  // fixed (seed, layer, step): the same mask in every evaluation
      net.ep1.layer = 0;
      net.ep1.step = 3;
      net.x = uniform(kSeed, 20, net.M * net.K, -1, 1);
      net.w1 = uniform(kSeed, 21, net.N1 * net.K, -1, 1);
      net.b1 = uniform(kSeed, 22, net.N1, -0.5, 0.5);
      net.w2 = uniform(kSeed, 23, net.N2 * net.N1, -1, 1);
      net.b2 = uniform(kSeed, 24, net.N2, -0.5, 0.5);
      net.t = uniform(kSeed, 25, net.M * net.N2, -1, 1);
      const std::vector<std::vector<double>> analytic = net.backward();
      std::vector<double>* params[] = {&net.x, &net.w1, &net.b1, &net.w2, &net.b2};
      const char* names[] = {"d/dx", "d/dW1", "d/db1", "d/dW2", "d/db2"};
      for (int k = 0; k < 5; ++k) {
        const std::vector<double> numeric = numeric_gradient(*params[k], [&] { return net.forward(); });
        EXPECT_TRUE(close(std::string(names[k]) + " act " + c.name + " dropout " + std::to_string(p), analytic[k],
                          numeric, kFdTol, kSeed));
      }
    }
  }
}

}  // namespace
}  // namespace cumlp::test
