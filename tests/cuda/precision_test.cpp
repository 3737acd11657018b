// GEMM precision (cumlp/tensor.h) end to end: training model A's network
// (784-100-100-10 ReLU, cross-entropy, Adam 0.01, batch 100) on Fashion-MNIST
// at tf32 and tf32x3 follows the same run at fp32 on the same device over 15
// steps, the devices without a tensor-core GEMM refuse the precisions, and a
// network wider than the narrow path's 128 takes as many launches per step at
// tf32 and tf32x3 as at fp32 (the grouped backward and the fused loss run on
// the tensor-core GEMM too).
//
// Tolerances of the loss curves against fp32 (measured on sim, printed by the
// test: steps 1, 2, 3 differ by 2e-6, 2e-4, 2e-3 relative, then by up to ~6e-2):
//   tf32, step 1 (the forward and loss of the initial weights): 1e-4 relative.
//     Each logit errs by <= (2u + u^2) sum|a b| (u = 2^-11, op_cases.cpp) in the
//     worst case and ~u sqrt(K) rms|a b| typically, and the mean over 100 rows
//     averages those errors further; a wrong forward product moves it by O(1).
//   tf32, step 2 (after one update from tf32 gradients): 1e-3 relative: the
//     gradients err by ~u relative, Adam's first step is ~lr sign(g), so only
//     the few gradient entries near 0 can flip; a wrong backward product
//     changes the update's direction and this loss by O(lr |x| |w|) ~ 1e-1.
//   tf32, steps 3-15: 1e-1 relative. Adam at lr 0.01 on batches of 100 is a
//     noisy regime that amplifies any difference in the parameters step after
//     step (about x10 per two steps here, then saturating at the size of the
//     step-to-step noise of the loss itself, ~5 %); the curves are two
//     trajectories of the same descent, and the check is that the tf32 one
//     stays within the noise and falls as far (a wrong GEMM does neither).
//   tf32x3: 1e-4 relative (plus 1e-5) at every step, as sim against cpu at
//     fp32 (network_test.cpp): its products err by ~4u^2 ~ 1e-6, below the
//     fp32 summation differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cumlp/data.h"
#include "cumlp/network.h"
#include "tests/cpu/compare.h"
#include "tests/cuda/fashion_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

class PrecisionTraining : public OnFashionMnist {
 protected:
  // The losses of `steps` steps on consecutive batches of 100 at one precision.
  std::vector<double> curve(Precision p, int steps = 15) const {
    NetworkOptions o{Device::parse(device()), DType::F32, 2024, 100};
    o.precision = p;
    Network net(ModelSpec::parse("784-100-100-10", Activation::ReLU, -1), Optimizer::adam(0.01), o);
    EXPECT_EQ(net.precision(), p);
    std::vector<double> losses;
    for (int s = 0; s < steps; ++s) {
      const auto [x, t] = batch(s, 100);
      losses.push_back(net.train_step(x, t));
    }
    return losses;
  }
};

double worst_relative(const std::vector<double>& a, const std::vector<double>& ref) {
  double w = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) w = std::max(w, std::fabs(a[i] - ref[i]) / std::fabs(ref[i]));
  return w;
}

