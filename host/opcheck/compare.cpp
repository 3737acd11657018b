#include "host/opcheck/compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

namespace cumlp::opcheck {

namespace {

constexpr int kShown = 5;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

void fail(Comparison& c, const std::string& what) {
  if (c.failed++ < kShown) c.first_mismatches += (c.first_mismatches.empty() ? "" : "; ") + what;
}

void compare(Comparison& c, const std::string& what, const std::vector<double>& got, const std::vector<double>& ref,
             const Tolerance& tol, const std::vector<double>* allowance) {
  if (got.size() != ref.size() || (allowance && allowance->size() != ref.size())) {
    fail(c, what + ": " + std::to_string(got.size()) + " values, the reference has " + std::to_string(ref.size()));
    return;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], r = ref[i];
    bool ok;
    if (tol.exact) {
      ok = same_bits(g, r);
    } else if (!std::isfinite(g) || !std::isfinite(r)) {
      ok = !std::isnan(g) && g == r;
    } else {
      ok = std::fabs(g - r) <= tol.atol + tol.rtol * std::fabs(r) + (allowance ? (*allowance)[i] : 0.0);
    }
    if (std::isfinite(g) && std::isfinite(r)) {
      const double err = std::fabs(g - r);
      c.max_abs_err = std::max(c.max_abs_err, err);
      if (std::fabs(r) > 1e-3) c.max_rel_err = std::max(c.max_rel_err, err / std::fabs(r));
    }
    ++c.compared;
    if (ok) continue;
    std::ostringstream os;
    os.precision(9);
    os << what << "[" << i << "] got " << g << " want " << r;
    fail(c, os.str());
  }
}

}  // namespace cumlp::opcheck
