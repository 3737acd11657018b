// The cpu device's own code paths beside OpenBLAS: the AVX2 register-tile
// GEMM (host/cpu/gemm_avx2.h) against a double-accumulating loop at odd
// shapes, its fused epilogues, its bit-exactness under any cut of rows or of
// the sum; the threaded ops (host/cpu/parallel.h) giving the same bits on one
// and on two threads and run to run; Adam's vectorized loop giving the
// scalar formula's bits. (The float cross-entropy's row blocks are rows of
// the op table, host/opcheck.)
// Tolerances as in the op table (host/opcheck): inputs are scaled so outputs
// are O(1); f32 GEMM atol = rtol = 1e-4, f32 elementwise atol 1e-6, rtol 1e-5.
#include <gtest/gtest.h>

#include <cblas.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <tuple>

#include "compare.h"
#include "cumlp/model.h"
#include "host/cpu/cpu_backend.h"
#include "host/cpu/reference/reference_backend.h"
#include "host/cpu/gemm_avx2.h"
#include "host/cpu/parallel.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 4242;
constexpr Tol kGemmTol{1e-4, 1e-4};
constexpr Tol kElemTol{1e-6, 1e-5};

std::vector<float> floats(uint32_t sub, int64_t n, double scale) {
  std::vector<float> v(static_cast<std::size_t>(n));
  const std::vector<double> u = uniform(kSeed, sub, n, -scale, scale);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(u[i]);
  return v;
}

// C[i, j] = sum_p A[i a_rs + p a_cs] B[p ldb + j], in double.
std::vector<double> plain(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                          int64_t ldb) {
  std::vector<double> c(static_cast<std::size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t p = 0; p < K; ++p) s += double(A[i * a_rs + p * a_cs]) * B[p * ldb + j];
      c[i * N + j] = s;
    }
  return c;
}

// The C block [M, N] of a buffer with row stride ldc.
std::vector<float> block(const std::vector<float>& c, int64_t M, int64_t N, int64_t ldc) {
  std::vector<float> out;
  for (int64_t i = 0; i < M; ++i) out.insert(out.end(), c.begin() + i * ldc, c.begin() + i * ldc + N);
  return out;
}

class TileGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu::avx2_available()) GTEST_SKIP() << "no AVX2/FMA on this CPU: the cpu device uses OpenBLAS only";
  }
};

// Rows 1, 6 (one tile), 7, 33 and 1437; columns below, at and past one and
// two vectors; sums of 1 term up to past the 128-term block. A read both
// in place ([M, K]) and transposed ([K, M], as dz^T), C and B with row
// strides wider than N (blocks of larger matrices).
TEST_F(TileGemm, MatchesDoubleLoopAtOddShapes) {
  for (int64_t M : {1, 6, 7, 33, 1437})
    for (int64_t N : {1, 7, 8, 9, 16, 17, 33})
      for (int64_t K : {1, 7, 33, 129, 300}) {
        if (M * N * K > 2'000'000) continue;
        const double scale = 1 / std::sqrt(static_cast<double>(K));
        for (bool trans : {false, true}) {
          const int64_t ldb = N + 3, ldc = N + 5;
          const std::vector<float> a = floats(1, M * K, 1), b = floats(2, K * ldb, scale);
          std::vector<float> c(static_cast<std::size_t>(M * ldc), -7.0f);
          const int64_t a_rs = trans ? 1 : K, a_cs = trans ? M : 1;
          cpu::gemm_avx2(M, N, K, a.data(), a_rs, a_cs, b.data(), ldb, c.data(), ldc, {});
          const std::string what = "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" +
                                   std::to_string(K) + (trans ? " A^T" : "");
          EXPECT_TRUE(close(what, block(c, M, N, ldc), plain(M, N, K, a.data(), a_rs, a_cs, b.data(), ldb), kGemmTol,
                            kSeed));
          // Nothing past column N of a row is written.
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], -7.0f) << what << " wrote (" << i << ", " << j << ")";
        }
      }
}

