// Bad input: each case throws cumlp::Error whose message says what was wrong
// (checked by substring), never crashes or silently continues. Also the
// comparison helper itself must catch what it is meant to catch.
#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "compare.h"
#include "cumlp/cumlp.h"

namespace cumlp::test {
namespace {

// Runs f, expecting cumlp::Error whose message contains every `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<const char*> parts) {
  try {
    f();
  } catch (const Error& e) {
    for (const char* p : parts) { EXPECT_NE(e.message().find(p), std::string::npos) << "message: " << e.message(); }
    EXPECT_EQ(e.message().find('\n'), std::string::npos) << "one line: " << e.message();
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-cumlp exception: " << e.what();
    return;
  }
  ADD_FAILURE() << "no error thrown; expected one mentioning " << *parts.begin();
}

Network small(const ModelSpec& spec) { return Network(spec, Optimizer::sgd(0.1), {Device{}, DType::F64, 777, 4}); }

TEST(Errors, WrongInputAndTargetShapes) {
  Network mse = small(ModelSpec::input(3).linear(2).loss(LossKind::MSE));
  const Tensor x = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}), t = Tensor::from({2, 2}, {0, 1, 1, 0});
  expect_error([&] { mse.train_step(Tensor({2, 4}), t); }, {"input has shape [2, 4]", "expected [batch, 3]"});
  expect_error([&] { mse.forward(Tensor({6})); }, {"input has shape", "expected [batch, 3]"});
  expect_error([&] { mse.train_step(x, Tensor({2, 3})); }, {"target has shape [2, 3]", "expected [2, 2]"});
  expect_error([&] { mse.compute_gradients(x, Tensor({3, 2})); }, {"target has shape", "expected [2, 2]"});

  Network ce = small(ModelSpec::input(3).linear(4).loss(LossKind::CrossEntropy));
  expect_error([&] { ce.train_step(x, Tensor({2, 4})); }, {"cross-entropy target", "class indices"});
  expect_error([&] { ce.train_step(x, Tensor::from({2}, {0, 4})); }, {"class 4", "[0, 4)"});
  expect_error([&] { ce.train_step(x, Tensor::from({2}, {-1, 0})); }, {"class -1", "not an integer in [0, 4)"});
  expect_error([&] { ce.train_step(x, Tensor::from({2}, {1.5, 0})); }, {"class 1.5", "not an integer"});
  expect_error([&] { ce.train_step(x, Tensor::from({2}, {0, std::numeric_limits<double>::quiet_NaN()})); },
               {"target row 1", "not an integer"});
  EXPECT_NO_THROW(ce.train_step(x, Tensor::from({2, 1}, {3, 0})));  // [B, 1] accepted too
}

TEST(Errors, UnknownNames) {
  expect_error([] { parse_activation("swish"); }, {"unknown activation 'swish'", "relu"});
  expect_error([] { parse_loss("hinge"); }, {"unknown loss 'hinge'", "cross-entropy"});
  expect_error([] { parse_optimizer("rmsprop"); }, {"unknown optimizer 'rmsprop'", "adamw"});
  expect_error([] { Device::parse("tpu"); }, {"unknown device 'tpu'", "cuda:N"});
  expect_error([] { Device::parse("cuda:x"); }, {"cuda:x", "index must be a number"});
}

