// cumlp::check_kernels — every backend op on a device against the CPU
// reference (plain loops, double accumulation) over a small table of shapes,
// the same comparison the test suite makes, for checking a device (a GPU
// in particular) where the tests are not at hand: `cumlp check`.
#pragma once

#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/export.h"

namespace cumlp {

struct KernelCheck {
  std::string op;           // "linear_act_forward relu", "loss cross-entropy dz", ...
  std::string shape;        // "M=100 N=100 K=784"
  double max_abs_err = 0;   // over the output's elements
  double max_rel_err = 0;   // over the elements with |reference| > 1e-3
  double tolerance = 0;     // pass: |got - ref| <= tolerance * (1 + |ref|) for every element, all finite
  bool pass = false;
};

/// Runs the table on `device` in f32. Throws Error if the device cannot be
/// used; a wrong result is a failed check, not an exception.
CUMLP_API std::vector<KernelCheck> check_kernels(const Device& device);

}  // namespace cumlp