// Bias + ReLU / LeakyReLU in registers, and the backward multiply by act'(y),
// against the scalar formulas of host/shared/activation.h on the double result.
TEST_F(TileGemm, FusedEpiloguesMatchTheActivationFormulas) {
  const int64_t M = 37, N = 21, K = 19;
  const std::vector<float> a = floats(3, M * K, 1), b = floats(4, K * N, 1 / std::sqrt(19.0)),
                           bias = floats(5, N, 0.5), y = floats(6, M * N, 1);
  const std::vector<double> ab = plain(M, N, K, a.data(), K, 1, b.data(), N);
  for (int32_t act : {ops::kIdentity, ops::kReLU, ops::kLeakyReLU}) {
    ASSERT_TRUE(cpu::tile_act_supported(act));
    const double alpha = 0.05;
    cpu::TileEpilogue fwd;
    fwd.mode = cpu::TileEpilogue::kForward;
    fwd.act = act;
    fwd.alpha = static_cast<float>(alpha);
    fwd.bias = bias.data();
    std::vector<float> c(static_cast<std::size_t>(M * N));
    cpu::gemm_avx2(M, N, K, a.data(), K, 1, b.data(), N, c.data(), N, fwd);
    std::vector<double> want(ab.size());
    for (int64_t e = 0; e < M * N; ++e) want[e] = ops::act_forward(act, ab[e] + bias[e % N], alpha);
    EXPECT_TRUE(close("forward act " + std::to_string(act), c, want, kGemmTol, kSeed));
    // The same epilogue as a pass after the GEMM (the OpenBLAS path): same bits.
    std::vector<float> pass(c.size());
    cpu::gemm_avx2(M, N, K, a.data(), K, 1, b.data(), N, pass.data(), N, {});
    cpu::epilogue_avx2(M, N, pass.data(), N, fwd);
    EXPECT_EQ(std::memcmp(pass.data(), c.data(), c.size() * sizeof(float)), 0) << "forward pass, act " << act;

    cpu::TileEpilogue bwd;
    bwd.mode = cpu::TileEpilogue::kDerivative;
    bwd.act = act;
    bwd.alpha = static_cast<float>(alpha);
    bwd.y = y.data();
    bwd.ldy = N;
    cpu::gemm_avx2(M, N, K, a.data(), K, 1, b.data(), N, c.data(), N, bwd);
    for (int64_t e = 0; e < M * N; ++e) want[e] = ab[e] * ops::act_derivative(act, double(y[e]), alpha);
    EXPECT_TRUE(close("derivative act " + std::to_string(act), c, want, kGemmTol, kSeed));
    cpu::gemm_avx2(M, N, K, a.data(), K, 1, b.data(), N, pass.data(), N, {});
    cpu::epilogue_avx2(M, N, pass.data(), N, bwd);
    EXPECT_EQ(std::memcmp(pass.data(), c.data(), c.size() * sizeof(float)), 0) << "derivative pass, act " << act;
  }
  EXPECT_FALSE(cpu::tile_act_supported(ops::kSigmoid));
  EXPECT_FALSE(cpu::tile_act_supported(ops::kSoftmax));
}

// Each output is one FMA chain over the sum in order, whatever the cut: rows
// computed in pieces (as threads do) equal the whole, bit for bit.
TEST_F(TileGemm, AnyRowCutGivesTheSameBits) {
  const int64_t M = 1437, N = 33, K = 300;
  const std::vector<float> a = floats(7, M * K, 1), b = floats(8, K * N, 0.06);
  std::vector<float> whole(static_cast<std::size_t>(M * N)), parts(whole.size());
  cpu::gemm_avx2(M, N, K, a.data(), K, 1, b.data(), N, whole.data(), N, {});
  const int64_t cuts[] = {0, 1, 7, 20, 500, 1436, M};
  for (std::size_t k = 0; k + 1 < std::size(cuts); ++k)
    cpu::gemm_avx2(cuts[k + 1] - cuts[k], N, K, a.data() + cuts[k] * K, K, 1, b.data(), N, parts.data() + cuts[k] * N,
                   N, {});
  EXPECT_EQ(std::memcmp(whole.data(), parts.data(), whole.size() * sizeof(float)), 0);
}

TEST(TileTranspose, IsExact) {
  const int64_t N = 37, K = 70;
  const std::vector<float> w = floats(9, N * K, 1);
  std::vector<float> t(static_cast<std::size_t>(N * K));
  cpu::transpose_f32(N, K, w.data(), t.data());
  for (int64_t j = 0; j < N; ++j)
    for (int64_t p = 0; p < K; ++p) ASSERT_EQ(t[p * N + j], w[j * K + p]);
}

