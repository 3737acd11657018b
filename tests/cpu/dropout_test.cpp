// The dropout mask's statistics on the cpu device, f64 and f32 (the table,
// host/opcheck, compares masks with the reference exactly): the mask is
// rng::dropout_keep's, with inverted scaling, the kept fraction within 5
// binomial standard deviations of 1 - p, and another step draws another mask.
#include <gtest/gtest.h>

#include <cmath>

#include "compare.h"
#include "host/cpu/cpu_backend.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 31337;

TEST(Dropout, MaskIsTheRngsUnbiasedAndChangesWithTheStep) {
  auto cpu = make_cpu_backend();
  const int64_t M = 128, N = 100, K = 7;
  const std::vector<double> x = uniform(kSeed, 20, M * K, 0.1, 1), w = uniform(kSeed, 21, N * K, 0.1, 1);
  const std::vector<float> xf = cast<float>(x), wf = cast<float>(w);
  for (double p : {0.1, 0.5, 0.9}) {
    const Epilogue ep{ops::kIdentity, 0, p, kSeed, 3, 11};
    std::vector<double> y(M * N), yd(M * N);
    std::vector<float> yf(M * N), ydf(M * N);
    cpu->linear_act_forward(DType::F64, M, N, K, x.data(), w.data(), nullptr, ep, y.data(), yd.data());
    cpu->linear_act_forward(DType::F32, M, N, K, xf.data(), wf.data(), nullptr, ep, yf.data(), ydf.data());
    int64_t kept = 0;
    for (int64_t e = 0; e < M * N; ++e) {  // y > 0 everywhere (positive inputs), so 0 means dropped
      const bool k = yd[e] != 0;
      kept += k;
      ASSERT_EQ(k, ydf[e] != 0) << "f32 mask differs at element " << e << ", p " << p;
      ASSERT_EQ(k, rng::dropout_keep(kSeed, 3, 11, e, static_cast<float>(p))) << "element " << e;
      // 1e-12 relative: y * (1/(1-p)) and y / (1-p) differ by a rounding or two.
      if (k) { ASSERT_NEAR(yd[e], y[e] / (1 - p), 1e-12 * y[e] / (1 - p)) << "inverted scaling 1/(1-p)"; }
    }
    const double n = static_cast<double>(M * N), mean = n * (1 - p), sigma = std::sqrt(n * p * (1 - p));
    EXPECT_LE(std::fabs(static_cast<double>(kept) - mean), 5 * sigma)
        << "kept " << kept << " of " << n << " at p " << p << ", seed " << kSeed;
    Epilogue next = ep;
    next.step = 12;
    std::vector<double> y2(M * N), yd2(M * N);
    cpu->linear_act_forward(DType::F64, M, N, K, x.data(), w.data(), nullptr, next, y2.data(), yd2.data());
    int64_t differ = 0;
    for (int64_t e = 0; e < M * N; ++e) differ += (yd[e] != 0) != (yd2[e] != 0);
    EXPECT_GT(differ, 0) << "the mask must change with the step";
  }
}

}  // namespace
}  // namespace cumlp::test
