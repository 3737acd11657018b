// The simulator's nvcuda::wmma: the TF32 rounding on hand-picked bit patterns
// (cvt.rna.tf32.f32: ties away from zero, carries into the exponent,
// denormals, Inf, NaN), the warp-wide product against a plain loop in the
// order the simulator defines (k = 0..7, fp32 fma; exact, so compared bit for
// bit) under every schedule and layout, and the misuses a GPU leaves undefined
// reported as errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cuda/sim/portable.h"
#include "cuda/sim/tf32.h"
#include "tests/sim/kernels/wmma_tile.cuh"
#include "tests/sim/expect_error.h"

namespace {

using sim::bits_float;
using sim::float_bits;
using sim::round_to_tf32;

std::uint32_t rounded_bits(std::uint32_t u) { return float_bits(round_to_tf32(bits_float(u))); }

TEST(SimWmma, Tf32RoundsToNearestTiesAwayFromZero) {
  // 1 + 2^-10 is representable (the last kept bit); the 13 dropped bits decide.
  EXPECT_EQ(rounded_bits(0x3f800000u), 0x3f800000u);  // 1.0 exact
  EXPECT_EQ(rounded_bits(0x3f800fffu), 0x3f800000u);  // below half: down
  EXPECT_EQ(rounded_bits(0x3f801000u), 0x3f802000u);  // exactly half, even last bit: away (RNE would keep 0x3f800000)
  EXPECT_EQ(rounded_bits(0x3f803000u), 0x3f804000u);  // exactly half, odd last bit: away
  EXPECT_EQ(rounded_bits(0x3f801001u), 0x3f802000u);  // above half: up
  EXPECT_EQ(rounded_bits(0xbf801000u), 0xbf802000u);  // negative tie: away from zero (more negative)
  EXPECT_EQ(rounded_bits(0xbf800fffu), 0xbf800000u);
}

TEST(SimWmma, Tf32CarriesIntoTheExponentAndOverflowsToInf) {
  EXPECT_EQ(rounded_bits(0x3ffff000u), 0x40000000u);  // 1.111..1 (10 ones) + half: 2.0
  EXPECT_EQ(round_to_tf32(bits_float(0x3ffff000u)), 2.0f);
  EXPECT_EQ(rounded_bits(0x7f7ff000u), 0x7f800000u);  // the largest finite half-way value: +Inf
  EXPECT_EQ(rounded_bits(0x7f7fefffu), 0x7f7fe000u);  // just below half: the largest TF32
  EXPECT_EQ(rounded_bits(0xff7ff000u), 0xff800000u);  // and -Inf
}

TEST(SimWmma, Tf32RoundsDenormalsAndKeepsZeroInfNan) {
  EXPECT_EQ(rounded_bits(0x00000fffu), 0x00000000u);  // tiny denormal: +0
  EXPECT_EQ(rounded_bits(0x00001000u), 0x00002000u);  // denormal tie: away
  EXPECT_EQ(rounded_bits(0x007ff000u), 0x00800000u);  // largest denormals carry into the smallest normal
  EXPECT_EQ(rounded_bits(0x80001000u), 0x80002000u);
  EXPECT_EQ(rounded_bits(0x00000000u), 0x00000000u);
  EXPECT_EQ(rounded_bits(0x80000000u), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(rounded_bits(0x7f800000u), 0x7f800000u);  // +Inf
  EXPECT_EQ(rounded_bits(0xff800000u), 0xff800000u);  // -Inf
  for (std::uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffffffffu, 0x7fbfffffu}) {
    const std::uint32_t r = rounded_bits(nan);
    EXPECT_TRUE(std::isnan(bits_float(r))) << std::hex << nan << " -> " << r;
    EXPECT_EQ(r & 0x1fffu, 0u) << "a TF32 value has its low 13 bits zero";
    EXPECT_EQ(r >> 31, nan >> 31) << "sign kept";
  }
}

TEST(SimWmma, Tf32RoundingAgreesWithTheIntegerDefinitionOnRandomPatterns) {
  // Independent statement of RNA: the nearest multiple of 2^13 ulps, ties
  // away, by magnitude; checked for finite inputs only.
  std::mt19937 rng(17);
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t u = rng();
    if ((u & 0x7f800000u) == 0x7f800000u) continue;
    const std::uint32_t mag = u & 0x7fffffffu, low = mag & 0x1fffu;
    std::uint32_t want = (mag & ~0x1fffu) + (low >= 0x1000u ? 0x2000u : 0u);
    want |= u & 0x80000000u;
    ASSERT_EQ(rounded_bits(u), want) << std::hex << u;
  }
}

