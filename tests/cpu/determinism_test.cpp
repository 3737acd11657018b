// Reproducibility from one seed (SPEC §1): the same seed gives bit-identical
// training, another seed another initialisation, and the initialisation is
// PyTorch's nn.Linear default, uniform in +-1/sqrt(in).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "compare.h"
#include "cumlp/cumlp.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 777;

ModelSpec dropout_model() {
  return ModelSpec::input(10).linear(16).relu().dropout(0.3).linear(12).tanh().dropout(0.2).linear(4).loss(
      LossKind::CrossEntropy);
}

// 20 Adam steps on fixed data; every bit of the parameters must agree, in
// both dtypes (the cpu device sums in a fixed order and dropout masks are a
// pure function of (seed, layer, step, element)).
TEST(Determinism, SameSeedGivesBitIdenticalTraining) {
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_name(dt));
    const int64_t B = 16;
    const Tensor x = Tensor::from({B, 10}, uniform(kSeed, 1, B * 10, -1, 1), dt);
    std::vector<double> cls;
    for (int32_t c : classes(kSeed, 2, B, 4)) cls.push_back(c);
    const Tensor t = Tensor::from({B}, cls, dt);
    Network a(dropout_model(), Optimizer::adam(0.01), {Device{}, dt, kSeed, B});
    Network b(dropout_model(), Optimizer::adam(0.01), {Device{}, dt, kSeed, B});
    for (int step = 0; step < 20; ++step) {
      const double la = a.train_step(x, t), lb = b.train_step(x, t);
      ASSERT_EQ(std::memcmp(&la, &lb, sizeof la), 0) << "loss differs at step " << step << ", seed " << kSeed;
    }
    const Tensor pa = a.parameters(), pb = b.parameters();
    ASSERT_EQ(pa.bytes(), pb.bytes());
    EXPECT_EQ(std::memcmp(pa.raw(), pb.raw(), pa.bytes()), 0) << "parameters differ after 20 steps, seed " << kSeed;
    // And training moved them: the test compares something that changed.
    Network fresh(dropout_model(), Optimizer::adam(0.01), {Device{}, dt, kSeed, B});
    EXPECT_NE(std::memcmp(pa.raw(), fresh.parameters().raw(), pa.bytes()), 0);
  }
}

TEST(Determinism, DifferentSeedsGiveDifferentInit) {
  Network a(dropout_model(), Optimizer::adam(), {Device{}, DType::F64, 1, 4});
  Network b(dropout_model(), Optimizer::adam(), {Device{}, DType::F64, 2, 4});
  const std::vector<double> pa = a.parameters().to_vector(), pb = b.parameters().to_vector();
  int64_t equal = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) equal += pa[i] == pb[i];
  EXPECT_EQ(equal, 0) << "seeds 1 and 2 share " << equal << " of " << pa.size() << " initial values";
}

// Every weight and bias of layer i lies in +-1/sqrt(in_i); the empirical std
// of a uniform(-a, a) sample is a / sqrt(3). With n values the sample std has
// relative standard error ~ 0.45 / sqrt(n) (uniform kurtosis): n >= 3000
// here, so 5% is over 5 standard errors.
TEST(Determinism, InitIsUniformInPlusMinusOneOverSqrtIn) {
  ModelSpec spec = ModelSpec::input(784).linear(100).relu().linear(30).relu().linear(10);
  Network net(spec, Optimizer::adam(), {Device{}, DType::F64, kSeed, 1});
  const int64_t ins[] = {784, 100, 30}, outs[] = {100, 30, 10};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const double bound = 1 / std::sqrt(static_cast<double>(ins[i]));
    std::vector<double> v = net.weight(i).to_vector();
    EXPECT_EQ(static_cast<int64_t>(v.size()), ins[i] * outs[i]);
    for (double b : net.bias(i).to_vector()) v.push_back(b);
    double sum = 0, sq = 0;
    for (double x : v) {
      ASSERT_LE(std::fabs(x), bound) << "value outside +-1/sqrt(" << ins[i] << "), seed " << kSeed;
      sum += x;
      sq += x * x;
    }
    const double n = static_cast<double>(v.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    // The sample mean of n uniform(-a, a) values has std a / sqrt(3 n): allow 5 of them.
    EXPECT_NEAR(mean, 0, 5 * bound / std::sqrt(3 * n));
    if (n >= 3000) { EXPECT_NEAR(sd, bound / std::sqrt(3.0), 0.05 * bound / std::sqrt(3.0)) << "seed " << kSeed; }
  }
}

// The same seed gives the same network in f32 and f64 (up to float rounding
// of the f64 values): the init does not depend on the dtype.
TEST(Determinism, InitIndependentOfDtype) {
  Network a(dropout_model(), Optimizer::adam(), {Device{}, DType::F32, kSeed, 4});
  Network b(dropout_model(), Optimizer::adam(), {Device{}, DType::F64, kSeed, 4});
  // Float rounding of values below 1: half an ulp, < 6e-8 relative.
  EXPECT_TRUE(close("f32 vs f64 init", a.parameters(), b.parameters().to_vector(), Tol{0, 6e-8}, kSeed));
}

}  // namespace
}  // namespace cumlp::test
