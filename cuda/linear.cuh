// The Linear layer's three products (forward with bias, activation and
// dropout fused; input gradient with dropout and activation derivative fused;
// weight gradient with the bias gradient fused), fp32, on one stream.
// Pointers are device buffers; shapes as in host/shared/backend.h. Each launcher
// returns the number of kernels it launched. `lt` (the backend's cuBLASLt
// context, nvcc build only; null: the own GEMM only) takes the wide products
// whose epilogue cuBLASLt has: see cuda/lt_gemm.cuh. `ws` is the backend's
// split-K workspace (cuda/gemm_rule.cuh), used by products the tile rule splits.
// `precision` picks the GEMM: the fp32 kernel (cuda/gemm.cuh, and cuBLASLt) for
// FP32, the tensor-core kernel (cuda/gemm_tf32.cuh) for TF32 and TF32x3; both
// have the same tile rule, split-K and grouped launches (cuda/gemm_group.cuh).
#pragma once

#include "cuda/common.cuh"
#include "cuda/gemm_rule.cuh"
#include "cuda/loss.cuh"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

class LtContext;  // cuda/lt_gemm.cuh; never defined in the simulator build, where it is always null

/// y = act(x w^T + b), and y_drop = y * keep / (1 - p) when ep.dropout_p > 0.
/// Softmax (the output layer's row op) adds a row kernel after the GEMM.
int launch_linear_act_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b,
                              const Epilogue& ep, float* y, float* y_drop, const GemmWorkspace& ws, LtContext* lt,
                              cudaStream_t stream, Precision precision = Precision::FP32);

/// The widest output whose loss fuses into its GEMM: a row is one warp's.
constexpr int64_t kLossFusedMaxCols = 32;

/// Whether launch_linear_loss_forward takes an output layer of N columns with
/// this epilogue (at every precision: the own GEMM's blocks all run the
/// tile's last step; cuBLASLt is not used for it): N <= kLossFusedMaxCols, no
/// dropout, and a softmax output only with ep.softmax_in_loss (the loss
/// normalises the logits).
bool linear_loss_fusable(int64_t N, const Epilogue& ep);

/// The output layer's forward and the loss in one launch: y = act(x w^T + b)
/// (softmax: the logits, normalised in place by the loss), then
/// launch_loss_forward_backward(a, y, target, dz, loss) in the GEMM's tail,
/// with the same bits as the two launches (a.rows == M, a.cols == N, a.out_act
/// == ep.act). Split-K allowed: the tile's last split block runs the loss.
int launch_linear_loss_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* b,
                               const Epilogue& ep, float* y, const LossArgs& a, const void* target, float* dz,
                               float* loss, LossScratch scratch, const GemmWorkspace& ws, cudaStream_t stream,
                               Precision precision = Precision::FP32);

/// dz_prev = (dz w) * keep/(1 - p) * act'(y_prev) for the previous layer's ep.
int launch_linear_backward_data(int64_t M, int64_t N, int64_t K, const float* dz, const float* w,
                                const float* y_prev, const Epilogue& ep, float* dz_prev, const GemmWorkspace& ws,
                                LtContext* lt, cudaStream_t stream, Precision precision = Precision::FP32);

/// dw = dz^T x; db (may be null) = column sums of dz in row order.
int launch_linear_backward_weight(int64_t M, int64_t N, int64_t K, const float* dz, const float* x, float* dw,
                                  float* db, const GemmWorkspace& ws, LtContext* lt, cudaStream_t stream,
                                  Precision precision = Precision::FP32);

/// Both gradients of one layer in one launch (the own GEMM at `precision`, two problems):
/// dw, db as linear_backward_weight and dz_prev as linear_backward_data.
int launch_linear_backward(int64_t M, int64_t N, int64_t K, const float* dz, const float* w, const float* x,
                           const float* y_prev, const Epilogue& ep, float* dw, float* db, float* dz_prev,
                           const GemmWorkspace& ws, cudaStream_t stream, Precision precision = Precision::FP32);

/// One layer's weight gradient in launch_linear_backward_weights.
struct WeightGradArgs {
  int64_t N = 0, K = 0;
  const float* dz = nullptr;  // [M, N]
  const float* x = nullptr;   // [M, K]
  float* dw = nullptr;        // [N, K]
  float* db = nullptr;        // [N], may be null
};

/// The weight gradients of up to kGemmGroupMax layers (count of them) with a
/// common batch M, as linear_backward_weight each, in one launch (the own
/// GEMM's grouped kernel at `precision`). Returns the launches made.
int launch_linear_backward_weights(int64_t M, const WeightGradArgs* layers, int count, const GemmWorkspace& ws,
                                   cudaStream_t stream, Precision precision = Precision::FP32);

CUMLP_GPU_NAMESPACE_END
