// Internals of the benchmark suite (include/cumlp/bench.h): the timer, the
// declared cost of each Backend op, and the three parts of a run (device
// peak, kernels, training steps).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cumlp/bench.h"
#include "cumlp/optim.h"
#include "host/shared/backend.h"
#include "host/executor/plan.h"

namespace cumlp::bench {

struct Stats {
  double median_us = 0, p10_us = 0, p90_us = 0;
  double best_us = 0;  // the fastest sample: what the device can do (peak probes)
};

/// How long to measure. On the simulator every op runs once (its times say
/// nothing about a GPU, and a seed-model GEMM takes seconds there).
struct Timing {
  int samples = 15;
  double min_sample_us = 2000;
  double warmup_us = 20000;
  bool once = false;
};

/// Times body(): warm-up, then samples of `reps` calls each (reps chosen so a
/// sample lasts min_sample_us), sync() closing every sample. Per-call figures.
Stats time_calls(const Timing& t, const std::function<void()>& body, const std::function<void()>& sync);

/// Declared minimum traffic (bytes read + written) and arithmetic of one op.
struct Cost {
  double bytes = 0, flops = 0;
  Cost& operator+=(const Cost& o) {
    bytes += o.bytes;
    flops += o.flops;
    return *this;
  }
};
Cost forward_cost(int64_t M, int64_t N, int64_t K, bool bias, bool dropout, std::size_t elem);
Cost backward_data_cost(int64_t M, int64_t N, int64_t K, std::size_t elem);
Cost backward_weight_cost(int64_t M, int64_t N, int64_t K, bool bias, std::size_t elem);
Cost loss_cost(int64_t rows, int64_t cols, bool classes, std::size_t elem);
Cost optimizer_cost(OptimizerKind kind, int64_t n, std::size_t elem);
/// Every op of one training step of the plan with a batch of `rows`.
Cost step_cost(const Plan& plan, OptimizerKind kind, int64_t rows, std::size_t elem);

/// bytes / bandwidth + flops / peak + launches x op overhead, in µs.
double floor_us(const DevicePeak& peak, const Cost& c, int launches);

DevicePeak measure_peak(const Device& device, Backend& backend, const Timing& t, bool quick);
/// The op table's seed-model rows on `device`: validated, then timed.
std::vector<KernelResult> bench_kernels(Backend& device, const DevicePeak& peak, const Timing& t);
/// Throws Error unless every name is a seed model (A, B, C, D).
void check_models(const std::vector<std::string>& names);
std::vector<StepResult> bench_steps(const Device& device, const DevicePeak& peak, const Timing& t,
                                    const BenchOptions& options);

}  // namespace cumlp::bench
