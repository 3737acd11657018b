// The op-case table (ggml's test-backend-ops is the model): every Backend op
// x activation x shape x dtype, with seeded inputs and one tolerance per op,
// iterated by every runner that compares a device with the plain reference:
// the GoogleTest suites (tests/opcheck), `cumlp check` (op_check.cpp) and the
// kernel benchmarks of `cumlp bench` (host/bench/kernels.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/optim.h"
#include "cumlp/tensor.h"
#include "host/shared/backend.h"

namespace cumlp::opcheck {

/// backward: Backend::linear_backward, a layer's weight and input gradients as one op.
/// linear_loss: Backend::linear_loss_forward, the output layer's forward and the loss as one op.
/// narrow_step: Backend::narrow_step, a narrow network's whole forward, loss and gradients as one op
/// (its reference: the per-layer ops in a step's order, host/opcheck/narrow_case.cpp).
enum class Op {
  forward, backward_data, backward_weight, backward, loss, gather, optimizer, replayed_step, linear_loss, narrow_step
};

/// |got - ref| <= atol + rtol |ref| for every element, after NaN/Inf (which
/// must match the reference's exactly). exact: the same bits.
/// At a TF32 precision the linear ops also allow, per element, per_term x
/// sum over k of |a_k b_k| (the operands' magnitudes: what the rounding of
/// each operand scales with) x the epilogue's Lipschitz bound.
struct Tolerance {
  double atol = 0, rtol = 0;
  bool exact = false;
  std::string reason;
  double per_term = 0;
};

struct OpCase {
  Op op = Op::forward;
  std::string name;   // what the row checks: "linear_act_forward relu", "loss cross-entropy", "gather_batch u8 labels"
  std::string model;  // seed model layer it has the shape of ("B.3"), empty for the small and odd shapes
  DType dtype = DType::F32;
  Precision precision = Precision::FP32;  // of the device's GEMMs (linear ops)
  // forward/backward/linear_loss: batch M, outputs N, inputs K. loss: M rows, N cols.
  // gather: M rows gathered from K dataset rows of N features. optimizer: N parameters.
  int64_t M = 0, N = 0, K = 0;
  int32_t act = 0;       // ops::ActCode (linear ops: this layer's / the previous layer's; loss: the output's)
  double alpha = 0;      // LeakyReLU slope / ELU alpha
  double dropout_p = 0;
  bool bias = true;
  int32_t loss = 0;      // LossKind (loss, linear_loss)
  double lo = -1, hi = 1;  // loss: the range of the outputs y
  bool want_grad = true;
  Optimizer optimizer;
  bool samples_u8 = true, labels = true;  // gather: byte or float samples; class labels or a target table
  // narrow_step: the input width then each layer's outputs, and each layer's
  // activation (alpha and dropout_p apply to the hidden layers); M is the batch.
  std::vector<int64_t> widths;
  std::vector<int32_t> acts;

  /// "M=100 N=100 K=784" (the fields that apply).
  std::string shape() const;
  /// A seed model's shape: slow on the simulator, so run under one schedule.
  bool large() const { return !model.empty(); }
};

/// The tolerance of op in dtype at a GEMM precision, with its reason (one
/// statement per op and precision).
Tolerance tolerance(Op op, DType dtype, Precision precision = Precision::FP32);

/// Every case the backend can run: dtypes it supports; replayed steps only
/// where it records. At TF32 / TF32x3 (the backend set to it): the f32
/// linear-op cases only, the ones the precision changes, less the step
/// activation's forward (a discontinuity: a pre-activation within the
/// rounding error of 0 may flip, so no tolerance bounds it).
std::vector<OpCase> op_cases(const Backend& device, Precision precision = Precision::FP32);

/// An activation code's name in the rows' names ("leaky_relu"; "?" past the codes).
const char* act_name(int32_t act);

/// The seed of every case's inputs (printed with failures).
constexpr uint64_t kSeed = 20261206;

}  // namespace cumlp::opcheck
