// The reference kernels agree with plain CPU loops under every schedule order
// (and bit for bit with each other), and a planted missing barrier is caught.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "tests/sim/kernels/reference.cuh"
#include "tests/sim/planted_bugs.cuh"

namespace {

std::vector<float> random_vector(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// NaN/Inf first, then |got - want| <= atol + rtol |want|; reports the first mismatch.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<double>& want, double atol,
                                 double rtol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i]) || std::abs(got[i] - want[i]) > atol + rtol * std::abs(want[i]))
      return ::testing::AssertionFailure() << "index " << i << ": got " << got[i] << ", want " << want[i];
  }
  return ::testing::AssertionSuccess();
}

// Runs `run()` (which returns the kernel's output) under every schedule, with one
// worker and with several, and checks each result against `want` and all results
// against each other bit for bit.
template <class Run>
void agree_in_every_schedule(Run run, const std::vector<double>& want, double atol, double rtol) {
  std::vector<float> first;
  for (const sim::Schedule& s : sim::every_schedule(11)) {
    SCOPED_TRACE(std::string(sim::order_name(s.order)));
    sim::ScheduleScope scope(s);
    const std::vector<float> got = run();
    EXPECT_TRUE(close(got, want, atol, rtol));
    if (first.empty()) first = got;
    else EXPECT_EQ(got, first) << "result depends on the schedule";
  }
}

TEST(SimReference, BlockReduction) {
  for (int n : {1, 1000, 65536 + 17}) {
    for (int threads : {32, 96, 256}) {
      const int blocks = 7;
      const std::vector<float> x = random_vector(std::size_t(n), 1u + unsigned(n));
      std::vector<double> want(blocks, 0.0);
      for (int i = 0; i < n; ++i) want[std::size_t(i / threads % blocks)] += x[std::size_t(i)];
      agree_in_every_schedule(
          [&] {
            std::vector<float> out(blocks, -1.0f);
            launch_block_reduce(x.data(), out.data(), n, blocks, threads, nullptr);
            return out;
          },
          want, 1e-4, 1e-5);
    }
  }
}

std::vector<double> softmax_cpu(const std::vector<float>& x, int rows, int cols) {
  std::vector<double> y(x.size());
  for (int r = 0; r < rows; ++r) {
    const float* row = x.data() + std::size_t(r) * cols;
    double m = -INFINITY, s = 0.0;
    for (int c = 0; c < cols; ++c) m = std::max(m, double(row[c]));
    for (int c = 0; c < cols; ++c) s += std::exp(row[c] - m);
    for (int c = 0; c < cols; ++c) y[std::size_t(r) * cols + c] = std::exp(row[c] - m) / s;
  }
  return y;
}

TEST(SimReference, RowSoftmax) {
  for (auto [rows, cols, threads] : {std::tuple{1, 1, 32}, {5, 37, 64}, {16, 1000, 256}, {3, 4096, 1024}}) {
    const std::vector<float> x = random_vector(std::size_t(rows) * cols, 5u + unsigned(cols), -30.0f, 30.0f);
    agree_in_every_schedule(
        [&] {
          std::vector<float> y(x.size(), -1.0f);
          launch_row_softmax(x.data(), y.data(), rows, cols, threads, nullptr);
          return y;
        },
        softmax_cpu(x, rows, cols), 1e-7, 1e-5);
  }
}

TEST(SimReference, TiledGemm) {
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {16, 16, 16}, {33, 17, 50}, {64, 48, 100}}) {
    const std::vector<float> a = random_vector(std::size_t(m) * k, 2), b = random_vector(std::size_t(k) * n, 3);
    std::vector<double> want(std::size_t(m) * n, 0.0);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        for (int p = 0; p < k; ++p) want[std::size_t(i) * n + j] += double(a[std::size_t(i) * k + p]) * b[std::size_t(p) * n + j];
    agree_in_every_schedule(
        [&] {
          std::vector<float> c(std::size_t(m) * n, -1.0f);
          launch_tiled_gemm(a.data(), b.data(), c.data(), m, n, k, nullptr);
          return c;
        },
        want, 1e-4, 1e-4);
  }
}

// The planted missing __syncthreads must change the result (or raise an error)
// in at least one schedule; the same kernel with the barrier agrees in all.
TEST(SimReference, MissingBarrierIsCaughtByAtLeastOneSchedule) {
  const int n = 1000;
  const std::vector<float> x = random_vector(n, 9);
  const int blocks = (n + 127) / 128;
  std::vector<double> want(blocks, 0.0);
  for (int i = 0; i < n; ++i) want[std::size_t(i / 128)] += x[std::size_t(i)];

  agree_in_every_schedule(
      [&] {
        std::vector<float> out(blocks);
        launch_reduce_with_sync(x.data(), out.data(), n, nullptr);
        return out;
      },
      want, 1e-4, 1e-5);

  int caught = 0;
  for (const sim::Schedule& s : sim::every_schedule(11)) {
    sim::ScheduleScope scope(s);
    std::vector<float> out(blocks);
    try {
      launch_reduce_missing_sync(x.data(), out.data(), n, nullptr);
      if (!close(out, want, 1e-4, 1e-5)) ++caught;
    } catch (const cumlp::Error&) {
      ++caught;
    }
  }
  EXPECT_GE(caught, 1) << "no schedule exposed the missing __syncthreads";
}

// Records the speed figure (not a threshold): a 1024 x 1024 row softmax.
TEST(SimReference, RowSoftmaxSpeed) {
  const int rows = 1024, cols = 1024;
  const std::vector<float> x = random_vector(std::size_t(rows) * cols, 4);
  std::vector<float> y(x.size());
  launch_row_softmax(x.data(), y.data(), 4, cols, 256, nullptr);  // warm-up: stacks, pool threads
  const auto start = std::chrono::steady_clock::now();
  launch_row_softmax(x.data(), y.data(), rows, cols, 256, nullptr);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("row softmax 1024x1024, 256 threads/row: %.1f ms\n", ms);
  RecordProperty("row_softmax_1024x1024_ms", std::to_string(ms));
  EXPECT_TRUE(close(y, softmax_cpu(x, rows, cols), 1e-7, 1e-5));
}

}  // namespace
