// The simulated CUDA runtime subset: memory, copies, streams, events, errors,
// used the way the backend's host code uses them around a kernel launch.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cuda/sim/portable.h"
#include "tests/sim/kernels/reference.cuh"

namespace {

TEST(SimRuntime, CopyLaunchCopyBackOnAStream) {
  const int rows = 3, cols = 50;
  std::vector<float> x(rows * cols);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7);
  float *dx = nullptr, *dy = nullptr;
  ASSERT_EQ(cudaMalloc(&dx, x.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dy, x.size() * sizeof(float)), cudaSuccess);
  EXPECT_TRUE(std::isnan(dy[0]));  // fresh device memory is poisoned
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(start, stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice, stream), cudaSuccess);
  launch_row_softmax(dx, dy, rows, cols, 64, stream);
  std::vector<float> y(x.size());
  ASSERT_EQ(cudaMemcpyAsync(y.data(), dy, y.size() * sizeof(float), cudaMemcpyDeviceToHost, stream), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(stop, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(nullptr, stop, 0), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  float ms = -1.0f;
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int c = 0; c < cols; ++c) sum += y[r * cols + c];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  ASSERT_EQ(cudaMemsetAsync(dy, 0, 8, stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(y.data(), dy, 8, cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(cudaEventDestroy(start), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(stop), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(dx), cudaSuccess);
  EXPECT_EQ(cudaFree(dy), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(SimRuntime, MisuseReturnsErrorsAndSetsTheLastError) {
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 16 * sizeof(float)), cudaSuccess);
  std::vector<float> host(32);
  // A copy that runs off the end of the allocation is the simulator's GPU fault.
  EXPECT_EQ(cudaMemcpy(d, host.data(), 17 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), d + 8, 9 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(host.data(), 0, 4), cudaErrorInvalidValue);  // host pointer as device memory
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading it resets it
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidValue);  // double free
  EXPECT_EQ(cudaStreamDestroy(reinterpret_cast<cudaStream_t>(host.data())), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorMemoryAllocation), "cudaErrorMemoryAllocation");
  int count = 0;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  cudaGetLastError();
}

__global__ void big_dynamic_kernel(float* out) {
  CUMLP_DYNAMIC_SHARED(float, smem);
  smem[threadIdx.x] = 2.0f;
  __syncthreads();
  out[threadIdx.x] = smem[(threadIdx.x + 1) % blockDim.x];
}

TEST(SimRuntime, FuncSetAttributeRaisesTheDynamicSharedLimit) {
  std::vector<float> out(32);
  const std::size_t bytes = 64 * 1024;
  EXPECT_THROW(CUMLP_LAUNCH(big_dynamic_kernel, 1, 32, bytes, nullptr, out.data()), cumlp::Error);
  ASSERT_EQ(cudaFuncSetAttribute(big_dynamic_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
            cudaSuccess);
  CUMLP_LAUNCH(big_dynamic_kernel, 1, 32, bytes, nullptr, out.data());
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(cudaFuncSetAttribute(big_dynamic_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 1 << 20),
            cudaErrorInvalidValue);
  cudaGetLastError();
}

}  // namespace