TEST(ParallelFor, RunsEveryChunkOnce) {
  for (int64_t chunks : {0, 1, 2, 3, 64, 1000}) {
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(chunks));
    cpu::parallel_for(chunks, [&](int64_t c) { runs[c].fetch_add(1); });
    for (int64_t c = 0; c < chunks; ++c) ASSERT_EQ(runs[c].load(), 1) << "chunk " << c << " of " << chunks;
  }
  // chunk_range cuts [0, n) into contiguous, covering parts.
  int64_t end = 0;
  for (int64_t c = 0; c < 7; ++c) {
    const auto [b, e] = cpu::chunk_range(100, 7, c);
    EXPECT_EQ(b, end);
    end = e;
  }
  EXPECT_EQ(end, 100);
}

// Every op of a training step, at shapes large enough to be cut into chunks
// (the tile path, 1437x32x64, and the OpenBLAS path, 256x500x300), with
// dropout (its mask is indexed by the global element), run with OpenBLAS on
// one thread and on two: on two threads, the same bits run after run
// (chunks are fixed, whichever thread takes them) and agreement with the
// reference. The tile path and Adam also give the same bits on one thread
// as on two; OpenBLAS does not promise that (its own threads, like our
// chunks, cut its GEMMs and change its summation blocks).
struct StepOutputs {
  std::vector<float> y, y2, y_drop, dz_prev, dw, db, params, m, v;
};

StepOutputs run_ops(Backend& be, int64_t M, int64_t N, int64_t K) {
  const std::vector<float> x = floats(10, M * K, 1), w = floats(11, N * K, 1 / std::sqrt(double(K))),
                           b = floats(12, N, 0.1), dz = floats(13, M * N, 0.01), y_prev = floats(14, M * K, 1);
  StepOutputs o;
  o.y.resize(M * N);
  o.y2.resize(M * N);
  o.y_drop.resize(M * N);
  o.dz_prev.resize(M * K);
  o.dw.resize(N * K);
  o.db.resize(N);
  Epilogue ep{ops::kLeakyReLU, 0.01, 0.0, kSeed, 2, 5};
  be.linear_act_forward(DType::F32, M, N, K, x.data(), w.data(), b.data(), ep, o.y.data(), nullptr);
  ep.dropout_p = 0.25;
  be.linear_act_forward(DType::F32, M, N, K, x.data(), w.data(), b.data(), ep, o.y2.data(), o.y_drop.data());
  be.linear_backward_data(DType::F32, M, N, K, dz.data(), w.data(), y_prev.data(), ep, o.dz_prev.data());
  be.linear_backward_weight(DType::F32, M, N, K, dz.data(), x.data(), o.dw.data(), o.db.data());
  const int64_t n = 300'001;
  o.params = floats(15, n, 1);
  o.m.assign(n, 0.0f);
  o.v.assign(n, 0.0f);
  const std::vector<float> g = floats(16, n, 1);
  OptimArgs a{static_cast<int32_t>(OptimizerKind::Adam), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1};
  be.optimizer_step(DType::F32, a, n, o.params.data(), g.data(), o.m.data(), o.v.data());
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void expect_same(const StepOutputs& a, const StepOutputs& b, const std::string& what, bool gemms = true) {
  if (gemms) {
    EXPECT_TRUE(same_bits(a.y, b.y)) << what << ": forward";
    EXPECT_TRUE(same_bits(a.y_drop, b.y_drop)) << what << ": forward with dropout";
    EXPECT_TRUE(same_bits(a.dz_prev, b.dz_prev)) << what << ": input gradient";
    EXPECT_TRUE(same_bits(a.dw, b.dw)) << what << ": weight gradient";
  }
  EXPECT_TRUE(same_bits(a.db, b.db)) << what << ": bias gradient";
  EXPECT_TRUE(same_bits(a.params, b.params) && same_bits(a.m, b.m) && same_bits(a.v, b.v)) << what << ": Adam";
}

TEST(ThreadedOps, SameBitsOnOneAndTwoThreadsAndRunToRun) {
  const int saved = openblas_get_num_threads();
  auto cpu = make_cpu_backend();
  auto ref = make_reference_backend();
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1437, 32, 64}, {256, 500, 300}}) {
    const std::string shape = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
    const bool tiled = N * K <= 2048 && cpu::avx2_available();
    openblas_set_num_threads(1);
    const StepOutputs one = run_ops(*cpu, M, N, K);
    openblas_set_num_threads(2);
    const StepOutputs two = run_ops(*cpu, M, N, K);
    expect_same(one, two, shape + " one vs two threads", tiled);
    for (int run = 0; run < 3; ++run) expect_same(two, run_ops(*cpu, M, N, K), shape + " two threads, run to run");
    const StepOutputs want = run_ops(*ref, M, N, K);
    EXPECT_TRUE(close(shape + " forward", two.y, want.y, kGemmTol, kSeed));
    EXPECT_TRUE(close(shape + " forward dropout", two.y_drop, want.y_drop, kGemmTol, kSeed));
    EXPECT_TRUE(close(shape + " input gradient", two.dz_prev, want.dz_prev, kGemmTol, kSeed));
    EXPECT_TRUE(close(shape + " weight gradient", two.dw, want.dw, kGemmTol, kSeed));
    EXPECT_TRUE(close(shape + " bias gradient", two.db, want.db, kGemmTol, kSeed));
    EXPECT_TRUE(close(shape + " Adam params", two.params, want.params, kElemTol, kSeed));
  }
  openblas_set_num_threads(saved);
}

