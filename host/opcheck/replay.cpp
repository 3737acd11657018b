// The replayed_step row: on a device that records, queued training steps
// (the first op by op, the second recorded, the rest replays reading the
// update count and adding the loss in device memory) against op-by-op steps
// with by-value arguments, on two executors of the same device. Dropout makes
// each step's mask depend on the update count; batches are gathered on the
// device from uploaded bytes. The same kernels run either way: exact.
#include <cstring>

#include "host/core/device_registry.h"
#include "host/executor/executor.h"
#include "host/executor/plan.h"
#include "host/opcheck/compare.h"
#include "host/opcheck/runner.h"
#include "host/shared/rng.h"

namespace cumlp::opcheck {

namespace {

constexpr int64_t kRows = 300, kFeatures = 64, kBatch = 40;
constexpr int kSteps = 6;

// 64-32 (relu, dropout 0.25) -16 (tanh, dropout 0.1) -10, cross-entropy.
Plan dropout_plan() {
  ModelSpec spec = ModelSpec::input(kFeatures);
  spec.linear(32).relu().dropout(0.25).linear(16).tanh().dropout(0.1).linear(10);
  return Plan::compile(spec);
}

std::vector<double> read_floats(Executor& e, void* p, std::size_t bytes) {
  std::vector<float> f(bytes / sizeof(float));
  e.backend().download(f.data(), p, bytes);
  return {f.begin(), f.end()};
}

}  // namespace

Result CaseRun::check_replayed_step(const OpCase& c, const Device& where) {
  std::vector<uint8_t> samples(kRows * kFeatures);
  std::vector<int32_t> labels(kRows);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<uint8_t>(rng::bits(kSeed, rng::kUser, 20, i));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(rng::below(kSeed, rng::kUser, 21, i, 10));
  Executor queued(dropout_plan(), Optimizer::adam(0.01), make_backend(where), DType::F32, kSeed, kBatch);
  Executor eager(dropout_plan(), Optimizer::adam(0.01), make_backend(where), DType::F32, kSeed, kBatch);
  for (Executor* e : {&queued, &eager}) e->attach_data(kRows, samples.data(), true, 1.0 / 255, labels.data());
  double eager_sum = 0;
  for (int s = 0; s < kSteps; ++s) {
    std::vector<int64_t> rows(kBatch);
    for (std::size_t i = 0; i < rows.size(); ++i)
      rows[i] = static_cast<int64_t>(rng::below(kSeed, rng::kUser, 22 + s, i, kRows));
    queued.gather_batch(rows.data(), kBatch);
    queued.queue_step(kBatch);
    eager.gather_batch(rows.data(), kBatch);
    eager_sum += eager.loss(kBatch, /*train=*/true, /*backward=*/true);
    eager.update();
  }
  Result r{row_of(c), {}};
  Comparison cmp;
  const std::size_t bytes = queued.param_bytes();
  const char* names[] = {"params", "adam m", "adam v"};
  for (int k = 0; k < 3; ++k) {
    void* qp = k == 0 ? queued.params() : queued.moment(k - 1);
    void* ep = k == 0 ? eager.params() : eager.moment(k - 1);
    r.outputs.push_back(read_floats(queued, qp, bytes));
    compare(cmp, names[k], r.outputs.back(), read_floats(eager, ep, bytes), tolerance(Op::replayed_step, DType::F32));
  }
  const TrainLosses l = queued.take_losses();
  r.outputs.push_back({l.sum, static_cast<double>(l.steps)});
  compare(cmp, "loss sum, steps", r.outputs.back(), {eager_sum, static_cast<double>(kSteps)},
          tolerance(Op::replayed_step, DType::F32));
  cmp.report(r.check);
  return r;
}

}  // namespace cumlp::opcheck
