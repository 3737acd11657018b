// The one comparison of a device's output with the reference's (STYLE.md
// point 7): NaN/Inf first (a non-finite value matches only the identical
// non-finite reference value, never NaN), then |got - ref| <= atol + rtol |ref|,
// or the same bits for an exact tolerance. Keeps the max abs and rel error
// and the first mismatches, with index and both values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/op_check.h"
#include "host/opcheck/op_case.h"

namespace cumlp::opcheck {

struct Comparison {
  double max_abs_err = 0;
  double max_rel_err = 0;  // over the elements with |ref| > 1e-3, where it means something
  int64_t compared = 0, failed = 0;
  std::string first_mismatches;  // "y_drop[12] got 0.5 want 0.25; ..." (the first 5)
  bool pass() const { return failed == 0; }
  /// Writes the errors, the verdict and the first mismatches into a row.
  void report(OpCheck& row) const {
    row.max_abs_err = max_abs_err;
    row.max_rel_err = max_rel_err;
    row.pass = pass();
    row.mismatches = first_mismatches;
  }
};

/// Adds the comparison of output `what` to c. allowance (when given, one
/// per element) adds to the tolerance's atol element by element.
void compare(Comparison& c, const std::string& what, const std::vector<double>& got, const std::vector<double>& ref,
             const Tolerance& tol, const std::vector<double>* allowance = nullptr);

/// Adds a failure that is not an element (a size mismatch, an exception).
void fail(Comparison& c, const std::string& what);

}  // namespace cumlp::opcheck