// Two user threads training at once: one op holds the pool, the other runs
// its chunks on its own thread; both must cut their GEMMs as a lone op does
// (by the user's thread count, not the 1 set while chunks run), so their
// bits match a lone run, and the user's OpenBLAS setting is back after.
TEST(ThreadedOps, ConcurrentCallersGetTheLoneBitsAndTheBlasSettingSurvives) {
  const int saved = openblas_get_num_threads();
  openblas_set_num_threads(2);
  const int64_t M = 256, N = 500, K = 300;
  auto lone_backend = make_cpu_backend();
  const StepOutputs lone = run_ops(*lone_backend, M, N, K);
  std::vector<StepOutputs> got(6);
  std::vector<std::thread> users;
  for (int u = 0; u < 2; ++u)
    users.emplace_back([&, u] {
      auto be = make_cpu_backend();
      for (int r = 0; r < 3; ++r) got[u * 3 + r] = run_ops(*be, M, N, K);
    });
  for (std::thread& t : users) t.join();
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(lone, got[i], "concurrent caller run " + std::to_string(i));
  EXPECT_EQ(openblas_get_num_threads(), 2);
  openblas_set_num_threads(saved);
}

// Adam in float runs vectorized (AVX2 where available, else SSE2) and in
// chunks on two threads; either way each value gets the same IEEE
// operations in the same order as this scalar loop, so the same bits.
TEST(AdamF32, SameBitsAsTheScalarFormula) {
  const int saved = openblas_get_num_threads();
  auto cpu = make_cpu_backend();
  const int64_t n = 200'003;
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<float> p = floats(30, n, 1), m(n, 0), v(n, 0), want_p = p, want_m = m, want_v = v;
  for (int threads : {1, 2}) {
    openblas_set_num_threads(threads);
    for (int64_t step = 1; step <= 3; ++step) {
      const std::vector<float> g = floats(31 + static_cast<uint32_t>(step), n, 1);
      OptimArgs a{static_cast<int32_t>(OptimizerKind::Adam), lr, b1, b2, eps, 0, 0, step};
      cpu->optimizer_step(DType::F32, a, n, p.data(), g.data(), m.data(), v.data());
      const float step_size = static_cast<float>(lr / (1.0 - std::pow(b1, double(step))));
      const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(b2, double(step))));
      const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2), feps = static_cast<float>(eps);
      for (int64_t i = 0; i < n; ++i) {
        want_m[i] += (1.0f - fb1) * (g[i] - want_m[i]);
        want_v[i] = fb2 * want_v[i] + (1.0f - fb2) * g[i] * g[i];
        want_p[i] -= step_size * want_m[i] / (std::sqrt(want_v[i]) / bc2_sqrt + feps);
      }
      EXPECT_TRUE(same_bits(p, want_p) && same_bits(m, want_m) && same_bits(v, want_v))
          << threads << " thread(s), step " << step;
    }
  }
  openblas_set_num_threads(saved);
}

}  // namespace
}  // namespace cumlp::test
