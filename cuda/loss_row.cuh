// The row functions of the loss (cuda/loss.cu), shared with the fused narrow
// MLP step (cuda/narrow.cu): one row's loss terms and gradient computed by a
// whole block, and the fixed-order total of the rows' losses that the last
// block to finish writes (with the StepRecord's running sum). Formulas and
// clamps are those of host/cpu/loss_cpu.cpp.
#pragma once

#include "cuda/common.cuh"
#include "cumlp/model.h"
#include "host/shared/backend.h"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

struct RowLoss {
  int32_t kind, out_act;
  int64_t rows, cols;
  float alpha, inv_rows, inv_n;
  bool want_grad, normalise;

  static RowLoss of(const LossArgs& a) {
    const double n = static_cast<double>(a.rows) * static_cast<double>(a.cols);
    return RowLoss{a.kind,
                   a.out_act,
                   a.rows,
                   a.cols,
                   static_cast<float>(a.out_alpha),
                   static_cast<float>(1.0 / static_cast<double>(a.rows)),
                   static_cast<float>(1.0 / n),
                   a.want_grad,
                   a.normalise};
  }
};

// Cross-entropy is a mean over rows, BCE and MSE over elements; the sums are not scaled.
inline float loss_scale(const LossArgs& a) {
  const auto kind = static_cast<LossKind>(a.kind);
  const double n = static_cast<double>(a.rows) * static_cast<double>(a.cols);
  return static_cast<float>(kind == LossKind::CrossEntropy                   ? 1.0 / static_cast<double>(a.rows)
                            : kind == LossKind::BCE || kind == LossKind::MSE ? 1.0 / n
                                                                             : 1.0);
}

// Loss term and dL/dy of one element of an elementwise loss.
__device__ float elementwise_term(int32_t kind, float y, float t, float inv_n, float* g) {
  const float d = y - t;
  switch (static_cast<LossKind>(kind)) {
    // Counted as written, d included: every +, -, *, /, negation, fmax, log and log1p one operation.
    case LossKind::BCE:
      CUMLP_COUNT_FLOPS(17);
      *g = d / fmaxf(y * (1.0f - y), 1e-12f) * inv_n;
      return -(t * fmaxf(logf(y), -100.0f) + (1.0f - t) * fmaxf(log1pf(-y), -100.0f));
    case LossKind::MSE: CUMLP_COUNT_FLOPS(4); *g = 2.0f * d * inv_n; return d * d;
    case LossKind::MSESum: CUMLP_COUNT_FLOPS(3); *g = 2.0f * d; return d * d;
    default: CUMLP_COUNT_FLOPS(3); *g = d; return 0.5f * d * d;  // HalfSSE
  }
}

__device__ float cross_entropy_row(const RowLoss& a, const float* z, int32_t cls, float* dz, float* scratch) {
  float mx = -INFINITY;
  // Counted per element: max 1; subtract, exp, add 3; gradient: subtract, exp, subtract, multiply 4.
  for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
    mx = fmaxf(mx, z[j]);
    CUMLP_COUNT_FLOPS(1);
  }
  mx = block_reduce(mx, scratch, MaxOp{});
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
    sum += expf(z[j] - mx);
    CUMLP_COUNT_FLOPS(3);
  }
  const float lse = mx + logf(block_reduce(sum, scratch, SumOp{}));
  if (a.want_grad)
    for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
      dz[j] = (expf(z[j] - lse) - (j == cls ? 1.0f : 0.0f)) * a.inv_rows;
      CUMLP_COUNT_FLOPS(4);
    }
  CUMLP_COUNT_FLOPS(3);  // every thread: log, add (lse), subtract (the row's loss)
  return lse - z[cls];
}

