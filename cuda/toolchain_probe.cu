// Compiled for every architecture in CUMLP_CUDA_ARCHITECTURES to prove the CUDA
// toolchain works with the project's flags (including the shared Philox header)
// before the real kernels land. It is not linked into the library.
#include "host/rng.h"

__global__ void toolchain_probe_kernel(unsigned* out, unsigned long long seed) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = cumlp::rng::bits(seed, cumlp::rng::kUser, 0, i);
}
