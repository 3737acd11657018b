// Counted flops (CUMLP_COUNT_FMA / CUMLP_COUNT_FLOPS in every kernel of the step)
// against the declared cost of each op (host/bench/cost.cpp), per profile row:
// one op at one declared shape. Each bound is stated with its reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cuda/narrow.cuh"
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

int64_t padded(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// The GEMM main loop (cuda/gemm.cuh) counts 2 flops per FMA of every thread over
// whole tiles, the zero-filled edges included: at least the declared 2MNK, at
// most 2 x the product padded to the largest block tile (128) in rows and
// columns, and in K to the 8-wide K tile once per split (the tile rule splits
// K into at most K / 32 ranges). Epilogues add at most 3 per output (bias,
// activation, dropout; or dropout, derivative, product) and split-K's final
// pass one add per split and output; the weight gradient's fused row sums (the
// bias gradient) add one per padded element of dz and one per split and row.
double gemm_bound(int64_t rows, int64_t cols, int64_t inner, bool row_sums) {
  const double splits = static_cast<double>(std::max<int64_t>(1, inner / 32));
  const double tile = static_cast<double>(padded(rows, 128) * padded(cols, 128));
  double bound = 2.0 * tile * (static_cast<double>(padded(inner, 8)) + 8 * splits) + (3 + splits) * tile;
  if (row_sums) bound += static_cast<double>(padded(rows, 128)) * (static_cast<double>(padded(inner, 8)) + 8 * splits + splits);
  return bound;
}

void check_gemm(const ProfiledKernel& k, double declared, double bound) {
  const double counted = k.flops / static_cast<double>(k.launches);
  EXPECT_GE(counted, declared) << k.name << " " << k.shape;
  EXPECT_LE(counted, bound) << k.name << " " << k.shape;
}

// The narrow step kernel (cuda/narrow.cu) counts 2 flops per FMA over its
// 8-row tiles (rows padded to 8) and the forward's 32-wide K tiles (K padded to
// 32), one add per split per first-layer output where that K is split, at
// most 3 epilogue flops per output of each forward and each input gradient,
// and per row the loss kernel's row bound (at most 6 T with T = 128
// threads, over the declared 8 per element) plus the last block's total.
double narrow_bound(const std::vector<int64_t>& w, int64_t M) {
  const double rows = static_cast<double>(padded(M, gpu::kNarrowRows));
  // The first layer's K split: each output summed over the splits once more.
  double bound = rows * static_cast<double>(w[1]) * gpu::narrow_split(M, w[0]).splits;
  for (std::size_t l = 0; l + 1 < w.size(); ++l) {
    const double in = static_cast<double>(w[l]), out = static_cast<double>(w[l + 1]);
    bound += rows * out * (2 * static_cast<double>(padded(w[l], 32)) + 3);
    if (l > 0) bound += rows * in * (2 * out + 3);
  }
  return bound + static_cast<double>(M) * (8.0 * static_cast<double>(w.back()) + 6 * 128) + static_cast<double>(M) + 256;
}

std::vector<int64_t> widths(const std::string& model) {
  for (const SeedModel& m : seed_models())
    if (m.name == model) {
      std::vector<int64_t> w;
      for (const Layer& l : m.spec.layers())
        if (l.kind == LayerKind::Linear) {
          if (w.empty()) w.push_back(l.in);
          w.push_back(l.out);
        }
      return w;
    }
  return {};
}

void check_step(const std::string& model) {
  SCOPED_TRACE("model " + model);
  const std::vector<int64_t> w = widths(model);
  const ProfileReport r = profile_step(Device::parse("sim"), {.model = model});
  int checked = 0;
  for (const ProfiledKernel& k : r.kernels) {
    SCOPED_TRACE(k.name + " " + k.shape);
    ASSERT_FALSE(k.shape.empty()) << "every launcher declares its op's shape";
    EXPECT_GT(k.flops, 0) << "every kernel of the step counts its flops";
    const Dims s = parse(k.shape);
    const int64_t M = s.d[0], N = s.d[1], K = s.d[2];
    if (k.name == "linear_act_forward/gemm") {
      check_gemm(k, bench::forward_cost(M, N, K, true, false, 4).flops, gemm_bound(M, N, K, false));
    } else if (k.name == "linear_loss_forward/gemm") {
      // The output layer's GEMM with the cross-entropy in its tail (<= 32 columns):
      // the forward's bounds plus the loss kernel's below, a warp per row (T = 32).
      const double loss = bench::loss_cost(M, N, true, 4).flops, total = static_cast<double>(M) + 255 + 1;
      check_gemm(k, bench::forward_cost(M, N, K, true, false, 4).flops + loss + total,
                 gemm_bound(M, N, K, false) + loss + 6.0 * 32 * static_cast<double>(M) + total);
    } else if (k.name == "linear_backward_weight/gemm") {
      check_gemm(k, bench::backward_weight_cost(M, N, K, true, 4).flops, gemm_bound(N, K, M, true));
    } else if (k.name == "linear_backward/gemm") {
      // Both gradients of a layer in one launch: the input gradient dz_prev [M, K]
      // (inner N) and the weight gradient dw [N, K] (inner M) with the bias gradient.
      check_gemm(k, bench::backward_data_cost(M, N, K, 4).flops + bench::backward_weight_cost(M, N, K, true, 4).flops,
                 gemm_bound(M, K, N, false) + gemm_bound(N, K, M, true));
    } else if (k.name == "narrow_step/narrow_step_kernel") {
      // Shape "rows x layers": the forward of every layer, the loss, the input gradients.
      double declared = bench::loss_cost(M, w.back(), true, 4).flops;
      for (std::size_t l = 0; l + 1 < w.size(); ++l) {
        declared += bench::forward_cost(M, w[l + 1], w[l], true, false, 4).flops;
        if (l > 0) declared += bench::backward_data_cost(M, w[l + 1], w[l], 4).flops;
      }
      EXPECT_EQ(N + 1, static_cast<int64_t>(w.size()));
      EXPECT_GE(k.flops, declared);
      EXPECT_LE(k.flops, narrow_bound(w, M));
    } else if (k.name == "linear_backward_weights/gemm") {
      // Every layer's weight gradient in one launch: the sum of the layers' GEMM figures.
      double declared = 0, bound = 0;
      for (std::size_t l = 0; l + 1 < w.size(); ++l) {
        declared += bench::backward_weight_cost(M, w[l + 1], w[l], true, 4).flops;
        bound += gemm_bound(w[l + 1], w[l], M, true);
      }
      check_gemm(k, declared, bound);
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
TEST(ProfileFlops, ProfileCountedFlopsMatchDeclaredCostModelD) { check_step("D"); }

}  // namespace
}  // namespace cumlp
