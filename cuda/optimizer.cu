// The optimizer kernel: one thread per parameter, the operations in the order
// of host/cpu/optimizer_cpu.cpp (torch.optim's), so in float the update is the
// CPU's up to the GPU's fused multiply-adds. The Adam bias corrections are
// computed on the host in double and rounded once, as the CPU twin does.
#include "cuda/optimizer.cuh"

#include <cmath>

#include "cumlp/optim.h"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

struct Update {
  int32_t kind;
  float lr, wd, l1, b1, b2, eps, step_size, bc2_sqrt;
};

__global__ void optimizer_step_kernel(int64_t n, Update u, float* __restrict__ p, const float* __restrict__ grads,
                                      float* __restrict__ m, float* __restrict__ v) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const auto kind = static_cast<OptimizerKind>(u.kind);
  const bool decoupled = kind == OptimizerKind::AdamW;
  float pi = p[i], g = grads[i];
  if (!decoupled && u.wd != 0.0f) g += u.wd * pi;
  if (u.l1 != 0.0f) g += u.l1 * static_cast<float>((pi > 0.0f) - (pi < 0.0f));
  if (kind == OptimizerKind::SGD) {
    p[i] = pi - u.lr * g;
    return;
  }
  if (decoupled) pi *= 1.0f - u.lr * u.wd;
  float mi = m[i], vi = v[i];
  mi += (1.0f - u.b1) * (g - mi);  // torch: m.lerp_(g, 1 - b1)
  vi = u.b2 * vi + (1.0f - u.b2) * g * g;
  p[i] = pi - u.step_size * mi / (sqrtf(vi) / u.bc2_sqrt + u.eps);
  m[i] = mi;
  v[i] = vi;
}

}  // namespace

int launch_optimizer_step(const OptimArgs& a, int64_t n, float* params, const float* grads, float* m, float* v,
                          cudaStream_t stream) {
  NvtxRange range("optimizer_step");
  const auto kind = static_cast<OptimizerKind>(a.kind);
  CUMLP_CHECK(kind == OptimizerKind::SGD || kind == OptimizerKind::Adam || kind == OptimizerKind::AdamW,
              "optimizer_step: unknown optimizer ", a.kind);
  CUMLP_CHECK(n >= 0, "optimizer_step: negative size ", n);
  CUMLP_CHECK(n == 0 || (params && grads && (kind == OptimizerKind::SGD || (m && v))), "optimizer_step: null buffer");
  CUMLP_CHECK(kind == OptimizerKind::SGD || a.step >= 1, "optimizer_step: Adam step ", a.step, " must be >= 1");
  const double t = static_cast<double>(a.step);
  const Update u{a.kind,
                 static_cast<float>(a.lr),
                 static_cast<float>(a.weight_decay),
                 static_cast<float>(a.l1),
                 static_cast<float>(a.beta1),
                 static_cast<float>(a.beta2),
                 static_cast<float>(a.eps),
                 static_cast<float>(a.lr / (1.0 - std::pow(a.beta1, t))),
                 static_cast<float>(std::sqrt(1.0 - std::pow(a.beta2, t)))};
  return launch_elementwise(optimizer_step_kernel, n, stream, u, params, grads, m, v);
}

CUMLP_GPU_NAMESPACE_END
