// Finite differences against Network::compute_gradients for whole models:
// 2-3 layers, every hidden activation, with and without bias, every loss,
// softmax as the final activation, dropout. F64 on the cpu device.
//
// The function differentiated is the training-mode loss as a function of the
// flat parameters: set_parameters, then the loss. Without dropout that is
// evaluate_loss; with dropout evaluate_loss would drop the masks (evaluation
// mode), so compute_gradients' returned loss is used instead: it does not
// advance the step count, so every evaluation draws the same mask.
//
// h = 1e-6, tolerance atol 1e-8 + rtol 1e-6: the central difference's
// truncation error is ~h^2 * |f'''| ~ 1e-12 and its rounding error
// ~ eps * |loss| / h ~ 1e-10 for these O(1) losses; a wrong gradient is off
// by O(1) relative. Pre-activations are continuous random values, so a
// perturbation of 1e-6 crossing a ReLU-type kink has probability ~1e-5 per
// element; the seeds below are fixed and do not hit one.
#include <gtest/gtest.h>

#include "compare.h"
#include "cumlp/cumlp.h"

namespace cumlp::test {
namespace {

constexpr double kH = 1e-6;
constexpr Tol kFdTol{1e-8, 1e-6};
constexpr uint64_t kSeed = 4242;
constexpr int64_t kBatch = 6;

Tensor f64(std::vector<int64_t> shape, const std::vector<double>& v) { return Tensor::from(std::move(shape), v, DType::F64); }

// Targets that suit the loss: class indices, 0..1 values (bce) or any reals.
Tensor targets_for(const ModelSpec& spec, uint64_t seed) {
  const int64_t out = spec.output_features();
  if (spec.loss_kind() == LossKind::CrossEntropy) {
    std::vector<double> cls;
    for (int32_t c : classes(seed, 31, kBatch, static_cast<int32_t>(out))) cls.push_back(c);
    return f64({kBatch}, cls);
  }
  const bool unit = spec.loss_kind() == LossKind::BCE;
  return f64({kBatch, out}, uniform(seed, 32, kBatch * out, unit ? 0 : -1, 1));
}

void check_model(const std::string& name, const ModelSpec& spec, uint64_t seed = kSeed) {
  SCOPED_TRACE(name + ": " + spec.describe());
  Network net(spec, Optimizer::sgd(0.05), {Device{}, DType::F64, seed, kBatch});
  const Tensor x = f64({kBatch, spec.input_features()}, uniform(seed, 30, kBatch * spec.input_features(), -1, 1));
  const Tensor t = targets_for(spec, seed);
  bool has_dropout = false;
  for (const Layer& l : spec.layers()) has_dropout |= l.kind == LayerKind::Dropout && l.p > 0;
  if (has_dropout) net.train_step(x, t);  // masks keyed by a non-zero step

  const double loss = net.compute_gradients(x, t);
  const std::vector<double> analytic = net.gradients().to_vector();
  std::vector<double> p = net.parameters().to_vector();
  const int64_t n = net.parameter_count();
  auto f = [&] {
    net.set_parameters(f64({n}, p));
    return has_dropout ? net.compute_gradients(x, t) : net.evaluate_loss(x, t);
  };
  if (has_dropout) {  // the training-mode loss really differs from evaluation mode
    EXPECT_NE(loss, net.evaluate_loss(x, t));
  }
  EXPECT_EQ(f(), loss) << "the differentiated function must be the loss compute_gradients saw";
  std::vector<double> numeric(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double keep = p[i];
    p[i] = keep + kH;
    const double up = f();
    p[i] = keep - kH;
    const double down = f();
    p[i] = keep;
    numeric[i] = (up - down) / (2 * kH);
  }
  EXPECT_TRUE(close(name + " d loss / d parameters", analytic, numeric, kFdTol, seed));
}

TEST(GradCheckNetwork, EveryHiddenActivationWithAndWithoutBias) {
  const Activation acts[] = {Activation::Identity, Activation::Step, Activation::Sigmoid, Activation::Tanh,
                             Activation::ReLU,     Activation::LeakyReLU, Activation::ELU};
  for (Activation a : acts) {
    for (bool bias : {true, false}) {
      const double alpha = a == Activation::LeakyReLU ? 0.1 : a == Activation::ELU ? 0.7 : -1;
      ModelSpec three = ModelSpec::input(3)
                            .linear(5, bias).activation(a, alpha)
                            .linear(4, bias).activation(a, alpha)
                            .linear(2, bias)
                            .loss(LossKind::MSE);
      check_model(std::string("3 layers ") + activation_name(a) + (bias ? " bias" : " no bias"), three);
      ModelSpec two = ModelSpec::input(4).linear(3, bias).activation(a, alpha).linear(2, !bias).loss(LossKind::MSE);
      check_model(std::string("2 layers ") + activation_name(a), two);
    }
  }
}

TEST(GradCheckNetwork, EveryLoss) {
  check_model("cross-entropy", ModelSpec::input(4).linear(6).relu().linear(3).loss(LossKind::CrossEntropy));
  check_model("bce", ModelSpec::input(3).linear(4).tanh().linear(2).sigmoid().loss(LossKind::BCE));
  check_model("mse", ModelSpec::input(3).linear(4).elu().linear(2).loss(LossKind::MSE));
  check_model("mse-sum", ModelSpec::input(3).linear(4).sigmoid().linear(2).tanh().loss(LossKind::MSESum));
  check_model("half-sse", ModelSpec::input(2).linear(2, false).sigmoid().linear(2, false).sigmoid().loss(LossKind::HalfSSE));
}

TEST(GradCheckNetwork, SoftmaxFinalActivationWithMse) {
  check_model("softmax + mse",
              ModelSpec::input(3).linear(5).sigmoid().linear(4).activation(Activation::Softmax).loss(LossKind::MSE));
  check_model("softmax + half-sse",
              ModelSpec::input(4).linear(3, false).activation(Activation::Softmax).loss(LossKind::HalfSSE));
}

TEST(GradCheckNetwork, DropoutWithFixedMask) {
  check_model("dropout after tanh and relu", ModelSpec::input(3)
                                                 .linear(8).tanh().dropout(0.3)
                                                 .linear(6).relu().dropout(0.5)
                                                 .linear(2)
                                                 .loss(LossKind::MSE));
  check_model("dropout + cross-entropy",
              ModelSpec::input(4).linear(7).leaky_relu(0.05).dropout(0.25).linear(3).loss(LossKind::CrossEntropy));
  check_model("dropout, no bias",
              ModelSpec::input(3).linear(6, false).sigmoid().dropout(0.4).linear(2, false).sigmoid().loss(LossKind::BCE));
}

// Cross-entropy on a model whose logits reach about +-50: the fused
// softmax-cross-entropy gradient must stay exact where exp() of the logits
// would overflow a float.
TEST(GradCheckNetwork, CrossEntropyWideLogits) {
  ModelSpec spec = ModelSpec::input(2).linear(4).loss(LossKind::CrossEntropy);
  Network net(spec, Optimizer::sgd(0.1), {Device{}, DType::F64, kSeed, kBatch});
  // Scale the parameters so logits span tens.
  Tensor p = net.parameters();
  for (int64_t i = 0; i < p.numel(); ++i) p.set(i, p.at(i) * 60);
  net.set_parameters(p);
  const Tensor x = f64({kBatch, 2}, uniform(kSeed, 33, kBatch * 2, -1, 1));
  const Tensor logits = net.forward(x);
  double widest = 0;
  for (double v : logits.to_vector()) widest = std::max(widest, std::fabs(v));
  EXPECT_GT(widest, 30) << "the test needs a wide logit range";
  std::vector<double> cls;
  for (int32_t c : classes(kSeed, 34, kBatch, 4)) cls.push_back(c);
  const Tensor t = f64({kBatch}, cls);
  net.compute_gradients(x, t);
  const std::vector<double> analytic = net.gradients().to_vector();
  std::vector<double> v = p.to_vector(), numeric(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + kH;
    net.set_parameters(f64({p.numel()}, v));
    const double up = net.evaluate_loss(x, t);
    v[i] = keep - kH;
    net.set_parameters(f64({p.numel()}, v));
    const double down = net.evaluate_loss(x, t);
    v[i] = keep;
    numeric[i] = (up - down) / (2 * kH);
  }
  // Losses here reach ~50, so the rounding term is eps * 50 / h ~ 1e-8:
  // atol 1e-7 keeps a 10x margin over it.
  EXPECT_TRUE(close("wide-logit cross-entropy gradient", analytic, numeric, Tol{1e-7, 1e-6}, kSeed));
}

}  // namespace
}  // namespace cumlp::test
