// cumlp::check_ops — every Backend op of a device against the plain
// reference (plain loops, double accumulation; host/cpu/reference) over the
// op-case table the test suite runs: every op x activation x shape (1, odd
// sizes, widths not multiples of 32, and every layer of the seed models
// A-D) x dtype the device supports, with seeded inputs and one tolerance per
// op; the device gather; and, on devices that record steps, a recorded and
// replayed training step against the op-by-op one. `cumlp check` prints it.
//
//   for (const cumlp::OpCheck& c : cumlp::check_ops(cumlp::Device::parse("sim")))
//     if (!c.pass) std::printf("%s %s: %s\n", c.name.c_str(), c.shape.c_str(), c.mismatches.c_str());
#pragma once

#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/export.h"

namespace cumlp {

/// One row of the table, checked on one device.
struct OpCheck {
  std::string name;        // what it checks: "linear_act_forward relu", "loss cross-entropy", "gather_batch uint8 samples, labels", "replayed_step ..."
  std::string shape;       // "M=100 N=100 K=784", with the seed model layer when it is one: "(A.1)"
  std::string dtype;       // "f32", "f64"
  std::string precision = "fp32";  // the GEMM precision of the run (cumlp/tensor.h): "fp32", "tf32", "tf32x3"
  double max_abs_err = 0;  // over every compared output element
  double max_rel_err = 0;  // over the elements whose reference value exceeds 1e-3 in magnitude
  /// Pass: every output element finite where the reference is (non-finite
  /// values equal), and |got - ref| <= atol + rtol * |ref|; exact: the same bits.
  double atol = 0, rtol = 0;
  /// At tf32 / tf32x3, linear ops: plus per_term x sum_k |a_k b_k| of the element (x the epilogue's Lipschitz bound).
  double per_term = 0;
  bool exact = false;
  std::string tolerance_reason;  // why the op's tolerance is what it is
  /// On cuda, for Linear ops: the GEMM path the checked call took ("cuBLASLt", "own GEMM", ...).
  std::string path;
  bool pass = false;
  std::string mismatches;  // the first failing elements (output[index] got .. want ..), empty on pass
};

/// Runs the whole table on `device`. Throws Error if the device cannot be
/// used here; a wrong result is a failed row, never an exception. At
/// precision TF32 / TF32x3 (cuda and sim only; others throw Error): the
/// linear-op rows, with that precision's tolerances (host/opcheck/op_cases.cpp).
CUMLP_API std::vector<OpCheck> check_ops(const Device& device, Precision precision = Precision::FP32);

}  // namespace cumlp
