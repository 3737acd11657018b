// The loss kernel, one launch. One block per row computes that row's loss
// terms and gradient: for cross-entropy max, log-sum-exp, loss and dlogits in
// one pass; for BCE / MSE / MSE-sum / half-SSE the elementwise terms with the
// output activation's derivative fused (the softmax Jacobian through a row dot
// product). The row's loss goes to a scratch vector; the last block to finish
// (an integer counter, fenced; no block waits for another) adds the rows in a
// fixed order and resets the counter: no float atomics, the same bits on every
// run and schedule.
//
// Everything is float (the CPU twin accumulates in double, hence the tests'
// tolerances); the formulas and clamps are those of host/cpu/loss_cpu.cpp.
#include "cuda/loss.cuh"

#include "cuda/loss_row.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

// Row blockIdx.x's loss and dz; then the last block writes the total.
__global__ void __launch_bounds__(kMaxRowThreads)
    loss_kernel(RowLoss a, float* __restrict__ y, const void* __restrict__ target, float* __restrict__ dz,
                LossScratch scratch_out, float scale, float* __restrict__ loss, StepRecord* record) {
  CUMLP_SHARED(float, scratch, [kMaxRowThreads]);
  CUMLP_SHARED(int, last, [1]);
  const int64_t i = blockIdx.x, off = i * a.cols;
  float* dz_row = a.want_grad ? dz + off : nullptr;
  float v;
  if (static_cast<LossKind>(a.kind) == LossKind::CrossEntropy)
    v = cross_entropy_row(a, y + off, static_cast<const int32_t*>(target)[i], dz_row, scratch);
  else
    v = elementwise_row(a, y + off, static_cast<const float*>(target) + off, dz_row, scratch);
  if (threadIdx.x == 0) scratch_out.row_loss[i] = v;
  finish_loss_total(a.rows, scratch_out.row_loss, scratch_out.blocks_done, scale, loss, record, scratch, last);
}

}  // namespace

int launch_loss_forward_backward(const LossArgs& a, float* y, const void* target, float* dz, float* loss,
                                 LossScratch scratch, cudaStream_t stream) {
  NvtxRange range("loss_forward_backward", a.rows, a.cols);
  const auto kind = static_cast<LossKind>(a.kind);
  CUMLP_CHECK(a.kind >= 0 && a.kind <= static_cast<int32_t>(LossKind::HalfSSE), "loss: unknown kind ", a.kind);
  CUMLP_CHECK(a.rows >= 1 && a.cols >= 1, "loss over an empty output [", a.rows, ", ", a.cols, "]");
  CUMLP_CHECK(a.rows <= 0x7fffffff, "loss: ", a.rows, " rows exceed the grid");
  CUMLP_CHECK(!a.normalise || (a.out_act == ops::kSoftmax && kind != LossKind::CrossEntropy),
              "loss: only a softmax output's logits are normalised by the loss (and not for cross-entropy)");
  CUMLP_CHECK(y && target && loss && scratch.row_loss && scratch.blocks_done && (dz || !a.want_grad),
              "loss: null buffer");
  const RowLoss args = RowLoss::of(a);
  CUMLP_LAUNCH(loss_kernel, dim3(static_cast<unsigned>(a.rows)), dim3(row_threads(a.cols)), 0, stream, args, y,
               target, dz, scratch, loss_scale(a), loss, a.record);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

CUMLP_GPU_NAMESPACE_END