__device__ float elementwise_row(const RowLoss& a, float* y, const float* t, float* dz, float* scratch) {
  if (a.normalise) softmax_row(y, a.cols, scratch);  // the logits of a softmax layer: y = softmax, in place
  float total = 0.0f, dot = 0.0f;  // dot: sum of dL/dy * y, for the softmax Jacobian
  for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
    float g;
    total += elementwise_term(a.kind, y[j], t[j], a.inv_n, &g);
    CUMLP_COUNT_FLOPS(1);
    if (!a.want_grad) continue;
    if (a.out_act == ops::kSoftmax) {
      dot += g * y[j];
      dz[j] = g;  // finished below, by this same thread, once the row's dot is known
      CUMLP_COUNT_FLOPS(2);
    } else {
      dz[j] = g * ops::act_derivative(a.out_act, y[j], a.alpha);
      CUMLP_COUNT_FLOPS(a.out_act != ops::kIdentity ? 2 : 1);
    }
  }
  if (a.want_grad && a.out_act == ops::kSoftmax) {  // uniform across the block
    dot = block_reduce(dot, scratch, SumOp{});
    for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
      dz[j] = y[j] * (dz[j] - dot);
      CUMLP_COUNT_FLOPS(2);
    }
  }
  return block_reduce(total, scratch, SumOp{});
}

// The sum of rows[0..rows) as a block of kMaxRowThreads threads would add
// them, whatever this block's size (a power of two up to that): lane L sums
// rows L, L + kMaxRowThreads, ... in order, then block_reduce's fixed tree over
// the lanes, each thread standing in for lanes threadIdx.x + k * blockDim.x.
// So the total has the same bits as a kMaxRowThreads reduction.
__device__ float ordered_total(int64_t rows, const float* row_loss, float* scratch) {
  __syncthreads();  // previous readers of scratch are done
  for (int lane = threadIdx.x; lane < kMaxRowThreads; lane += blockDim.x) {
    float s = 0.0f;
    for (int64_t i = lane; i < rows; i += kMaxRowThreads) {
      s += row_loss[i];
      CUMLP_COUNT_FLOPS(1);
    }
    scratch[lane] = s;
  }
  for (int half = kMaxRowThreads / 2; half > 0; half /= 2) {
    __syncthreads();
    for (int lane = threadIdx.x; lane < half; lane += blockDim.x) {
      const float v = scratch[lane] + scratch[lane + half];
      CUMLP_COUNT_FLOPS(1);  // between the load and the store of scratch[lane] (cuda/sim/trace.h)
      scratch[lane] = v;
    }
  }
  __syncthreads();
  return scratch[0];
}

// Called by every thread of a block after its rows' losses are in
// row_loss: the last block of the grid to finish (an integer counter, fenced;
// no block waits for another) writes *loss = scale * (sum of rows[0..rows) in
// ordered_total's order) and, with a StepRecord, adds it to the record's running
// sum (in double, one step after the other: deterministic), and resets the
// counter for the next launch. `last` is a shared int.
// Release: thread 0's fence orders the block's row losses before its report.
// Acquire: the last block fences after seeing every report, so its reads of
// the rows' losses come after all of them (CUDA's threadFenceReduction pattern).
__device__ inline void finish_loss_total(int64_t rows, const float* row_loss, uint32_t* blocks_done, float scale,
                                         float* loss, StepRecord* record, float* scratch, int* last) {
  __syncthreads();  // every thread's row losses are written
  if (threadIdx.x == 0) {
    __threadfence();
    const bool done = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
    if (done) __threadfence();
    last[0] = done ? 1 : 0;
  }
  __syncthreads();
  if (!last[0]) return;  // uniform across the block
  const float s = ordered_total(rows, row_loss, scratch);
  if (threadIdx.x != 0) return;
  *blocks_done = 0;  // for the next launch
  const float value = s * scale;
  CUMLP_COUNT_FLOPS(1);
  *loss = value;
  if (!record) return;
  if (!isfinite(value) && record->first_nonfinite < 0) record->first_nonfinite = record->updates;
  record->loss_sum += static_cast<double>(value);
  record->losses += 1;
}

}  // namespace

CUMLP_GPU_NAMESPACE_END
