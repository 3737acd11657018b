// Counted flops (CUMLP_COUNT_FMA / CUMLP_COUNT_FLOPS in every kernel of the step)
// against the declared cost of each op (host/bench/cost.cpp), per profile row:
// one op at one declared shape. Each bound is stated with its reason.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cumlp/profile.h"
#include "host/bench/engine.h"

namespace cumlp {
namespace {

struct Dims {
  int64_t d[3] = {-1, -1, -1};
};

Dims parse(const std::string& shape) {
  Dims s;
  long long a = -1, b = -1, c = -1;
  std::sscanf(shape.c_str(), "%lldx%lldx%lld", &a, &b, &c);
  s.d[0] = a, s.d[1] = b, s.d[2] = c;
  return s;
}

int64_t padded(int64_t n) { return (n + 31) / 32 * 32; }  // the GEMM's 32-wide tiles

// The GEMM main loop counts 2 flops per FMA of every thread over whole tiles, the
// zero-filled edges included, so it counts at least the declared 2MNK and at most
// 2 x the padded product. Epilogues add at most 3 per output (bias, activation,
// dropout; or dropout, derivative, product); the weight gradient's fused row sums
// (the bias gradient) add one per padded element of dz.
void check_gemm(const ProfiledKernel& k, const bench::Cost& declared, int64_t rows, int64_t cols, int64_t inner,
                double extra) {
  const double counted = k.flops / static_cast<double>(k.launches);
  const double bound = 2.0 * padded(rows) * padded(cols) * padded(inner) + 3.0 * rows * cols + extra;
  EXPECT_GE(counted, declared.flops) << k.name << " " << k.shape;
  EXPECT_LE(counted, bound) << k.name << " " << k.shape;
}

void check_step(const std::string& model) {
  SCOPED_TRACE("model " + model);
  const ProfileReport r = profile_step(Device::parse("sim"), {.model = model});
  int checked = 0;
  for (const ProfiledKernel& k : r.kernels) {
    SCOPED_TRACE(k.name + " " + k.shape);
    ASSERT_FALSE(k.shape.empty()) << "every launcher declares its op's shape";
    EXPECT_GT(k.flops, 0) << "every kernel of the step counts its flops";
    const Dims s = parse(k.shape);
    const int64_t M = s.d[0], N = s.d[1], K = s.d[2];
    if (k.name == "linear_act_forward/gemm") {
      check_gemm(k, bench::forward_cost(M, N, K, true, false, 4), M, N, K, 0);
    } else if (k.name == "linear_backward_data/gemm") {
      check_gemm(k, bench::backward_data_cost(M, N, K, 4), M, K, N, 0);
    } else if (k.name == "linear_backward_weight/gemm") {
      check_gemm(k, bench::backward_weight_cost(M, N, K, true, 4), N, K, M, 1.0 * padded(N) * padded(M));
    } else if (k.name == "loss_forward_backward/loss_kernel") {
      // Cross-entropy with its gradient: 8 per element as written (max; subtract, exp, add;
      // subtract, exp, subtract, multiply), the declared figure. Per row the kernel adds
      // three tree reductions over its T threads (T - 1 each) and 3 per thread (log, add,
      // the row's loss): at most 6 T per row, T <= 256. The last block then totals the
      // rows: one add per row, a 256-lane tree (255) and the scale: rows + 256.
      const double n = static_cast<double>(M * N), declared = bench::loss_cost(M, N, true, 4).flops;
      const double total = static_cast<double>(M) + 255 + 1;
      EXPECT_GE(k.flops, declared + total);
      EXPECT_LE(k.flops, declared + 6.0 * 256 * static_cast<double>(M) + total);
      EXPECT_DOUBLE_EQ(declared, 8 * n);
    } else if (k.name == "optimizer_step") {
      // Adam without weight decay, as written: m 4, v 5, the step 6 = 15 per parameter.
      // The declared 12 (cost.cpp) is the least an implementation must compute: the
      // kernel also forms 1 - beta1 and 1 - beta2 per parameter, 15 / 12 = 1.25.
      const double declared = bench::optimizer_cost(OptimizerKind::Adam, M, 4).flops;
      EXPECT_DOUBLE_EQ(k.flops, 15.0 * static_cast<double>(M));
      EXPECT_LE(k.flops / declared, 1.25);
    } else {
      ADD_FAILURE() << "no declared cost to check " << k.name << " against";
      continue;
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(r.kernels.size()));
}

TEST(ProfileFlops, ProfileCountedFlopsMatchDeclaredCostModelA) { check_step("A"); }
TEST(ProfileFlops, ProfileCountedFlopsMatchDeclaredCostModelB) { check_step("B"); }

}  // namespace
}  // namespace cumlp
