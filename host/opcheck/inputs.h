// The op table's seeded inputs: every case's buffers are drawn from stream
// rng::kUser + sub of kSeed, so a row's inputs are the same on every device
// and every run.
#pragma once

#include <cstdint>
#include <vector>

#include "cumlp/tensor.h"
#include "host/opcheck/op_case.h"
#include "host/shared/rng.h"

namespace cumlp::opcheck {

// n values uniform in [lo, hi) from stream rng::kUser + sub, rounded to dt.
inline std::vector<double> values(uint32_t sub, int64_t n, double lo, double hi, DType dt) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double u = lo + (hi - lo) * rng::uniform01(rng::bits(kSeed, rng::kUser, sub, static_cast<uint64_t>(i)));
    v[static_cast<std::size_t>(i)] = dt == DType::F32 ? static_cast<float>(u) : u;
  }
  return v;
}

// n integers in [0, k) (class indices, row indices, bytes) from stream kUser + sub.
inline std::vector<double> integers(uint32_t sub, int64_t n, int64_t k) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = static_cast<double>(rng::below(kSeed, rng::kUser, sub, i, static_cast<uint64_t>(k)));
  return v;
}

}  // namespace cumlp::opcheck
