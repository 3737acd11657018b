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

#include "cuda/loss_rows.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

// Row blockIdx.x's loss and dz; then the last block writes *loss = scale *
// (sum of the rows' losses) and, with a StepRecord, adds it to the record's
// running sum (in double, one step after the other: deterministic).
__global__ void __launch_bounds__(kMaxRowThreads)
    loss_kernel(RowLoss a, float* __restrict__ y, const void* __restrict__ target, float* __restrict__ dz,
                LossScratch scratch_out, float scale, float* __restrict__ loss, StepRecord* record) {
  CUMLP_SHARED(float, scratch, [kMaxRowThreads]);
  CUMLP_SHARED(int, last, [1]);
  const int64_t i = blockIdx.x;
  const float v = loss_row(BlockRow{scratch}, a, i, y, target, dz);
  if (threadIdx.x == 0) scratch_out.row_loss[i] = v;
  if (!last_block_done(scratch_out.blocks_done, last)) return;  // uniform across the block
  finish_loss(a, scratch_out, scale, loss, record, scratch);
}

__global__ void record_loss_kernel(const float* __restrict__ loss, StepRecord* record) {
  add_loss_to_record(*loss, record);
}

}  // namespace

int launch_record_loss(const float* loss, StepRecord* record, cudaStream_t stream) {
  NvtxRange range("record_loss", 1);
  CUMLP_CHECK(loss && record, "record_loss: null buffer");
  CUMLP_LAUNCH(record_loss_kernel, dim3(1), dim3(1), 0, stream, loss, record);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

int launch_loss_forward_backward(const LossArgs& a, float* y, const void* target, float* dz, float* loss,
                                 LossScratch scratch, cudaStream_t stream) {
  NvtxRange range("loss_forward_backward", a.rows, a.cols);
  float scale = 1.0f;
  const RowLoss args = row_loss_args(a, &scale);
  CUMLP_CHECK(y && target && loss && scratch.row_loss && scratch.blocks_done && (dz || !a.want_grad),
              "loss: null buffer");
  CUMLP_LAUNCH(loss_kernel, dim3(static_cast<unsigned>(a.rows)), dim3(row_threads(a.cols)), 0, stream, args, y,
               target, dz, scratch, scale, loss, a.record);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1;
}

CUMLP_GPU_NAMESPACE_END
