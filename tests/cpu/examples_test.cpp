// The course notes' small experiments (SPEC §2 experiments 1-3 and the
// perceptron table of §1), reproduced through the public API.
#include <gtest/gtest.h>

#include "compare.h"
#include "cumlp/cumlp.h"

namespace cumlp::test {
namespace {

// ---- Experiment 1: the backprop worked example -------------------------------

// The numbers the notes print, 8 decimals.
constexpr double kH1 = 0.51998934, kH2 = 0.52747230, kO1 = 0.60944600, kO2 = 0.66384491;
constexpr double kLossBefore = 0.02397190, kLossAfter = 0.02323634;
// W1..W8 after one SGD step (lr 0.5).
constexpr double kWeightsAfter[8] = {0.29959556, 0.24919112, 0.39964496, 0.34928991,
                                     0.43703857, 0.38685205, 0.69629578, 0.59624247};

void run_backprop_example(DType dt, Tol tol) {
  SCOPED_TRACE(dtype_name(dt));
  ModelSpec spec = ModelSpec::input(2).linear(2, false).sigmoid().linear(2, false).sigmoid().loss(LossKind::HalfSSE);
  Network net(spec, Optimizer::sgd(0.5), {Device{}, dt, 777, 1});
  // Rows are output units: h1 = (W1, W2), h2 = (W3, W4), o1 = (W5, W6), o2 = (W7, W8).
  // The dtype is explicit: Tensor::from defaults to F32 and would round them.
  net.set_weight(0, Tensor::from({2, 2}, {0.3, 0.25, 0.4, 0.35}, dt));
  net.set_weight(1, Tensor::from({2, 2}, {0.45, 0.4, 0.7, 0.6}, dt));
  const Tensor x = Tensor::from({1, 2}, {0.1, 0.2}, dt), t = Tensor::from({1, 2}, {0.4, 0.6}, dt);

  const std::vector<Tensor> layers = net.forward_layers(x);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_TRUE(close("h1, h2", layers[0], {kH1, kH2}, tol, 0));
  EXPECT_TRUE(close("o1, o2", layers[1], {kO1, kO2}, tol, 0));
  EXPECT_TRUE(close("loss before (evaluate_loss)", net.evaluate_loss(x, t), kLossBefore, tol, 0));
  EXPECT_TRUE(close("loss before (train_step)", net.train_step(x, t), kLossBefore, tol, 0));
  EXPECT_EQ(net.step_count(), 1);
  std::vector<double> w = net.weight(0).to_vector();
  for (double v : net.weight(1).to_vector()) w.push_back(v);
  EXPECT_TRUE(close("W1..W8 after one step", w, std::vector<double>(kWeightsAfter, kWeightsAfter + 8), tol, 0));
  EXPECT_TRUE(close("loss after", net.evaluate_loss(x, t), kLossAfter, tol, 0));
}

// F64: the notes round to 8 decimals (error <= 5e-9), so 1e-8 absolute.
TEST(BackpropExample, ReproducesEveryPrintedNumberF64) { run_backprop_example(DType::F64, Tol{1e-8, 0}); }

// F32: float carries ~7 significant digits (eps 6e-8 on O(1) values, a few
// roundings deep), so 1e-6 absolute.
TEST(BackpropExample, ReproducesEveryPrintedNumberF32) { run_backprop_example(DType::F32, Tol{1e-6, 0}); }

// ---- Experiments 2 and 3: XOR --------------------------------------------------

struct XorResult {
  std::vector<int32_t> pred;
  double accuracy;
  double loss;
};

XorResult train_xor(const std::string& layers) {
  ModelSpec spec = ModelSpec::parse(layers, Activation::Sigmoid, -1, Activation::Sigmoid);
  spec.loss(LossKind::BCE);
  Network net(spec, Optimizer::sgd(1.0), {Device{}, DType::F32, 777, 4});
  const Tensor x = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}), t = Tensor::from({4, 1}, {0, 1, 1, 0});
  for (int step = 0; step < 10001; ++step) net.train_step(x, t);
  XorResult r{net.predict_classes(x), 0, net.evaluate_loss(x, t)};
  const int32_t want[4] = {0, 1, 1, 0};
  for (int i = 0; i < 4; ++i) r.accuracy += (r.pred[static_cast<std::size_t>(i)] == want[i]) / 4.0;
  return r;
}

// A single Linear(2,1)+sigmoid cannot separate XOR: it must fail as in the notes.
TEST(Xor, SingleLayerFails) {
  const XorResult r = train_xor("2-1");
  EXPECT_LE(r.accuracy, 0.75) << "a linear classifier cannot learn XOR";
  // It settles near the constant 0.5 solution: BCE close to log 2.
  EXPECT_GT(r.loss, 0.6);
}

TEST(Xor, MlpLearnsXor) {
  const XorResult r = train_xor("2-10-10-10-1");
  EXPECT_EQ(r.pred, (std::vector<int32_t>{0, 1, 1, 0})) << "loss " << r.loss;
  EXPECT_LT(r.loss, 0.1);
}

// ---- Perceptrons -----------------------------------------------------------------

TEST(Gates, FixedWeightTruthTables) {
  const int inputs[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const struct { Gate gate; int table[4]; } cases[] = {{Gate::AND, {0, 0, 0, 1}},
                                                       {Gate::NAND, {1, 1, 1, 0}},
                                                       {Gate::OR, {0, 1, 1, 1}},
                                                       {Gate::XOR, {0, 1, 1, 0}}};
  for (const auto& c : cases)
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(gate_output(c.gate, inputs[i][0], inputs[i][1]), c.table[i])
          << gate_name(c.gate) << "(" << inputs[i][0] << ", " << inputs[i][1] << ")";
  EXPECT_STREQ(gate_name(Gate::NAND), "NAND");
  EXPECT_THROW(gate_output(Gate::AND, 2, 0), Error);
}

TEST(Perceptron, LearningRuleLearnsAndAndOr) {
  const std::vector<std::vector<double>> xs = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (const auto& [name, targets] : {std::pair<std::string, std::vector<int>>{"AND", {-1, -1, -1, 1}},
                                      std::pair<std::string, std::vector<int>>{"OR", {-1, 1, 1, 1}}}) {
    SCOPED_TRACE(name);
    Perceptron p(2, 0.1);
    const std::vector<int> errors = p.fit(xs, targets, 20);
    ASSERT_EQ(errors.size(), 20u);
    EXPECT_GT(errors.front(), 0) << "it starts untrained";
    EXPECT_EQ(errors.back(), 0) << "the errors reach 0";
    std::vector<int> pred;
    for (const auto& x : xs) pred.push_back(p.predict(x));
    EXPECT_EQ(pred, targets);
  }
}

// One step of the rule done by hand: w += rate (t - predict(x)) x, b likewise.
TEST(Perceptron, RuleMatchesTheFormula) {
  Perceptron p(2, 0.25);
  EXPECT_EQ(p.predict({1, 1}), -1);  // w = 0, b = 0: w.x + b = 0 is not > 0
  const std::vector<int> errors = p.fit({{1, 1}}, {1}, 1);
  EXPECT_EQ(errors, std::vector<int>{1});
  EXPECT_DOUBLE_EQ(p.weights()[0], 0.5);  // 0.25 * (1 - (-1)) * 1
  EXPECT_DOUBLE_EQ(p.weights()[1], 0.5);
  EXPECT_DOUBLE_EQ(p.bias(), 0.5);
  EXPECT_EQ(p.predict({1, 1}), 1);
}

}  // namespace
}  // namespace cumlp::test