TEST_P(PrecisionTraining, ModelANetworkAtTf32TracksFp32) {
  const std::vector<double> fp32 = curve(Precision::FP32), tf32 = curve(Precision::TF32),
                            tf32x3 = curve(Precision::TF32x3);
  std::printf("784-100-100-10 Adam(0.01) batch 100, 15 steps on %s: loss %.6f -> %.6f (fp32), %.6f (tf32), %.6f "
              "(tf32x3); max relative loss difference from fp32: tf32 %.3g, tf32x3 %.3g\n",
              device().c_str(), fp32.front(), fp32.back(), tf32.back(), tf32x3.back(), worst_relative(tf32, fp32),
              worst_relative(tf32x3, fp32));
  for (std::size_t i = 0; i < fp32.size(); ++i) std::printf("  step %2zu: %.6f %.6f %.6f\n", i + 1, fp32[i], tf32[i], tf32x3[i]);
  EXPECT_TRUE(close("tf32 loss, step 1", std::vector<double>{tf32[0]}, std::vector<double>{fp32[0]}, Tol{0, 1e-4}, 2024));
  EXPECT_TRUE(close("tf32 loss, step 2", std::vector<double>{tf32[1]}, std::vector<double>{fp32[1]}, Tol{0, 1e-3}, 2024));
  EXPECT_TRUE(close("tf32 loss curve", tf32, fp32, Tol{0, 1e-1}, 2024));
  EXPECT_TRUE(close("tf32x3 loss curve", tf32x3, fp32, Tol{1e-5, 1e-4}, 2024));
  EXPECT_NE(tf32, fp32) << "tf32 rounds the operands: some loss must differ";
  EXPECT_LT(tf32.back(), tf32.front() - 1.0) << "the loss should fall at tf32 as at fp32";
  const std::vector<double> again = curve(Precision::TF32, 3);
  EXPECT_EQ(again, std::vector<double>(tf32.begin(), tf32.begin() + 3)) << "same seed, device, precision: same bits";
}

INSTANTIATE_TEST_SUITE_P(Devices, PrecisionTraining, ::testing::Values("sim", "cuda"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

// 784-129-129-10 Leaky ReLU (not narrow: a layer wider than 128): 2 forward
// GEMMs, the output layer's GEMM with the loss fused, 2 grouped backward GEMMs
// (input and weight gradient of layers 3 and 2), layer 1's weight gradient,
// the optimizer: 7 at every precision.
TEST(PrecisionLaunches, WideStepTakesTheFp32LaunchCountAtEveryPrecision) {
  for (Precision p : {Precision::FP32, Precision::TF32, Precision::TF32x3}) {
    NetworkOptions o{Device::parse("sim"), DType::F32, 7, 8};
    o.precision = p;
    Network net(ModelSpec::parse("784-129-129-10", Activation::LeakyReLU, -1), Optimizer::adam(1e-3), o);
    Tensor x({8, 784}), t({8});
    for (int64_t i = 0; i < 8; ++i) {
      for (int64_t j = 0; j < 784; ++j) x.set(i * 784 + j, 0.001 * static_cast<double>((i * 7 + j) % 100));
      t.set(i, static_cast<double>(i % 10));
    }
    (void)net.train_step(x, t);
    EXPECT_EQ(net.launches_per_step(), 7) << precision_name(p);
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

TEST(Precision, DevicesWithoutATensorCoreGemmRefuseIt) {
  const ModelSpec spec = ModelSpec::parse("4-3-2", Activation::ReLU, -1);
  for (DType dt : {DType::F32, DType::F64}) {
    NetworkOptions o{Device::parse("cpu"), dt};
    o.precision = Precision::TF32;
    EXPECT_NE(error_of([&] { Network n(spec, Optimizer::sgd(0.1), o); }).find(
                  "precision tf32 needs a cuda or sim device"),
              std::string::npos);
  }
  EXPECT_NE(error_of([] { check_precision(Device::parse("sim"), DType::F64, Precision::TF32x3); })
                .find("precision tf32x3 needs dtype f32"),
            std::string::npos);
  EXPECT_EQ(error_of([] { check_precision(Device::parse("cpu"), DType::F64, Precision::FP32); }), "");
  EXPECT_EQ(error_of([] { check_precision(Device::parse("sim"), DType::F32, Precision::TF32); }), "");
  EXPECT_NE(error_of([] { (void)parse_precision("bf16"); }).find("unknown precision 'bf16' (expected fp32, tf32 or tf32x3)"),
            std::string::npos);
  for (Precision p : {Precision::FP32, Precision::TF32, Precision::TF32x3})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
}

}  // namespace
}  // namespace cumlp::test
