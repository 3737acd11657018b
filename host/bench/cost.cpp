// The timer and the declared cost of each op: the least a perfect
// implementation must read, write and compute, so GB/s, GFLOP/s and floors
// compare devices and implementations on the same work.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "host/bench/engine.h"

namespace cumlp::bench {

namespace {

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const auto i = static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[i];
}

}  // namespace

Stats time_calls(const Timing& t, const std::function<void()>& body, const std::function<void()>& sync) {
  if (t.once) {
    const double t0 = now_us();
    body();
    sync();
    const double us = now_us() - t0;
    return {us, us, us, us};
  }
  // Warm-up (caches, BLAS thread pool, page faults); it also gives the
  // per-call estimate that sets the repetitions of a sample.
  int calls = 0;
  const double w0 = now_us();
  do {
    body();
    sync();
    ++calls;
  } while (calls < 2 || now_us() - w0 < t.warmup_us);
  const double per_call = (now_us() - w0) / calls;
  const int reps = std::max(1, static_cast<int>(std::ceil(t.min_sample_us / std::max(per_call, 1e-3))));
  std::vector<double> us;
  for (int s = 0; s < t.samples; ++s) {
    const double t0 = now_us();
    for (int r = 0; r < reps; ++r) body();
    sync();
    us.push_back((now_us() - t0) / reps);
  }
  std::sort(us.begin(), us.end());
  return {percentile(us, 0.5), percentile(us, 0.1), percentile(us, 0.9), us.front()};
}

Cost forward_cost(int64_t M, int64_t N, int64_t K, bool bias, bool dropout, std::size_t elem) {
  const double e = static_cast<double>(elem);
  const double out = static_cast<double>(M * N) * (dropout ? 2 : 1);
  return {e * (static_cast<double>(M * K + N * K + (bias ? N : 0)) + out), 2.0 * M * N * K};
}

Cost backward_data_cost(int64_t M, int64_t N, int64_t K, std::size_t elem) {
  // dz [M, N] and w [N, K] read, y_prev [M, K] read, dz_prev [M, K] written.
  return {static_cast<double>(elem) * static_cast<double>(M * N + N * K + 2 * M * K), 2.0 * M * N * K};
}

Cost backward_weight_cost(int64_t M, int64_t N, int64_t K, bool bias, std::size_t elem) {
  const double reads = static_cast<double>(M * N + M * K), writes = static_cast<double>(N * K + (bias ? N : 0));
  return {static_cast<double>(elem) * (reads + writes), 2.0 * M * N * K + (bias ? static_cast<double>(M * N) : 0)};
}

Cost loss_cost(int64_t rows, int64_t cols, bool classes, std::size_t elem) {
  const double n = static_cast<double>(rows * cols), e = static_cast<double>(elem);
  const double targets = classes ? 4.0 * static_cast<double>(rows) : e * n;
  return {2 * e * n + targets + e, 5 * n};  // y read, dz written; ~5 flops per element
}

Cost optimizer_cost(OptimizerKind kind, int64_t n, std::size_t elem) {
  const double ne = static_cast<double>(n) * static_cast<double>(elem);
  if (kind == OptimizerKind::SGD) return {3 * ne, 2.0 * static_cast<double>(n)};  // p, g read; p written
  return {7 * ne, 12.0 * static_cast<double>(n)};                                // p, g, m, v read; p, m, v written
}

Cost step_cost(const Plan& plan, OptimizerKind kind, int64_t rows, std::size_t elem) {
  Cost c;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const FusedLayer& l = plan.layers[i];
    c += forward_cost(rows, l.out, l.in, l.bias, l.dropout_p > 0, elem);
    c += backward_weight_cost(rows, l.out, l.in, l.bias, elem);
    if (i > 0) c += backward_data_cost(rows, l.out, l.in, elem);
  }
  c += loss_cost(rows, plan.outputs, loss_takes_classes(plan.loss), elem);
  c += optimizer_cost(kind, plan.param_count, elem);
  return c;
}

double floor_us(const DevicePeak& peak, const Cost& c, int launches) {
  return c.bytes / (peak.bandwidth_gbps * 1e3) + c.flops / (peak.gflops * 1e3) + launches * peak.launch_us;
}

}  // namespace cumlp::bench
