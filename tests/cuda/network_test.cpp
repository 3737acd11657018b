// End to end: the same model, seed and batches trained on a device of the GPU
// backend (sim; cuda where a GPU is usable) and on the cpu device give the same loss curve (and, with dropout, the same
// masks: a different mask would move the loss and the gradients by ~1e-2).
//
// Tolerance: the devices differ only in float rounding (OpenBLAS's summation
// order against the tiled GEMM's, float against double-accumulated loss
// sums); those ~1e-7 relative differences grow slowly through training, and
// the curves must agree to 1e-4 relative (plus 1e-5 absolute) at every step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "cumlp/data.h"
#include "cumlp/network.h"
#include "host/executor/executor.h"
#include "host/executor/plan.h"
#include "sim_fixture.h"
#include "tests/cuda/fashion_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

constexpr Tol kCurveTol{1e-5, 1e-4};

struct Curves {
  std::vector<double> cpu, sim;  // sim: the GPU backend's device under test
};

// Trains a copy of the model on the cpu and on `device` over the same batches.
template <class Batches>
Curves train_both(const std::string& device, const ModelSpec& spec, const Optimizer& opt, int steps, int64_t batch,
                  Batches next) {
  Curves c;
  Network cpu(spec, opt, {Device::parse("cpu"), DType::F32, 2024, batch});
  Network sim(spec, opt, {Device::parse(device), DType::F32, 2024, batch});
  for (int s = 0; s < steps; ++s) {
    const auto [x, t] = next(s);
    c.cpu.push_back(cpu.train_step(x, t));
    c.sim.push_back(sim.train_step(x, t));
  }
  EXPECT_TRUE(close("parameters after training", sim.parameters().to_vector(), cpu.parameters().to_vector(),
                    Tol{1e-4, 1e-3}, 2024));
  return c;
}

double report(const char* model, const Curves& c) {
  double worst = 0;
  for (std::size_t i = 0; i < c.cpu.size(); ++i) worst = std::max(worst, std::fabs(c.cpu[i] - c.sim[i]));
  std::printf("%s: %zu steps, loss %.6f -> %.6f (cpu) / %.6f (sim), max |loss diff| %.3g\n", model, c.cpu.size(),
              c.cpu.front(), c.cpu.back(), c.sim.back(), worst);
  return worst;
}

class GpuNetwork : public OnDevice {};

TEST_P(GpuNetwork, XorLossCurveMatchesCpu) {
  ModelSpec spec = ModelSpec::parse("2-10-10-10-1", Activation::Sigmoid, -1, Activation::Sigmoid);
  spec.loss(LossKind::BCE);
  const Tensor x = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}), t = Tensor::from({4, 1}, {0, 1, 1, 0});
  const Curves c = train_both(device(), spec, Optimizer::sgd(1.0), 400, 4, [&](int) { return std::pair{x, t}; });
  report("xor 2-10-10-10-1 sigmoid BCE SGD(1)", c);
  EXPECT_TRUE(close("xor loss curve", c.sim, c.cpu, kCurveTol, 2024));
}

// Model D's shape (64-32-16-10 relu CE Adam), narrow: the fused step on the
// GPU backend follows the cpu over 15 full-batch steps.
TEST_P(GpuNetwork, ModelDShapeLossCurveMatchesCpu) {
  const ModelSpec spec = ModelSpec::parse("64-32-16-10", Activation::ReLU, -1);
  ASSERT_TRUE(Plan::compile(spec).narrow());
  Tensor x({300, 64}), t({300});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(std::sin(0.61 * static_cast<double>(i)));
  for (int64_t r = 0; r < 300; ++r) t.set(r, static_cast<double>((r * 7) % 10));
  const Curves c = train_both(device(), spec, Optimizer::adam(0.01), 15, 300, [&](int) { return std::pair{x, t}; });
  report("64-32-16-10 relu CE Adam(0.01) batch 300", c);
  EXPECT_TRUE(close("model D loss curve", c.sim, c.cpu, kCurveTol, 2024));
  EXPECT_LT(c.sim.back(), c.sim.front()) << "the loss should fall";
}