TEST(Errors, BadLearningRates) {
  const ModelSpec spec = ModelSpec::input(2).linear(1).loss(LossKind::MSE);
  for (double lr : {-0.1, 0.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(lr);
    expect_error([&] { Network(spec, Optimizer::sgd(lr)); }, {"learning rate must be a positive number"});
    expect_error([&] { Network(spec, Optimizer::adam(lr)); }, {"learning rate"});
  }
  Optimizer o = Optimizer::adam();
  o.beta1 = 1;
  expect_error([&] { o.validate(); }, {"beta1"});
  o = Optimizer::adam(0.01, -1);
  expect_error([&] { o.validate(); }, {"weight decay must be >= 0"});
  o = Optimizer::sgd(0.1);
  o.l1 = -0.5;
  expect_error([&] { o.validate(); }, {"l1 penalty must be >= 0"});
}

TEST(Errors, BadModels) {
  const Optimizer sgd = Optimizer::sgd(0.1);
  expect_error([&] { Network(ModelSpec::input(3), sgd); }, {"model is empty", "no Linear"});
  expect_error([&] { Network(ModelSpec(), sgd); }, {"no input size"});
  expect_error([] { ModelSpec::input(0); }, {"at least 1 feature"});
  expect_error([] { ModelSpec::input(3).linear(0); }, {"Linear needs at least 1 output"});
  // Activation not following a Linear: first, or twice in a row.
  expect_error([&] { ModelSpec::input(3).relu().linear(2).validate(); }, {"layer 0", "must start with a Linear"});
  expect_error([&] { ModelSpec::input(3).linear(4).relu().sigmoid().linear(2).validate(); },
               {"layer 2", "must directly follow a Linear layer"});
  expect_error([&] { ModelSpec::input(3).linear(4).dropout(0.5).relu().linear(2).validate(); },
               {"layer 2", "must directly follow a Linear layer"});
  // Dropout p outside [0, 1), and where it cannot go.
  for (double p : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(p);
    expect_error([&] { ModelSpec::input(3).linear(4).dropout(p).linear(2).validate(); },
                 {"layer 1", "dropout probability must be in [0, 1)"});
  }
  expect_error([&] { ModelSpec::input(3).linear(4).linear(2).dropout(0.5).validate(); }, {"after the last Linear"});
  // Activation parameters.
  expect_error([&] { ModelSpec::input(3).linear(4).leaky_relu(-0.1).linear(2).validate(); },
               {"layer 1", "LeakyReLU slope must be >= 0"});
  expect_error([&] { ModelSpec::input(3).linear(4).elu(-1).linear(2).validate(); },
               {"layer 1", "ELU alpha must be > 0"});
  expect_error([&] { ModelSpec::input(3).linear(4).elu(0).linear(2).validate(); }, {"ELU alpha must be > 0"});
  // Cross-entropy takes logits.
  for (Activation a : {Activation::Softmax, Activation::Sigmoid}) {
    expect_error([&] { Network(ModelSpec::input(3).linear(4).activation(a).loss(LossKind::CrossEntropy), sgd); },
                 {"cross-entropy takes logits", activation_name(a)});
  }
  expect_error([&] { ModelSpec::input(3).linear(4).activation(Activation::Softmax).linear(2).loss(LossKind::MSE).validate(); },
               {"softmax is only allowed after the last Linear"});
}

TEST(Errors, LayerSpecStrings) {
  expect_error([] { ModelSpec::parse("784--10", Activation::ReLU, -1); }, {"784--10", "empty size"});
  expect_error([] { ModelSpec::parse("784", Activation::ReLU, -1); }, {"'784'", "at least an input and an output"});
  expect_error([] { ModelSpec::parse("abc-10", Activation::ReLU, -1); }, {"'abc' is not a number"});
  expect_error([] { ModelSpec::parse("0-10", Activation::ReLU, -1); }, {"size 0 out of range"});
  expect_error([] { ModelSpec::parse("784-10-", Activation::ReLU, -1); }, {"empty size"});
  expect_error([] { ModelSpec::parse("784-+10", Activation::ReLU, -1); }, {"is not a number"});
  const ModelSpec ok = ModelSpec::parse("784-100-10", Activation::ReLU, -1);
  EXPECT_EQ(ok.describe(), "784-100(relu)-10 cross-entropy");
}

TEST(Errors, ParameterShapes) {
  Network net = small(ModelSpec::input(3).linear(2).relu().linear(1, false).loss(LossKind::MSE));
  expect_error([&] { net.set_weight(0, Tensor({3, 2}, DType::F64)); }, {"layer 0 weight must be [2, 3]", "[3, 2]"});
  expect_error([&] { net.set_weight(1, Tensor({2}, DType::F64)); }, {"layer 1 weight must be [1, 2]"});
  expect_error([&] { net.set_weight(2, Tensor({1, 1}, DType::F64)); }, {"layer index 2 out of range"});
  expect_error([&] { net.set_bias(0, Tensor({3}, DType::F64)); }, {"layer 0 bias must be [2]"});
  expect_error([&] { net.set_bias(1, Tensor({1}, DType::F64)); }, {"layer 1 has no bias"});
  expect_error([&] { net.set_parameters(Tensor({net.parameter_count() + 1}, DType::F64)); },
               {"parameters has 11 elements, the model has 10"});
  expect_error([] { Tensor::from({2, 2}, {1, 2, 3}); }, {"tensor of shape [2, 2] f32 given 3 values"});
  expect_error([] { Tensor({2, -1}); }, {"negative dimension"});
  expect_error([] { Tensor({4}).data<double>(); }, {"tensor is f32"});
}

TEST(Errors, UnavailableDevicesSayWhy) {
#if !defined(CUMLP_HAVE_SIM)
  expect_error([] { Device::parse("sim"); }, {"device 'sim'", "no SIMT simulator"});
  // A Device built by hand (not parsed) is refused by the Network.
  const ModelSpec spec = ModelSpec::input(2).linear(1).loss(LossKind::MSE);
  expect_error([&] { Network(spec, Optimizer::sgd(0.1), {Device{"sim", 0}}); },
               {"device sim", "no SIMT simulator"});
#endif
#if !defined(CUMLP_HAVE_CUDA)
  expect_error([] { Device::parse("cuda"); }, {"device 'cuda'", "no CUDA support"});
  expect_error([] { Device::parse("cuda:1"); }, {"device 'cuda:1'", "no CUDA support"});
  EXPECT_EQ(Device::parse("auto").name(), "cpu");
#else
  // Built with CUDA: without a usable GPU the reason comes from the runtime, and auto picks the CPU.
  bool gpu = false;
  for (const DeviceInfo& d : list_devices()) gpu = gpu || (d.name == "cuda:0" && d.available);
  if (!gpu) {
    expect_error([] { Device::parse("cuda"); }, {"device 'cuda'", "GPU"});
    EXPECT_EQ(Device::parse("auto").name(), "cpu");
  }
#endif
  for (const DeviceInfo& d : list_devices())
    if (!d.available) { EXPECT_FALSE(d.why_not.empty()) << d.name; }
}

TEST(Errors, NonFiniteLossIsReported) {
  Network net = small(ModelSpec::input(1).linear(1).loss(LossKind::MSE));
  const double inf = std::numeric_limits<double>::infinity();
  expect_error([&] { net.train_step(Tensor::from({1, 1}, {inf}, DType::F64), Tensor::from({1, 1}, {0}, DType::F64)); },
               {"loss is not finite"});
}

// The helper all comparisons go through must flag NaN, Inf and mismatches.
TEST(CompareHelper, CatchesNonFiniteAndMismatches) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(close("nan", std::vector<double>{1, nan}, std::vector<double>{1, 2}, Tol{1, 1}, 0));
  EXPECT_FALSE(close("nan ref", std::vector<double>{1, 2}, std::vector<double>{1, nan}, Tol{1, 1}, 0));
  EXPECT_FALSE(close("inf", std::vector<double>{inf}, std::vector<double>{1e300}, Tol{1, 1}, 0));
  EXPECT_TRUE(close("inf == inf", std::vector<double>{inf}, std::vector<double>{inf}, Tol{0, 0}, 0));
  EXPECT_FALSE(close("abs", 1.0 + 2e-8, 1.0, Tol{1e-8, 0}, 0));
  EXPECT_TRUE(close("rel", 100.0 + 1e-6, 100.0, Tol{0, 1e-8}, 0));
  const auto r = close("msg", std::vector<double>{1, 2, 3}, std::vector<double>{1, 2.5, 3}, Tol{0.1, 0}, 42);
  EXPECT_NE(std::string(r.message()).find("[1] got 2 expected 2.5"), std::string::npos) << r.message();
  EXPECT_NE(std::string(r.message()).find("seed 42"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace cumlp::test
