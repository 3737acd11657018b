// Shared helpers of the cpu tests: the one comparison every test uses, and
// seeded input generation.
//
// expect_close follows STYLE.md point 7: non-finite values are reported
// first, then every element must satisfy |a - b| <= atol + rtol * |ref|; on
// failure it prints the first mismatches (index, both values), the max
// absolute and relative error, and the seed that generated the inputs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cumlp/tensor.h"
#include "host/shared/rng.h"

namespace cumlp::test {

struct Tol {
  double atol;
  double rtol;
};

/// a (computed) against ref (trusted), both of n elements.
template <class A, class R>
::testing::AssertionResult close_n(const std::string& what, const A* a, const R* ref, int64_t n, Tol tol,
                                   uint64_t seed) {
  std::ostringstream fail;
  fail.precision(17);
  int shown = 0, bad = 0;
  double max_abs = 0, max_rel = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double av = static_cast<double>(a[i]), rv = static_cast<double>(ref[i]);
    const bool finite_a = std::isfinite(av), finite_r = std::isfinite(rv);
    bool ok;
    if (!finite_a || !finite_r) {
      // Non-finite only matches the identical non-finite value (never NaN).
      ok = !std::isnan(av) && !std::isnan(rv) && av == rv;
    } else {
      const double err = std::fabs(av - rv);
      max_abs = std::max(max_abs, err);
      if (rv != 0) max_rel = std::max(max_rel, err / std::fabs(rv));
      ok = err <= tol.atol + tol.rtol * std::fabs(rv);
    }
    if (!ok) {
      ++bad;
      if (shown++ < 8) fail << "\n  [" << i << "] got " << av << " expected " << rv << " (|diff| " << std::fabs(av - rv) << ")";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << n << " elements outside atol " << tol.atol
                                       << " + rtol " << tol.rtol << " * |ref|; max abs err " << max_abs
                                       << ", max rel err " << max_rel << ", seed " << seed << fail.str();
}

template <class A, class R>
::testing::AssertionResult close(const std::string& what, const std::vector<A>& a, const std::vector<R>& ref, Tol tol,
                                 uint64_t seed) {
  if (a.size() != ref.size())
    return ::testing::AssertionFailure() << what << ": size " << a.size() << " vs expected " << ref.size();
  return close_n(what, a.data(), ref.data(), static_cast<int64_t>(a.size()), tol, seed);
}

inline ::testing::AssertionResult close(const std::string& what, const Tensor& a, const std::vector<double>& ref,
                                        Tol tol, uint64_t seed) {
  return close(what, a.to_vector(), ref, tol, seed);
}

inline ::testing::AssertionResult close(const std::string& what, double a, double ref, Tol tol, uint64_t seed) {
  return close_n(what, &a, &ref, 1, tol, seed);
}

/// n values uniform in [lo, hi) from stream rng::kUser + sub: a pure
/// function of (seed, sub), so a failure is reproduced by its printed seed.
inline std::vector<double> uniform(uint64_t seed, uint32_t sub, int64_t n, double lo, double hi) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    // 53 random bits from two draws: uniform in [0, 1) at double resolution.
    const uint64_t b = (static_cast<uint64_t>(rng::bits(seed, rng::kUser, sub, 2 * i)) << 21) ^
                       (rng::bits(seed, rng::kUser, sub, 2 * i + 1) >> 11);
    const double u = static_cast<double>(b & ((uint64_t{1} << 53) - 1)) * 0x1p-53;
    v[static_cast<std::size_t>(i)] = lo + (hi - lo) * u;
  }
  return v;
}

/// Like uniform, but every value at least `gap` away from 0 (for functions
/// with a kink at 0, where a central difference straddling it is meaningless).
inline std::vector<double> uniform_away_from_zero(uint64_t seed, uint32_t sub, int64_t n, double lo, double hi,
                                                  double gap) {
  std::vector<double> v = uniform(seed, sub, n, lo, hi);
  for (double& x : v)
    if (std::fabs(x) < gap) x = x < 0 ? x - gap : x + gap;
  return v;
}

/// Class indices in [0, classes) from stream rng::kUser + sub.
inline std::vector<int32_t> classes(uint64_t seed, uint32_t sub, int64_t n, int32_t classes) {
  std::vector<int32_t> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = static_cast<int32_t>(rng::below(seed, rng::kUser, sub, i, classes));
  return v;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

}  // namespace cumlp::test
