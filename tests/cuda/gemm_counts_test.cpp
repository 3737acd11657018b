// The GEMM's access counts on the access-traced simulator (cuda/sim/trace.h),
// at aligned shapes of each tile (64x64 and 32x32, split over K; 128x128
// with 8x8 outputs per thread, which the rule never splits): the targets for the
// main loop as exact counts, which follow from the code and the launch shape,
// not from timing: <= 0.25 shared-memory load instructions per FMA
// instruction, no bank conflicts, >= 90 % sector efficiency of the global
// loads. (Aligned: rows of a multiple of 8 floats, so every 8-wide K tile of a
// k-contiguous row is one 32-byte sector.) At TF32 and TF32x3 (the
// tensor-core block, cuda/gemm_tf32.cuh, same tiles and splits) the same ops:
// no bank conflicts in the staging stores, the fragment loads and stores and
// the epilogue's scratch reads; >= 90 % sector efficiency; shared load
// requests per 16x16x8 product (per warp, 4 per fragment load: (FM + FN) x 4 /
// (FM x FN) = 3, 4, 8 for the 128-, 64- and 32-wide tiles' 4x2, 2x2, 1x1
// fragments, plus the epilogue's 2 per output fragment) at most 8.5.
#include <gtest/gtest.h>

#include <cmath>

#include "host/shared/kernel_trace.h"
#include "sim_fixture.h"

namespace cumlp::test {
namespace {

struct Counted {
  std::string what;
  KernelCounters k;
};

// The launches of the forward, input-gradient, weight-gradient and grouped ops at one shape.
std::vector<Counted> count_ops(int64_t M, int64_t N, int64_t K, Precision precision = Precision::FP32) {
  std::unique_ptr<Backend> be = make_traced_sim_backend();
  be->set_precision(precision);
  const auto x = cast<float>(rounded(5, 1, M * K, -1, 1)), w = cast<float>(rounded(5, 2, N * K, -0.1, 0.1));
  const auto b = cast<float>(rounded(5, 3, N, -1, 1)), dz = cast<float>(rounded(5, 4, M * N, -0.1, 0.1));
  DeviceBuffer dx(*be, x), dw(*be, w), db(*be, b), ddz(*be, dz), y(*be, M * N * 4), dprev(*be, M * K * 4),
      gw(*be, N * K * 4), gb(*be, N * 4);
  const Epilogue relu{ops::kReLU, 0, 0, 1, 0, 1};
  be->reserve_rows(M);  // the split-K workspace exists before counting starts
  be->synchronize();
  KernelTrace trace;
  be->linear_act_forward(DType::F32, M, N, K, dx.get(), dw.get(), db.get(), relu, y.get(), nullptr);
  be->linear_backward_data(DType::F32, M, N, K, ddz.get(), dw.get(), dx.get(), relu, dprev.get());
  be->linear_backward_weight(DType::F32, M, N, K, ddz.get(), dx.get(), gw.get(), gb.get());
  be->linear_backward(DType::F32, M, N, K, ddz.get(), dw.get(), dx.get(), dx.get(), relu, gw.get(), gb.get(),
                      dprev.get());
  be->synchronize();
  const std::vector<KernelCounters> launches = trace.launches();
  const char* const names[] = {"forward", "input gradient", "weight gradient", "grouped backward"};
  std::vector<Counted> out;
  for (std::size_t i = 0; i < launches.size() && i < 4; ++i) out.push_back({names[i], launches[i]});
  return out;
}

TEST(GemmCounts, MainLoopTargetsAtAlignedShapes) {
  if (!kernel_tracing_built()) GTEST_SKIP() << "this build has no access-traced kernels";
  // 64x64 tiles, every product split over K; 32x32 tiles (N = 32), split;
  // 128x128 tiles for the forward (>= 132 tiles of 128 x 128), 32x32 for the rest.
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{128, 256, 512}, {96, 32, 256}, {1536, 1536, 8}}) {
    SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
    const std::vector<Counted> ops = count_ops(M, N, K);
    ASSERT_EQ(ops.size(), 4u);
    for (const Counted& c : ops) {
      SCOPED_TRACE(c.what);
      const KernelCounters& k = c.k;
      ASSERT_GT(k.fma_threads, 0u);
      EXPECT_LE(k.lds_per_fma(), 0.25);
      EXPECT_EQ(k.bank_conflicts(), 0u);
      const double load_efficiency =
          static_cast<double>(k.global_load.ideal_units) / static_cast<double>(k.global_load.units);
      EXPECT_GE(load_efficiency, 0.9);
      std::printf("%-17s M=%lld N=%lld K=%lld: %llu blocks, LDS/FMA %.4f, bank conflicts %llu, global load sectors "
                  "%.1f %% efficient\n",
                  c.what.c_str(), static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K),
                  static_cast<unsigned long long>(k.blocks), k.lds_per_fma(),
                  static_cast<unsigned long long>(k.bank_conflicts()), 100 * load_efficiency);
    }
  }
}

}  // namespace
}  // namespace cumlp::test

namespace cumlp::test {
namespace {

TEST(GemmCounts, Tf32MainLoopHasNoBankConflictsAtAlignedShapes) {
  if (!kernel_tracing_built()) GTEST_SKIP() << "this build has no access-traced kernels";
  // 64x64 tiles split over K; 32x32 (N = 32), split; 128x128 for the forward.
  for (Precision precision : {Precision::TF32, Precision::TF32x3}) {
    const double mmas_per_product = precision == Precision::TF32x3 ? 3 : 1;
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{128, 256, 512}, {96, 32, 256}, {1536, 1536, 8}}) {
      SCOPED_TRACE(std::string(precision_name(precision)) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                   " K=" + std::to_string(K));
      const std::vector<Counted> ops = count_ops(M, N, K, precision);
      ASSERT_EQ(ops.size(), 4u);
      for (const Counted& c : ops) {
        SCOPED_TRACE(c.what);
        const KernelCounters& k = c.k;
        ASSERT_GT(k.tensor_flops, 0u);
        EXPECT_EQ(k.bank_conflicts(), 0u);
        const double load_efficiency =
            static_cast<double>(k.global_load.ideal_units) / static_cast<double>(k.global_load.units);
        EXPECT_GE(load_efficiency, 0.9);
        const double products = static_cast<double>(k.tensor_flops) / (2 * 16 * 16 * 8) / mmas_per_product;
        const double lds_per_product = static_cast<double>(k.shared_load.requests) / products;
        EXPECT_LE(lds_per_product, 8.0 + 0.5);
        std::printf("%-7s %-17s M=%lld N=%lld K=%lld: %llu blocks, LDS per 16x16x8 product %.3f, bank conflicts "
                    "%llu, global load sectors %.1f %% efficient\n",
                    precision_name(precision), c.what.c_str(), static_cast<long long>(M), static_cast<long long>(N),
                    static_cast<long long>(K), static_cast<unsigned long long>(k.blocks), lds_per_product,
                    static_cast<unsigned long long>(k.bank_conflicts()), 100 * load_efficiency);
      }
    }
  }
}

}  // namespace
}  // namespace cumlp::test
