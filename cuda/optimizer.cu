// The optimizer kernel (SGD with or without momentum/Nesterov, Adam, AdamW):
// one thread per parameter, the operations in the order
// of host/cpu/optimizer_cpu.cpp (torch.optim's), so in float the update is the
// CPU's up to the GPU's fused multiply-adds. The Adam bias corrections are
// computed in double and rounded once, as the CPU twin does
// (adam_bias_corrections): on the host from the launch arguments, or, for an
// update that reads its settings from a StepRecord (a recorded step), from the
// record, where the host put them for the first update and the kernel's last
// block computes them for the next one as it advances the update count: once
// per step, not once per block.
#include "cuda/optimizer.cuh"

#include <cmath>

#include "cumlp/optim.h"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

struct Update {
  int32_t kind;
  float lr, wd, l1, b1, b2, eps, step_size, bc2_sqrt;
  float mu;          // SGD momentum (0: plain SGD); the velocity buffer is m
  int32_t nesterov;  // SGD: step with g + mu * b instead of b
};

// The update's values from the settings in backend memory.
__device__ Update update_from(int32_t kind, const OptimSettings& s) {
  return Update{kind, s.lr, s.weight_decay, s.l1, s.beta1, s.beta2, s.eps, s.step_size, s.bc2_sqrt, s.momentum,
                s.nesterov};
}

__global__ void optimizer_step_kernel(int64_t n, Update u, StepRecord* record, float* __restrict__ p,
                                      const float* __restrict__ grads, float* __restrict__ m, float* __restrict__ v) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const auto kind = static_cast<OptimizerKind>(u.kind);
  if (record) {  // one thread a block reads the settings, the block shares them (one global read per block)
    CUMLP_SHARED(Update, shared, [1]);
    if (threadIdx.x == 0) shared[0] = update_from(u.kind, record->optim);
    __syncthreads();
    u = shared[0];
  }
  if (i < n) {
    const bool decoupled = kind == OptimizerKind::AdamW;
    float pi = p[i], g = grads[i];
    // Counted as written: every +, -, *, / and sqrt one operation (the sign of l1 one).
    if (!decoupled && u.wd != 0.0f) {
      g += u.wd * pi;
      CUMLP_COUNT_FLOPS(2);
    }
    if (u.l1 != 0.0f) {
      g += u.l1 * static_cast<float>((pi > 0.0f) - (pi < 0.0f));
      CUMLP_COUNT_FLOPS(3);
    }
    if (kind == OptimizerKind::SGD) {
      // Each count sits between a load and the store to the same address (a call the
      // traced build keeps the store's hook for, cuda/sim/trace.h).
      if (u.mu != 0.0f) {  // torch.optim.SGD: b = mu b + g (b starts at zero, so update 1 gives b = g)
        const float b = u.mu * m[i] + g;
        CUMLP_COUNT_FLOPS(u.nesterov ? 4 : 2);
        m[i] = b;
        g = u.nesterov ? g + u.mu * b : b;
      }
      const float p_new = pi - u.lr * g;
      CUMLP_COUNT_FLOPS(2);
      p[i] = p_new;
    } else {
      if (decoupled) {
        pi *= 1.0f - u.lr * u.wd;
        CUMLP_COUNT_FLOPS(3);
      }
      float mi = m[i], vi = v[i];
      mi += (1.0f - u.b1) * (g - mi);  // torch: m.lerp_(g, 1 - b1)
      vi = u.b2 * vi + (1.0f - u.b2) * g * g;
      const float p_new = pi - u.step_size * mi / (sqrtf(vi) / u.bc2_sqrt + u.eps);
      CUMLP_COUNT_FLOPS(15);  // m: 4, v: 5, the step: 6
      p[i] = p_new;
      m[i] = mi;
      v[i] = vi;
    }
  }
  if (!record) return;
  // The last block to finish advances the update count and Adam's scalars to
  // the next update: every block has read them by then. Release: each block
  // read them before the barrier, and the fence orders those reads (and the
  // block's writes) before its report. Acquire: the last block fences after
  // seeing every report, so its writes are ordered after all of them (the
  // pattern of CUDA's threadFenceReduction sample, with the fence on both sides).
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(&record->blocks_done, 1u) == gridDim.x - 1) {
      __threadfence();
      const int64_t done = record->updates + 1;
      record->updates = done;
      if (kind != OptimizerKind::SGD) {
        OptimSettings& s = record->optim;
        adam_bias_corrections(s.lr_d, s.beta1_d, s.beta2_d, static_cast<double>(done + 1), &s.step_size,
                              &s.bc2_sqrt);
      }
      record->blocks_done = 0;
    }
  }
}

}  // namespace

int launch_optimizer_step(const OptimArgs& a, int64_t n, float* params, const float* grads, float* m, float* v,
                          cudaStream_t stream) {
  NvtxRange range("optimizer_step", n);
  const auto kind = static_cast<OptimizerKind>(a.kind);
  CUMLP_CHECK(kind == OptimizerKind::SGD || kind == OptimizerKind::Adam || kind == OptimizerKind::AdamW,
              "optimizer_step: unknown optimizer ", a.kind);
  CUMLP_CHECK(n >= 0, "optimizer_step: negative size ", n);
  const bool momentum = kind == OptimizerKind::SGD && a.momentum != 0;
  CUMLP_CHECK(n == 0 || (params && grads && (kind == OptimizerKind::SGD || (m && v)) && (!momentum || m)),
              "optimizer_step: null buffer");
  CUMLP_CHECK(kind == OptimizerKind::SGD || a.record || a.step >= 1, "optimizer_step: Adam step ", a.step,
              " must be >= 1");
  Update u{a.kind,
           static_cast<float>(a.lr),
           static_cast<float>(a.weight_decay),
           static_cast<float>(a.l1),
           static_cast<float>(a.beta1),
           static_cast<float>(a.beta2),
           static_cast<float>(a.eps),
           0.0f,
           0.0f,
           momentum ? static_cast<float>(a.momentum) : 0.0f,
           momentum && a.nesterov ? 1 : 0};
  if (!a.record && kind != OptimizerKind::SGD)
    adam_bias_corrections(a.lr, a.beta1, a.beta2, static_cast<double>(a.step), &u.step_size, &u.bc2_sqrt);
  CUMLP_CHECK(!a.record || n > 0, "optimizer_step: a recorded update needs parameters to count it");
  return launch_elementwise(optimizer_step_kernel, n, stream, u, a.record, params, grads, m, v);
}

CUMLP_GPU_NAMESPACE_END