std::vector<float> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// The simulator's definition, by plain loops: D = C + sum over k in order of
// tf32(A) tf32(B), one fp32 fma per term.
std::vector<float> wmma_loop(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c,
                             int K, bool a_col, bool b_col, bool round) {
  auto op = [&](float x) { return round ? round_to_tf32(x) : sim::tf32_operand(x); };
  std::vector<float> d(256);
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float s = c[r * 16 + n];
      for (int k = 0; k < K; ++k) {
        const float av = a_col ? a[k * 16 + r] : a[r * K + k];
        const float bv = b_col ? b[n * K + k] : b[k * 16 + n];
        s = std::fma(op(av), op(bv), s);
      }
      d[r * 16 + n] = s;
    }
  return d;
}

TEST(SimWmma, ProductEqualsThePlainLoopInEveryLayoutAndSchedule) {
  for (int ksteps : {1, 3}) {
    const int K = 8 * ksteps;
    const std::vector<float> a = random_vector(16 * K, 1), b = random_vector(K * 16, 2), c = random_vector(256, 3);
    for (int layouts = 0; layouts < 4; ++layouts)
      for (bool round : {true, false}) {
        const bool a_col = layouts & 1, b_col = layouts & 2;
        SCOPED_TRACE("K " + std::to_string(K) + (a_col ? " A col" : " A row") + (b_col ? " B col" : " B row") +
                     (round ? " rounded" : " raw"));
        const std::vector<float> want = wmma_loop(a, b, c, K, a_col, b_col, round);
        for (const sim::Schedule& s : sim::every_schedule(5)) {
          sim::ScheduleScope scope(s);
          std::vector<float> d(256, NAN);
          launch_wmma_tile(a.data(), b.data(), c.data(), d.data(), ksteps, a_col, b_col, round, nullptr);
          ASSERT_EQ(d, want) << sim::order_name(s.order);
        }
      }
  }
}

TEST(SimWmma, RoundingChangesTheProductAsTf32Should) {
  // A = B = 1 + 2^-11 + 2^-12 (tf32 rounds it up to 1 + 2^-10, truncation to 1):
  // rounded and raw differ, and both differ from the fp32 product.
  const float x = 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -12);
  const std::vector<float> a(16 * 8, x), b(8 * 16, x), c(256, 0.0f);
  std::vector<float> rounded(256), raw(256);
  launch_wmma_tile(a.data(), b.data(), c.data(), rounded.data(), 1, false, false, true, nullptr);
  launch_wmma_tile(a.data(), b.data(), c.data(), raw.data(), 1, false, false, false, nullptr);
  const float up = 1.0f + std::ldexp(1.0f, -10);
  EXPECT_EQ(rounded[0], 8 * up * up);
  EXPECT_EQ(raw[0], 8.0f);
}

using sim_test::error_of;

TEST(SimWmma, MisusesAreErrorsInEverySchedule) {
  alignas(32) float tile[16 * 8] = {};
  std::vector<float> out(48);
  for (const sim::Schedule& s : sim::every_schedule(3)) {
    sim::ScheduleScope scope(s);
    SCOPED_TRACE(sim::order_name(s.order));
    std::string e = error_of([&] { launch_wmma_misuse(tile, out.data(), kWmmaDiverged, nullptr); });
    EXPECT_HAS(e, "diverged warp");
    EXPECT_HAS(e, "wmma_tile.cu:");
    e = error_of([&] { launch_wmma_misuse(tile, out.data(), kWmmaBadLdm, nullptr); });
    EXPECT_HAS(e, "ldm 6 must be a multiple of 4 floats");
    e = error_of([&] { launch_wmma_misuse(tile, out.data(), kWmmaLanePointer, nullptr); });
    EXPECT_HAS(e, "every lane must pass the same");
    e = error_of([&] { launch_wmma_misuse(tile, out.data(), kWmmaPartialWarp, nullptr); });
    EXPECT_HAS(e, "needs all 32 lanes of the warp");
    EXPECT_HAS(e, "partial warp");
  }
}

}  // namespace
