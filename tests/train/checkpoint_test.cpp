// Checkpoints at the library level (SPEC §1 weights): save -> load gives the
// same network, and a run stopped after k epochs and resumed from its
// checkpoint equals the uninterrupted run bit for bit, dropout included
// (dropout masks are keyed by the optimizer step count, so the step count
// must travel in the checkpoint too).
#include <cstring>

#include "../cpu/compare.h"
#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

std::vector<float> floats(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

std::vector<int64_t> all_rows(const Dataset& d) {
  std::vector<int64_t> rows(static_cast<std::size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) rows[static_cast<std::size_t>(i)] = i;
  return rows;
}

const NetworkOptions kCpu{Device::parse("cpu"), DType::F32, 777, 64};

// SGD with momentum: the velocity travels as optimizer.momentum_buffer, so a
// loaded network's next update equals the original's bit for bit.
TEST(Checkpoint, MomentumBufferRoundTrips) {
  const ScratchDir dir;
  Network net(ModelSpec::parse("3-4-2", Activation::Tanh, -1).loss(LossKind::MSE), Optimizer::sgd(0.1, 0.9, true),
              kCpu);
  const Tensor x = Tensor::from({2, 3}, {0.1, -0.2, 0.3, 0.5, 0.4, -0.6});
  const Tensor t = Tensor::from({2, 2}, {0.2, -0.1, 0.7, 0.3});
  for (int i = 0; i < 3; ++i) net.train_step(x, t);
  save_checkpoint(dir / "m.safetensors", net);
  Network loaded = load_network(dir / "m.safetensors", kCpu);
  EXPECT_EQ(loaded.optimizer().describe(), "sgd(lr=0.1, momentum=0.9, nesterov)");
  ASSERT_EQ(loaded.optimizer_state(0).numel(), net.parameter_count());
  EXPECT_EQ(loaded.optimizer_state(1).numel(), 0);
  EXPECT_TRUE(bitwise_equal(floats(loaded.optimizer_state(0)), floats(net.optimizer_state(0))));
  net.train_step(x, t);
  loaded.train_step(x, t);
  EXPECT_TRUE(bitwise_equal(floats(loaded.parameters()), floats(net.parameters())));
}

// read_checkpoint names the stored dtype, so callers resolve `auto` for the
// file (eval, predict, --resume, Python's load) before building the network.
TEST(Checkpoint, ReadCheckpointNamesTheStoredDtype) {
  const ScratchDir dir;
  for (DType dt : {DType::F32, DType::F64}) {
    Network net(ModelSpec::parse("3-4-2", Activation::Tanh, -1).loss(LossKind::MSE), Optimizer::sgd(0.1),
                NetworkOptions{Device::parse("cpu", dt), dt, 777, 4});
    save_checkpoint(dir / "m.safetensors", net);
    EXPECT_EQ(read_checkpoint(dir / "m.safetensors").dtype, dt) << dtype_name(dt);
  }
}

TEST(Checkpoint, SaveLoadGivesIdenticalPredictions) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  const Dataset digits = load_csv(kDigitsCsv);
  Network net(ModelSpec::parse("64-32-16-10", Activation::ReLU, -1), Optimizer::adam(), kCpu);
  TrainConfig config;
  config.epochs = 3;
  config.batch_size = 64;
  config.valid_fraction = 0;
  Trainer(net, config).fit(digits);
  save_checkpoint(dir / "m.safetensors", net);

  // The same batch capacity as `net`: forward() feeds its rows in chunks of
  // the capacity, and the CPU device's BLAS may sum a chunk of 64 rows in
  // another order than one of 256 (last-bit differences, checked below).
  Network loaded = load_network(dir / "m.safetensors", kCpu);
  EXPECT_EQ(loaded.spec().describe(), net.spec().describe());
  EXPECT_EQ(loaded.optimizer().describe(), net.optimizer().describe());
  EXPECT_EQ(loaded.seed(), net.seed());
  EXPECT_EQ(loaded.step_count(), net.step_count());
  // Bitwise: the file stores the float32 values themselves.
  EXPECT_TRUE(bitwise_equal(floats(loaded.parameters()), floats(net.parameters())));
  EXPECT_TRUE(bitwise_equal(floats(loaded.optimizer_state(0)), floats(net.optimizer_state(0))));
  EXPECT_TRUE(bitwise_equal(floats(loaded.optimizer_state(1)), floats(net.optimizer_state(1))));

  const std::vector<int64_t> rows = all_rows(digits);
  Tensor x({digits.size(), 64});
  digits.gather(rows.data(), digits.size(), x.data<float>());
  EXPECT_TRUE(bitwise_equal(floats(loaded.forward(x)), floats(net.forward(x))));
  EXPECT_EQ(loaded.predict_classes(x), net.predict_classes(x));

  // With the default capacity (256) only the summation order can differ:
  // float rounding of 64-term dot products, far inside 1e-5 relative.
  Network other = load_network(dir / "m.safetensors", NetworkOptions{Device::parse("cpu")});
  EXPECT_TRUE(close("forward, capacity 256 vs 64", floats(other.forward(x)), floats(net.forward(x)), {1e-5, 1e-5}, 777));
}

ModelSpec dropout_model() {
  return ModelSpec::input(64).linear(64).relu().dropout(0.3).linear(32).relu().dropout(0.3).linear(10).loss(
      LossKind::CrossEntropy);
}

TEST(Checkpoint, ResumeWithDropoutEqualsTheUninterruptedRun) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  const Dataset digits = load_csv(kDigitsCsv);
  TrainConfig config;
  config.epochs = 8;
  config.batch_size = 64;
  config.valid_fraction = 0.2;
  config.seed = 777;
  config.checkpoint_seconds = 0;  // save after every epoch

  Network whole(dropout_model(), Optimizer::adam(), kCpu);
  config.checkpoint = dir / "whole.safetensors";
  const TrainReport want = Trainer(whole, config).fit(digits);

  // The same run stopped after 3 epochs (its checkpoint holds epoch 3's
  // weights, moments, step count and history) ...
  Network first(dropout_model(), Optimizer::adam(), kCpu);
  TrainConfig part = config;
  part.epochs = 3;
  part.checkpoint = dir / "part.safetensors";
  Trainer(first, part).fit(digits);
  // ... then continued in a fresh network built from the checkpoint alone.
  Checkpoint info;
  Network resumed = load_network(dir / "part.safetensors", NetworkOptions{Device::parse("cpu")}, &info);
  ASSERT_TRUE(info.state.has_value());
  EXPECT_EQ(info.state->epochs_done, 3);
  const int64_t steps_per_epoch = (1438 + 63) / 64;  // 1797 - round(0.2 * 1797) training rows
  EXPECT_EQ(resumed.step_count(), 3 * steps_per_epoch);
  config.checkpoint = dir / "resumed.safetensors";
  Trainer trainer(resumed, config);
  trainer.resume_from(*info.state);
  const TrainReport got = trainer.fit(digits);

  // Exact: the same deterministic CPU arithmetic on the same state.
  EXPECT_EQ(got.train_loss, want.train_loss);
  EXPECT_EQ(got.valid_loss, want.valid_loss);
  EXPECT_EQ(got.best_epoch, want.best_epoch);
  EXPECT_EQ(got.epochs_run, 8);
  EXPECT_EQ(resumed.step_count(), whole.step_count());
  EXPECT_TRUE(bitwise_equal(floats(resumed.parameters()), floats(whole.parameters())));
  EXPECT_TRUE(bitwise_equal(floats(resumed.optimizer_state(1)), floats(whole.optimizer_state(1))));
}

}  // namespace
}  // namespace cumlp::test