// A softmax output trained with MSE: on the GPU backend the loss launch
// normalises the logits (one launch fewer); the curve still follows the cpu's
// over 15 full-batch steps, with a learning rate changed half way (the
// recorded step replays with the new rate).
TEST_P(GpuNetwork, SoftmaxMseLossCurveMatchesCpu) {
  ModelSpec spec = ModelSpec::parse("12-16-5", Activation::Tanh, -1, Activation::Softmax);
  spec.loss(LossKind::MSE);
  Tensor x({30, 12}), t({30, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  for (int64_t r = 0; r < 30; ++r) t.set(r * 5 + r % 5, 1.0);
  Curves c;
  Network cpu(spec, Optimizer::adam(0.02), {Device::parse("cpu"), DType::F32, 2024, 30});
  Network gpu(spec, Optimizer::adam(0.02), {Device::parse(device()), DType::F32, 2024, 30});
  for (int s = 0; s < 15; ++s) {
    if (s == 8) {
      cpu.set_learning_rate(0.01);
      gpu.set_learning_rate(0.01);
    }
    c.cpu.push_back(cpu.train_step(x, t));
    c.sim.push_back(gpu.train_step(x, t));
  }
  report("12-16-5 tanh softmax MSE Adam(0.02 -> 0.01)", c);
  EXPECT_TRUE(close("softmax MSE loss curve", c.sim, c.cpu, kCurveTol, 2024));
  // A narrow network: the fused step (the loss normalises the logits there), grouped weight gradients, update.
  EXPECT_EQ(gpu.launches_per_step(), Plan::compile(spec).launches_per_step(/*narrow_step=*/true));
}

class FashionMnist : public OnFashionMnist {};

TEST_P(FashionMnist, ReluCrossEntropyAdamLossCurveMatchesCpu) {
  const ModelSpec spec = ModelSpec::parse("784-100-100-10", Activation::ReLU, -1);
  const Curves c = train_both(device(), spec, Optimizer::adam(1e-3), 8, 100, [](int s) { return batch(s, 100); });
  report("fashion-mnist 784-100-100-10 relu CE Adam(1e-3) batch 100", c);
  EXPECT_TRUE(close("fashion-mnist loss curve", c.sim, c.cpu, kCurveTol, 2024));
  EXPECT_LT(c.sim.back(), c.sim.front()) << "the loss should fall";
}

TEST_P(FashionMnist, DropoutMasksMatchCpu) {
  ModelSpec spec = ModelSpec::input(784).linear(100).relu().dropout(0.3).linear(100).relu().dropout(0.3).linear(10);
  const Curves c = train_both(device(), spec, Optimizer::adam(1e-3), 6, 64, [](int s) { return batch(s, 64); });
  report("fashion-mnist 784-100(drop .3)-100(drop .3)-10 relu CE Adam(1e-3) batch 64", c);
  EXPECT_TRUE(close("dropout loss curve", c.sim, c.cpu, kCurveTol, 2024));
  // The gradients of one more step: equal masks give equal gradients.
  Network cpu(spec, Optimizer::adam(1e-3), {Device::parse("cpu"), DType::F32, 5, 64});
  Network sim(spec, Optimizer::adam(1e-3), {Device::parse(device()), DType::F32, 5, 64});
  const auto [x, t] = batch(0, 64);
  cpu.compute_gradients(x, t);
  sim.compute_gradients(x, t);
  EXPECT_TRUE(close("gradients with dropout", sim.gradients().to_vector(), cpu.gradients().to_vector(),
                    Tol{1e-5, 1e-3}, 5));
}

// Kernel launches of one training step, counted by the GPU backend.
// 784-100-100-10 CE Adam is narrow: the fused step kernel (forward, loss, every
// input gradient), the grouped weight gradients of all layers, 1 optimizer
// kernel. 784-129-10 (a layer wider than 128): the first layer's forward GEMM,
// the output layer's GEMM with the loss fused (10 columns: rows and, by its
// last block, the total), the output layer's grouped GEMM (weight and input
// gradient), the first layer's weight-gradient GEMM, 1 optimizer kernel: 5,
// the plan's figure of backend ops less the loss's own.
TEST_P(GpuNetwork, LaunchesPerTrainingStep) {
  struct Case {
    const char* spec;
    Precision precision;
    bool narrow;
    int64_t launches;
  };
  for (const Case& c : {Case{"784-100-100-10", Precision::FP32, true, 3}, Case{"784-129-10", Precision::FP32, false, 5}}) {
    const ModelSpec spec = ModelSpec::parse(c.spec, Activation::ReLU, -1);
    auto backend = make_backend(Device::parse(device()));
    backend->set_precision(c.precision);
    Executor exec(Plan::compile(spec), Optimizer::adam(1e-3), std::move(backend), DType::F32, 1, 8);
    const std::vector<float> x(8 * 784, 0.5f);
    const std::vector<int32_t> t(8, 3);
    exec.load_batch(8, x.data(), t.data());
    const int64_t before = exec.backend().launches();
    exec.train_step(8);
    const int64_t measured = exec.backend().launches() - before;
    std::printf("launches per step (%s CE Adam, %s): plan %d, sim backend %lld\n", c.spec,
                precision_name(c.precision), exec.plan().launches_per_step(c.narrow), static_cast<long long>(measured));
    EXPECT_EQ(exec.plan().narrow(), c.spec == std::string("784-100-100-10")) << c.spec;
    EXPECT_EQ(measured, c.launches) << c.spec;
    EXPECT_EQ(measured, exec.plan().launches_per_step(c.narrow) - (c.narrow ? 0 : 1)) << c.spec;
    EXPECT_EQ(exec.launches_last_step(), measured);  // what Network::launches_per_step reports
  }
}

// A step fed by the device gather (queue_train_step(rows), the path
// Trainer::fit takes) counts the gather's launch too, op by op and replayed;
// an evaluation's gather is not counted into the next step.
TEST_P(GpuNetwork, LaunchesPerStepCountTheDeviceGather) {
  const ModelSpec spec = ModelSpec::parse("20-16-10", Activation::ReLU, -1);
  Network net(spec, Optimizer::adam(1e-3), {Device::parse(device()), DType::F32, 3, 8});
  std::vector<int32_t> labels(16);
  for (int32_t i = 0; i < 16; ++i) labels[static_cast<std::size_t>(i)] = i % 10;
  net.upload_dataset(Dataset(std::vector<float>(16 * 20, 0.5f), {20}, 1.0, labels, 10));
  const std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  const Plan plan = Plan::compile(spec);
  ASSERT_TRUE(plan.narrow());
  const int ops = plan.launches_per_step(/*narrow_step=*/true);  // fused step, grouped weight gradients, update
  for (int s = 0; s < 4; ++s) {  // op by op, recorded, replayed
    net.queue_train_step(rows);
    EXPECT_EQ(net.launches_per_step(), ops + 1) << "step " << s;
  }
  (void)net.evaluate_rows(rows);  // its gather is not the next step's
  net.queue_train_step(rows);
  EXPECT_EQ(net.launches_per_step(), ops + 1);
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuNetwork, ::testing::Values("sim", "cuda"), device_label);
INSTANTIATE_TEST_SUITE_P(Devices, FashionMnist, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
