// The executor's recordings on the GPU backend: one per batch size (an
// epoch's full and short last batch both replay), bounded, and kept across a
// changed learning rate (the settings live in the StepRecord). The launch
// counter tells a replay (no launch) from a recording (a step's launches);
// each run is compared bit for bit with a twin executor that never records
// (op by op: loss + update, the same kernels on the same device).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "host/core/device_registry.h"
#include "host/executor/executor.h"
#include "host/executor/plan.h"
#include "host/shared/rng.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

class Recording : public OnDevice {};

// 64-32(relu, dropout 0.25)-16(tanh)-10, cross-entropy: the dropout mask
// depends on the update count, which a replay reads from the record.
Executor make(const std::string& device, const Optimizer& o) {
  ModelSpec s = ModelSpec::input(64);
  s.linear(32).relu().dropout(0.25).linear(16).tanh().linear(10);
  return Executor(Plan::compile(s), o, make_backend(Device::parse(device)), DType::F32, 21, 40);
}

// Batch of `rows` rows for step s: Philox features in [0, 1), labels in [0, 10).
void load(Executor& ex, int64_t rows, int s) {
  std::vector<float> x(static_cast<std::size_t>(rows * 64));
  std::vector<int32_t> t(static_cast<std::size_t>(rows));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng::bits(3, static_cast<uint32_t>(s), 0, i) >> 8) / 16777216.0f;
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>(rng::below(4, static_cast<uint32_t>(s), 0, i, 10));
  ex.load_batch(rows, x.data(), t.data());
}

// One step on both: `queued` through queue_step (warm-up, record, replay),
// `twin` op by op; returns the launches queue_step issued.
int64_t step(Executor& queued, Executor& twin, int64_t rows, int s) {
  load(queued, rows, s);
  load(twin, rows, s);
  const int64_t before = queued.backend().launches();
  queued.queue_step(rows);
  twin.loss(rows, /*train=*/true, /*backward=*/true);
  twin.update();
  return queued.backend().launches() - before;
}

bool same_params(Executor& a, Executor& b) {
  std::vector<float> pa(a.param_bytes() / 4), pb(b.param_bytes() / 4);
  a.backend().download(pa.data(), a.params(), a.param_bytes());
  b.backend().download(pb.data(), b.params(), b.param_bytes());
  return std::memcmp(pa.data(), pb.data(), a.param_bytes()) == 0;
}

TEST_P(Recording, ReplaySurvivesLearningRateChanges) {
  for (const Optimizer& o : {Optimizer::adam(0.01, 0.001), Optimizer::adamw(0.01, 0.01), Optimizer::sgd(0.1, 0.9)}) {
    Executor queued = make(device(), o), twin = make(device(), o);
    const int64_t per_step = step(queued, twin, 40, 0);  // warm-up, op by op
    EXPECT_EQ(step(queued, twin, 40, 1), per_step);      // recorded (and replayed: no launch)
    for (int s = 2; s < 8; ++s) {
      const double lr = o.lr * (s % 2 ? 0.5 : 0.25);  // a new rate every step, as a scheduler would set it
      queued.optimizer().lr = lr;
      twin.optimizer().lr = lr;
      EXPECT_EQ(step(queued, twin, 40, s), 0) << "step " << s << " re-recorded after a learning rate change";
    }
    EXPECT_TRUE(same_params(queued, twin)) << o.describe();
    EXPECT_EQ(queued.take_losses().steps, 8);  // also checks the device's update count
    EXPECT_EQ(queued.launches_last_step(), per_step);
  }
}

TEST_P(Recording, AlternatingBatchSizesReplayBoth) {
  Executor queued = make(device(), Optimizer::adam(0.01)), twin = make(device(), Optimizer::adam(0.01));
  const int64_t full = step(queued, twin, 40, 0), part = step(queued, twin, 13, 1);  // warm-ups
  EXPECT_EQ(step(queued, twin, 40, 2), full);  // recorded
  EXPECT_EQ(step(queued, twin, 13, 3), part);  // recorded; the 40-row recording stays
  for (int s = 4; s < 10; ++s) EXPECT_EQ(step(queued, twin, s % 2 ? 13 : 40, s), 0) << "step " << s;
  EXPECT_EQ(queued.recordings(), 2u);
  EXPECT_TRUE(same_params(queued, twin));
  EXPECT_EQ(queued.take_losses().steps, 10);
}

// More batch sizes than the bound: the least recently used is evicted, and a
// size that comes back warms up and records again.
TEST_P(Recording, CacheIsBoundedLeastRecentlyUsedFirst) {
  Executor queued = make(device(), Optimizer::adam(0.01)), twin = make(device(), Optimizer::adam(0.01));
  int s = 0;
  const auto n = static_cast<int64_t>(Executor::kMaxRecordings);
  for (int64_t rows = 1; rows <= n; ++rows) {
    step(queued, twin, rows, s++);
    step(queued, twin, rows, s++);
  }
  EXPECT_EQ(queued.recordings(), Executor::kMaxRecordings);
  EXPECT_EQ(step(queued, twin, 2, s++), 0);                   // recorded: a replay, and now the most recent
  EXPECT_GT(step(queued, twin, n + 1, s++), 0);               // a new size evicts rows = 1 (least recent)
  EXPECT_EQ(queued.recordings(), Executor::kMaxRecordings);
  EXPECT_EQ(step(queued, twin, 2, s++), 0);                   // kept
  EXPECT_GT(step(queued, twin, 1, s++), 0);                   // evicted: warms up again (and evicts rows = 3)
  EXPECT_GT(step(queued, twin, 1, s++), 0);                   // records
  EXPECT_EQ(step(queued, twin, 1, s++), 0);                   // replays
  EXPECT_TRUE(same_params(queued, twin));
  // Growing the batch buffers drops every recording (they use the old buffers).
  queued.reserve(41);
  EXPECT_EQ(queued.recordings(), 0u);
  EXPECT_GT(step(queued, twin, 2, s++), 0);
  EXPECT_TRUE(same_params(queued, twin));
}

INSTANTIATE_TEST_SUITE_P(Devices, Recording, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
