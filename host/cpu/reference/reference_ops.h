// The plain reference: every Backend op as straightforward loops in double,
// written apart from the cpu device's fast path and from the CUDA kernels
// (it shares no helper with either, only the dropout mask's definition,
// host/shared/rng.h), so a bug in their shared code cannot hide on both
// sides of a comparison. Checked against calculus by finite differences
// (tests/cpu/gradcheck_ops_test.cpp); trusted by host/opcheck.
//
// Same conventions as host/shared/backend.h: row-major, x [M, K], w [N, K],
// y [M, N] = act(x w^T + b); activation derivatives taken from the output y.
#pragma once

#include <cstdint>

#include "host/shared/backend.h"

namespace cumlp::reference {

/// act(x) for an elementwise activation code (ops::ActCode, not softmax).
double activation(int32_t act, double x, double alpha);
/// d act / d x at the x whose output is y (every activation here is monotone
/// with y > 0 exactly where x > 0, so y determines the derivative).
double activation_derivative(int32_t act, double y, double alpha);

void linear_act_forward(int64_t M, int64_t N, int64_t K, const double* x, const double* w, const double* b,
                        const Epilogue& ep, double* y, double* y_drop);
void linear_backward_data(int64_t M, int64_t N, int64_t K, const double* dz, const double* w, const double* y_prev,
                          const Epilogue& ep, double* dz_prev);
void linear_backward_weight(int64_t M, int64_t N, int64_t K, const double* dz, const double* x, double* dw,
                            double* db);
/// target: int32 class indices [rows] (cross-entropy) or doubles [rows, cols].
void loss_forward_backward(const LossArgs& a, const double* y, const void* target, double* dz, double* loss);
void optimizer_step(const OptimArgs& a, int64_t n, double* params, const double* grads, double* m, double* v);
/// x [n, a.cols] = samples[rows[i]] * scale; targets: labels (int32) or the
/// target table, whose values are read as `table_f32` floats or doubles.
void gather_batch(const GatherArgs& a, bool table_f32, const int64_t* rows, int64_t n, double* x, void* target);

}  // namespace cumlp::reference
