// Queued training steps: on sim the step is recorded once (a CUDA graph in
// the simulator's runtime) and replayed, reading the update count and adding
// the loss to the StepRecord in device memory; batches may be gathered on the
// device from an uploaded dataset. Each path must give the same bits as the
// op-by-op path on the same device: the kernels are the same, only who issues
// them (and when the per-step values are read) differs. Exact comparisons.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cumlp/data.h"
#include "cumlp/network.h"
#include "host/core/device_registry.h"
#include "tests/cuda/gpu_devices.h"
#include "host/shared/backend.h"
#include "host/executor/executor.h"
#include "host/executor/plan.h"
#include "host/shared/rng.h"

namespace cumlp::test {
namespace {

// 64-32(relu, dropout 0.25)-16(tanh, dropout 0.1)-10, cross-entropy, Adam:
// dropout makes every step's mask depend on the update count.
ModelSpec dropout_model() {
  ModelSpec s = ModelSpec::input(64);
  s.linear(32).relu().dropout(0.25).linear(16).tanh().dropout(0.1).linear(10);
  return s;
}

// 300 byte samples of 64 features with labels in [0, 10), from Philox.
Dataset byte_dataset() {
  const int64_t n = 300, f = 64;
  std::vector<uint8_t> v(static_cast<std::size_t>(n * f));
  std::vector<int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(rng::bits(7, 0, 0, i) & 0xff);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(rng::below(8, 0, 0, i, 10));
  return Dataset(std::move(v), {f}, 1.0 / 255.0, std::move(labels), 10, {}, "philox bytes");
}

// Rows of batch s: a fixed pseudo-random pick of 40 rows.
std::vector<int64_t> batch_rows(int s) {
  std::vector<int64_t> rows(40);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(rng::below(9, static_cast<uint32_t>(s), 0, i, 300));
  return rows;
}

// The batch gathered on the host, as the public Tensor API takes it.
std::pair<Tensor, Tensor> host_batch(const Dataset& d, const std::vector<int64_t>& rows) {
  const auto n = static_cast<int64_t>(rows.size());
  Tensor x({n, d.features()}), t({n});
  d.gather(rows.data(), n, x.data<float>());
  for (int64_t i = 0; i < n; ++i) t.set(i, d.labels()[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])]);
  return {x, t};
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

class Queued : public OnDevice {};

// Queued steps (recorded from the second, replayed after) against
// compute_gradients + apply_gradients (op by op, the by-value arguments).
TEST_P(Queued, RecordedStepsEqualOpByOpSteps) {
  const Dataset d = byte_dataset();
  const NetworkOptions o{Device::parse(GetParam()), DType::F32, 11, 40};
  Network queued(dropout_model(), Optimizer::adam(0.01), o), eager(dropout_model(), Optimizer::adam(0.01), o);
  double eager_sum = 0;
  for (int s = 0; s < 8; ++s) {
    const auto [x, t] = host_batch(d, batch_rows(s));
    queued.queue_train_step(x, t);
    eager_sum += eager.compute_gradients(x, t);
    eager.apply_gradients();
  }
  EXPECT_EQ(queued.step_count(), 8);
  EXPECT_TRUE(same_bits(queued.parameters().to_vector(), eager.parameters().to_vector()));
  EXPECT_TRUE(same_bits(queued.optimizer_state(1).to_vector(), eager.optimizer_state(1).to_vector()));
  const TrainLosses l = queued.take_losses();
  EXPECT_EQ(l.steps, 8);
  EXPECT_EQ(l.first_nonfinite, 0);
  EXPECT_EQ(l.sum, eager_sum);
  EXPECT_EQ(queued.take_losses().steps, 0);  // taken
  // A changed learning rate is read from the record: the recording stays, the update count carries on.
  queued.set_learning_rate(0.005);
  eager.set_learning_rate(0.005);
  for (int s = 8; s < 11; ++s) {
    const auto [x, t] = host_batch(d, batch_rows(s));
    queued.queue_train_step(x, t);
    eager.compute_gradients(x, t);
    eager.apply_gradients();
  }
  EXPECT_TRUE(same_bits(queued.parameters().to_vector(), eager.parameters().to_vector()));
  EXPECT_EQ(queued.take_losses().steps, 3);
}

// train_step waits once per step (for its loss), queued steps never on a
// device that records; the count is the backends' own (download, synchronize).
TEST_P(Queued, HostWaitsPerStep) {
  const Dataset d = byte_dataset();
  Network net(dropout_model(), Optimizer::adam(0.01), {Device::parse(GetParam()), DType::F32, 14, 40});
  const auto [x, t] = host_batch(d, batch_rows(0));
  const int64_t s0 = Backend::host_syncs_total();
  for (int i = 0; i < 4; ++i) net.train_step(x, t);
  EXPECT_EQ(Backend::host_syncs_total() - s0, 4);
  const int64_t s1 = Backend::host_syncs_total();
  for (int i = 0; i < 4; ++i) net.queue_train_step(x, t);
  EXPECT_EQ(Backend::host_syncs_total() - s1, std::string(GetParam()) == "cpu" ? 4 : 0);  // cpu: a memcpy each
}

// Batches gathered on the device from the uploaded bytes equal the host's
// gather: the same training, bit for bit.
TEST_P(Queued, DeviceGatherEqualsHostGather) {
  const Dataset d = byte_dataset();
  const NetworkOptions o{Device::parse(GetParam()), DType::F32, 12, 40};
  Network dev(dropout_model(), Optimizer::adam(0.01), o), host(dropout_model(), Optimizer::adam(0.01), o);
  dev.upload_dataset(d);
  for (int s = 0; s < 6; ++s) {
    const std::vector<int64_t> rows = batch_rows(s);
    dev.queue_train_step(rows);
    const auto [x, t] = host_batch(d, rows);
    host.queue_train_step(x, t);
  }
  EXPECT_TRUE(same_bits(dev.parameters().to_vector(), host.parameters().to_vector()));
  const TrainLosses a = dev.take_losses(), b = host.take_losses();
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(a.steps, 6);
  const std::vector<int64_t> bad{0, 300};
  try {
    dev.queue_train_step(bad);
    ADD_FAILURE() << "row 300 of 300 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 300 of batch position 1 is outside"), std::string::npos) << e.what();
  }
}

