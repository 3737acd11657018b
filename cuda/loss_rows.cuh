// The loss of one row and the fixed-order total, shared by the loss kernel
// (cuda/loss.cu: a block per row) and the output layer's GEMM with the loss
// fused (cuda/linear.cu: a warp per row of <= 32 columns). The row functions
// take the row's threads (BlockRow or WarpRow, cuda/common.cuh), whose
// reductions have the same tree for a 32-wide row, so both paths give the
// same bits.
//
// Everything is float (the CPU twin accumulates in double, hence the tests'
// tolerances); the formulas and clamps are those of host/cpu/loss_cpu.cpp.
#pragma once

#include "cuda/loss.cuh"
#include "cumlp/model.h"

CUMLP_GPU_NAMESPACE_BEGIN

/// The loss's arguments as the kernels take them.
struct RowLoss {
  int32_t kind, out_act;
  int64_t rows, cols;
  float alpha, inv_rows, inv_n;
  bool want_grad, normalise;
};

/// Checks a's kind and shape and converts it; *scale: what the total of the
/// rows' losses is multiplied by (cross-entropy is a mean over rows, BCE and
/// MSE over elements; the sums are not scaled).
inline RowLoss row_loss_args(const LossArgs& a, float* scale) {
  const auto kind = static_cast<LossKind>(a.kind);
  CUMLP_CHECK(a.kind >= 0 && a.kind <= static_cast<int32_t>(LossKind::HalfSSE), "loss: unknown kind ", a.kind);
  CUMLP_CHECK(a.rows >= 1 && a.cols >= 1, "loss over an empty output [", a.rows, ", ", a.cols, "]");
  CUMLP_CHECK(a.rows <= 0x7fffffff, "loss: ", a.rows, " rows exceed the grid");
  CUMLP_CHECK(!a.normalise || (a.out_act == ops::kSoftmax && kind != LossKind::CrossEntropy),
              "loss: only a softmax output's logits are normalised by the loss (and not for cross-entropy)");
  const double n = static_cast<double>(a.rows) * static_cast<double>(a.cols);
  *scale = static_cast<float>(kind == LossKind::CrossEntropy                   ? 1.0 / static_cast<double>(a.rows)
                              : kind == LossKind::BCE || kind == LossKind::MSE ? 1.0 / n
                                                                               : 1.0);
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

// Loss term and dL/dy of one element of an elementwise loss.
__device__ inline float elementwise_term(int32_t kind, float y, float t, float inv_n, float* g) {
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

// Cross-entropy of the logits z: max, log-sum-exp, loss and dlogits.
template <class Row>
__device__ float cross_entropy_row(const Row& t, const RowLoss& a, const float* z, int32_t cls, float* dz) {
  float mx = -INFINITY;
  // Counted per element: max 1; subtract, exp, add 3; gradient: subtract, exp, subtract, multiply 4.
  for (int64_t j = t.lane(); j < a.cols; j += t.width()) {
    mx = fmaxf(mx, z[j]);
    CUMLP_COUNT_FLOPS(1);
  }
  mx = t.reduce(mx, MaxOp{});
  float sum = 0.0f;
  for (int64_t j = t.lane(); j < a.cols; j += t.width()) {
    sum += expf(z[j] - mx);
    CUMLP_COUNT_FLOPS(3);
  }
  const float lse = mx + logf(t.reduce(sum, SumOp{}));
  if (a.want_grad)
    for (int64_t j = t.lane(); j < a.cols; j += t.width()) {
      dz[j] = (expf(z[j] - lse) - (j == cls ? 1.0f : 0.0f)) * a.inv_rows;
      CUMLP_COUNT_FLOPS(4);
    }
  CUMLP_COUNT_FLOPS(3);  // every thread: log, add (lse), subtract (the row's loss)
  return lse - z[cls];
}

// The elementwise losses, the output activation's derivative fused (the
// softmax Jacobian through a row dot product); a.normalise first turns the
// row's logits into the softmax, in place.
template <class Row>
__device__ float elementwise_row(const Row& r, const RowLoss& a, float* y, const float* t, float* dz) {
  if (a.normalise) softmax_row(r, y, a.cols);
  float total = 0.0f, dot = 0.0f;  // dot: sum of dL/dy * y, for the softmax Jacobian
  for (int64_t j = r.lane(); j < a.cols; j += r.width()) {
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
  if (a.want_grad && a.out_act == ops::kSoftmax) {  // uniform across the row's threads
    dot = r.reduce(dot, SumOp{});
    for (int64_t j = r.lane(); j < a.cols; j += r.width()) {
      dz[j] = y[j] * (dz[j] - dot);
      CUMLP_COUNT_FLOPS(2);
    }
  }
  return r.reduce(total, SumOp{});
}

/// Row i's loss (and dz, and y when normalised) by the row's threads.
template <class Row>
__device__ float loss_row(const Row& t, const RowLoss& a, int64_t i, float* y, const void* target, float* dz) {
  const int64_t off = i * a.cols;
  float* dz_row = a.want_grad ? dz + off : nullptr;
  if (static_cast<LossKind>(a.kind) == LossKind::CrossEntropy)
    return cross_entropy_row(t, a, y + off, static_cast<const int32_t*>(target)[i], dz_row);
  return elementwise_row(t, a, y + off, static_cast<const float*>(target) + off, dz_row);
}

// The sum of rows[0..rows) as a block of kMaxRowThreads threads would add
// them, whatever this block's size (a power of two up to that): lane L sums
// rows L, L + kMaxRowThreads, ... in order, then block_reduce's fixed tree over
// the lanes, each thread standing in for lanes threadIdx.x + k * blockDim.x.
// So the total has the same bits as a kMaxRowThreads reduction.
__device__ inline float ordered_total(int64_t rows, const float* row_loss, float* scratch) {
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

/// Counts this block done; true, uniformly across the block, in the last block
/// of the grid to finish. `last` is a shared int. Release: thread 0's fence
/// orders the block's writes (its rows' losses) before its report. Acquire: the
/// last block fences after seeing every report, so its reads of the rows'
/// losses come after all of them (CUDA's threadFenceReduction pattern).
__device__ inline bool last_block_done(uint32_t* blocks_done, int* last) {
  __syncthreads();  // every thread's writes are done
  if (threadIdx.x == 0) {
    __threadfence();
    const bool done = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
    if (done) __threadfence();
    last[0] = done ? 1 : 0;
  }
  __syncthreads();
  return last[0] != 0;
}

/// A step's loss into the record's running sum (in double, one step after the
/// other: deterministic), noting the first non-finite one.
__device__ inline void add_loss_to_record(float value, StepRecord* record) {
  if (!isfinite(value) && record->first_nonfinite < 0) record->first_nonfinite = record->updates;
  record->loss_sum += static_cast<double>(value);
  record->losses += 1;
}

/// The last block's part, by the whole block (a power of two <= kMaxRowThreads
/// threads, scratch kMaxRowThreads shared floats): *loss = scale * (the rows'
/// losses in a fixed order), the counter reset for the next launch and, with
/// a record, the loss added to its running sum (in double, one step after the
/// other: deterministic).
__device__ inline void finish_loss(const RowLoss& a, LossScratch out, float scale, float* loss, StepRecord* record,
                                   float* scratch) {
  const float s = ordered_total(a.rows, out.row_loss, scratch);
  if (threadIdx.x != 0) return;
  *out.blocks_done = 0;  // for the next launch
  const float value = s * scale;
  CUMLP_COUNT_FLOPS(1);
  *loss = value;
  if (record) add_loss_to_record(value, record);
}

CUMLP_GPU_NAMESPACE_END
