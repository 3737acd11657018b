// Shared by the simulator's graph tests: small kernels, RAII device memory,
// streams and graphs, and the fixture that clears pending errors.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cuda/sim/portable.h"

namespace sim_graph_test {

// x[i] = x[i] * a + counter, then the last block to finish increments the
// counter: a kernel whose every run differs, and which must read the counter
// from device memory to see it change between replays.
__global__ inline void step_kernel(float* x, int n, float a, unsigned* counter, unsigned* blocks_done) {
  const unsigned c = atomicAdd(counter, 0u);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] = x[i] * a + float(c);
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(blocks_done, 1u) == gridDim.x - 1) {
      atomicExch(blocks_done, 0u);
      atomicAdd(counter, 1u);
    }
  }
}

__global__ inline void add_value_kernel(float* x, int n, float v) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += v;
}

__global__ inline void add_from_device_kernel(float* x, int n, const float* v) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += *v;
}

// out[t] = the order in which thread t ran (one block): shows the schedule.
__global__ inline void ticket_kernel(int* out, int* next) { out[threadIdx.x] = atomicAdd(next, 1); }

__global__ inline void trap_if_kernel(const int* flag) {
  if (*flag) __trap();
}

// Device memory, freed when the test ends.
template <class T>
struct Device {
  T* p = nullptr;
  explicit Device(std::size_t n) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess); }
  ~Device() { EXPECT_EQ(cudaFree(p), cudaSuccess); }
  Device(const Device&) = delete;
  operator T*() const { return p; }
};

struct Stream {
  cudaStream_t s = nullptr;
  explicit Stream(unsigned flags = cudaStreamNonBlocking) {
    EXPECT_EQ(cudaStreamCreateWithFlags(&s, flags), cudaSuccess);
  }
  ~Stream() { EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess); }
  Stream(const Stream&) = delete;
  operator cudaStream_t() const { return s; }
};

// The graph of what `body` enqueues on `s`, instantiated; both destroyed with it.
struct Graph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  template <class F>
  Graph(cudaStream_t s, F body) {
    EXPECT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    body();
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  }
  ~Graph() {
    EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  }
};

template <class T>
inline std::vector<T> download(const T* d, std::size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

template <class T>
inline void upload(T* d, const std::vector<T>& h) {
  ASSERT_EQ(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
}

inline std::size_t node_count(cudaGraph_t graph) {
  std::size_t n = 12345;
  EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &n), cudaSuccess);
  return n;
}

inline cudaStreamCaptureStatus capture_status(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusActive;
  EXPECT_EQ(cudaStreamIsCapturing(s, &st), cudaSuccess);
  return st;
}

// Every test starts and ends with no pending error.
class SimGraph : public ::testing::Test {
 protected:
  void SetUp() override { cudaGetLastError(); }
  void TearDown() override { cudaGetLastError(); }
};

constexpr int kN = 1000, kThreads = 128, kBlocks = (kN + kThreads - 1) / kThreads;

inline std::vector<float> ramp() {
  std::vector<float> x(kN);
  for (int i = 0; i < kN; ++i) x[i] = 0.5f + float(i % 13) * 0.25f;
  return x;
}

}  // namespace sim_graph_test
