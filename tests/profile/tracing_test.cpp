// Tracing changes nothing a kernel computes: the traced kernels under an
// active trace give the same bits as the `sim` device, step by step, under
// every schedule (a schedule-dependent race would show as a difference).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cuda/sim/launch.h"
#include "host/bench/engine.h"
#include "host/core/device_registry.h"
#include "host/executor/executor.h"
#include "host/shared/kernel_trace.h"

namespace cumlp {
namespace {

struct StepResult {
  std::vector<double> losses;
  std::vector<unsigned char> params;
  std::size_t launches = 0;
};

StepResult train(std::unique_ptr<Backend> backend, bool traced, Precision precision = Precision::FP32) {
  backend->set_precision(precision);
  const SeedModel m = seed_models()[2];  // C: 2-10-10-10-1, BCE, SGD; recorded from step 2
  Executor exec(Plan::compile(m.spec), m.optimizer, std::move(backend), DType::F32, 7, m.batch);
  const auto [x, y] = bench::synthetic_batch(m, 7);
  exec.load_batch(m.batch, x.raw(), y.raw());
  std::unique_ptr<KernelTrace> trace = traced ? std::make_unique<KernelTrace>() : nullptr;
  StepResult r;
  for (int step = 0; step < 3; ++step) r.losses.push_back(exec.train_step(m.batch));
  r.params.resize(exec.param_bytes());
  exec.backend().download(r.params.data(), exec.params(), r.params.size());
  if (trace) r.launches = trace->launches().size();
  return r;
}

TEST(ProfileTracing, ProfileTracingLeavesResultsUnchangedUnderEverySchedule) {
  for (const sim::Schedule& schedule : sim::every_schedule(3)) {
    SCOPED_TRACE(std::string(sim::order_name(schedule.order)));
    sim::ScheduleScope scope(schedule);
    const StepResult plain = train(make_backend(Device::parse("sim")), false);
    const StepResult traced = train(make_traced_sim_backend(), true);
    EXPECT_GT(traced.launches, 0u);  // the traced backend really ran traced kernels
    ASSERT_EQ(plain.losses.size(), traced.losses.size());
    for (std::size_t i = 0; i < plain.losses.size(); ++i) EXPECT_EQ(plain.losses[i], traced.losses[i]) << "step " << i;
    EXPECT_TRUE(plain.params == traced.params) << "parameters differ after the traced steps";
  }
}

// The same for the tensor-core GEMM, whose wmma tile moves the traced build
// reports as warp requests instead of its own accesses (cuda/sim/wmma.h).
TEST(ProfileTracing, ProfileTracingLeavesTf32ResultsUnchanged) {
  for (const Precision precision : {Precision::TF32, Precision::TF32x3}) {
    SCOPED_TRACE(precision_name(precision));
    const StepResult plain = train(make_backend(Device::parse("sim")), false, precision);
    const StepResult traced = train(make_traced_sim_backend(), true, precision);
    const StepResult fp32 = train(make_backend(Device::parse("sim")), false);
    EXPECT_GT(traced.launches, 0u);
    EXPECT_EQ(plain.losses, traced.losses);
    EXPECT_TRUE(plain.params == traced.params) << "parameters differ after the traced steps";
    EXPECT_FALSE(plain.params == fp32.params) << "the precision did not reach the GEMMs";
  }
}

}  // namespace
}  // namespace cumlp
