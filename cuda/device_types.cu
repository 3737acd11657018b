// The GPU backend's device registrations (host/core/device_registry.cpp lists
// them): the nvcc build registers `cuda` (every GPU, each checked against the
// compiled architectures), the simulator build `sim`, and the access-traced
// simulator build the backend `cumlp profile` runs on. Built with the other
// GPU sources (cuda/CMakeLists.txt): once per device.
#include <string>

#include "cuda/backend.cuh"
#include "host/shared/device_type.h"
#include "host/shared/kernel_trace.h"  // make_traced_sim_backend

namespace cumlp {

#if defined(__CUDACC__)

namespace {

int gpu_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

// Why GPU `index` cannot run this build's kernels, or "".
std::string gpu_unavailable(int index) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no usable GPU (cudaGetDeviceCount: ") + cudaGetErrorString(err) + ")";
  }
  if (count == 0) return "no GPU found (cudaGetDeviceCount returned 0)";
  if (index < 0 || index >= count)
    return "GPU index " + std::to_string(index) + " out of range (" + std::to_string(count) + " GPUs)";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
    (void)cudaGetLastError();
    return "cudaGetDeviceProperties failed for GPU " + std::to_string(index);
  }
  // The kernels are compiled for CUMLP_CUDA_ARCHITECTURES (SASS for each,
  // PTX of the newest, which newer GPUs JIT): an older GPU has no kernel image.
  const int cc = prop.major * 10 + prop.minor;
  if (cc < CUMLP_CUDA_MIN_ARCH)
    return std::string(prop.name) + " has compute capability " + std::to_string(prop.major) + "." +
           std::to_string(prop.minor) + ", below " + std::to_string(CUMLP_CUDA_MIN_ARCH / 10) + "." +
           std::to_string(CUMLP_CUDA_MIN_ARCH % 10) + ", the oldest this build's kernels run on";
  return "";
}

std::string gpu_describe(int index, double* memory_gb) {
  cudaDeviceProp prop{};
  CUMLP_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  if (memory_gb) *memory_gb = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  return std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + ")";
}

}  // namespace

DeviceType cuda_device_type() {
  DeviceType t;
  t.name = "cuda";
  t.summary = "an NVIDIA GPU (cuda = cuda:0), f32";
  t.indexed = true;
  t.auto_rank = 2;
  t.dtypes = {DType::F32};
  t.tensor_gemm = true;  // cuda/gemm_tf32.cuh
  t.count = gpu_count;
  t.unavailable = gpu_unavailable;
  t.describe = gpu_describe;
  t.make = [](int index) -> std::unique_ptr<Backend> {
    return gpu::make_gpu_backend("cuda:" + std::to_string(index), index);
  };
  return t;
}

#elif defined(CUMLP_SIM_TRACED)

std::unique_ptr<Backend> make_traced_sim_backend() { return gpu::make_gpu_backend("sim", 0); }
bool kernel_tracing_built() { return true; }

#else

DeviceType sim_device_type() {
  DeviceType t;
  t.name = "sim";
  t.summary = "the CUDA kernels run on the CPU by the SIMT simulator, f32";
  t.dtypes = {DType::F32};
  t.tensor_gemm = true;  // cuda/gemm_tf32.cuh, through cuda/sim/wmma.h
  t.unavailable = [](int) { return std::string(); };
  t.describe = [](int, double*) { return std::string("SIMT simulator (the CUDA kernels on the CPU)"); };
  t.make = [](int) -> std::unique_ptr<Backend> { return gpu::make_gpu_backend("sim", 0); };
  return t;
}

#endif

}  // namespace cumlp