// Evaluation on rows of the uploaded dataset (the trainer's validation)
// equals evaluation on a host copy of those rows, bit for bit, between
// queued steps whose recording it must not disturb.
TEST_P(Queued, DeviceGatherEvaluationEqualsHostEvaluation) {
  const Dataset d = byte_dataset();
  const NetworkOptions o{Device::parse(GetParam()), DType::F32, 15, 40};
  Network net(dropout_model(), Optimizer::adam(0.01), o), twin(dropout_model(), Optimizer::adam(0.01), o);
  net.upload_dataset(d);
  twin.upload_dataset(d);
  for (int s = 0; s < 5; ++s) {
    net.queue_train_step(batch_rows(s));
    twin.queue_train_step(batch_rows(s));
    const std::vector<int64_t> rows = batch_rows(100 + s);
    const auto [x, t] = host_batch(d, rows);
    const double on_device = net.evaluate_rows(rows), staged = net.evaluate(x, t, nullptr);
    EXPECT_EQ(on_device, staged) << "step " << s;
  }
  // The evaluations changed nothing of the training: same bits as the twin that never evaluated.
  EXPECT_TRUE(same_bits(net.parameters().to_vector(), twin.parameters().to_vector()));
  EXPECT_EQ(net.take_losses().sum, twin.take_losses().sum);
}

// A non-finite loss: on cpu the step throws at once; on sim the queued step
// goes on and take_losses names the first bad step.
TEST_P(Queued, NonFiniteLossIsReportedWithItsStep) {
  const Dataset d = byte_dataset();
  Network net(dropout_model(), Optimizer::adam(0.01), {Device::parse(GetParam()), DType::F32, 13, 40});
  auto [x, t] = host_batch(d, batch_rows(0));
  net.queue_train_step(x, t);
  net.queue_train_step(x, t);
  Tensor huge = x;
  for (int64_t i = 0; i < huge.numel(); ++i) huge.data<float>()[i] = 3e38f;  // logits overflow: inf - inf
  const bool device = std::string(GetParam()) != "cpu";
  if (device) {
    net.queue_train_step(huge, t);
    net.queue_train_step(x, t);
    const TrainLosses l = net.take_losses();
    EXPECT_EQ(l.steps, 4);
    EXPECT_EQ(l.first_nonfinite, 3);
    EXPECT_FALSE(std::isfinite(l.sum));
  } else {
    EXPECT_THROW(net.queue_train_step(huge, t), Error);
    const TrainLosses l = net.take_losses();
    EXPECT_EQ(l.first_nonfinite, 3);
  }
}

// The GPU backend really records: from the third step on, a step is one
// replay and issues no launch; the record's update count follows the host's.
class QueuedGpu : public OnDevice {};

TEST_P(QueuedGpu, StepsAfterTheSecondAreReplays) {
  Executor ex(Plan::compile(dropout_model()), Optimizer::adam(0.01), make_backend(Device::parse(device())), DType::F32,
              5, 40);
  ASSERT_TRUE(ex.backend().can_record());
  const Dataset d = byte_dataset();
  const std::vector<int64_t> rows = batch_rows(0);
  std::vector<float> x(40 * 64);
  std::vector<int32_t> labels(40);
  d.gather(rows.data(), 40, x.data());
  d.gather_labels(rows.data(), 40, labels.data());
  ex.load_batch(40, x.data(), labels.data());
  ex.queue_step(40);  // op by op
  const int64_t per_step = ex.backend().launches();
  ex.queue_step(40);  // recorded (issued once, into the graph), then replayed
  EXPECT_EQ(ex.backend().launches(), 2 * per_step);
  for (int i = 0; i < 5; ++i) ex.queue_step(40);
  EXPECT_EQ(ex.backend().launches(), 2 * per_step);
  EXPECT_EQ(ex.launches_last_step(), per_step);
  EXPECT_EQ(ex.take_losses().steps, 7);  // also checks the device's update count == 7
  ex.queue_step(20);  // another batch size: op by op again
  EXPECT_EQ(ex.backend().launches(), 3 * per_step);
  ex.queue_step(40);  // the 40-row recording is still there
  EXPECT_EQ(ex.backend().launches(), 3 * per_step);
}

INSTANTIATE_TEST_SUITE_P(Devices, Queued, ::testing::Values("cpu", "sim", "cuda"), device_label);
INSTANTIATE_TEST_SUITE_P(Devices, QueuedGpu, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
