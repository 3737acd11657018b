// Stream capture and CUDA graphs in the simulator's runtime: capture records
// without running, replay equals eager execution bit for bit, and the calls CUDA
// forbids during capture fail with CUDA's errors and invalidate the capture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cuda/sim/portable.h"

namespace {

// x[i] = x[i] * a + counter, then the last block to finish increments the
// counter: a kernel whose every run differs, and which must read the counter
// from device memory to see it change between replays.
__global__ void step_kernel(float* x, int n, float a, unsigned* counter, unsigned* blocks_done) {
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

__global__ void add_value_kernel(float* x, int n, float v) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += v;
}

__global__ void add_from_device_kernel(float* x, int n, const float* v) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += *v;
}

// out[t] = the order in which thread t ran (one block): shows the schedule.
__global__ void ticket_kernel(int* out, int* next) { out[threadIdx.x] = atomicAdd(next, 1); }

__global__ void trap_if_kernel(const int* flag) {
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
std::vector<T> download(const T* d, std::size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

template <class T>
void upload(T* d, const std::vector<T>& h) {
  ASSERT_EQ(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
}

std::size_t node_count(cudaGraph_t graph) {
  std::size_t n = 12345;
  EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &n), cudaSuccess);
  return n;
}

cudaStreamCaptureStatus capture_status(cudaStream_t s) {
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

std::vector<float> ramp() {
  std::vector<float> x(kN);
  for (int i = 0; i < kN; ++i) x[i] = 0.5f + float(i % 13) * 0.25f;
  return x;
}

TEST_F(SimGraph, CaptureRecordsWithoutRunningAndReplayEqualsEagerRuns) {
  const int runs = 5;
  Device<float> x(kN);
  Device<unsigned> counters(2);
  Stream s;
  const auto step = [&] {
    CUMLP_LAUNCH(step_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.5f, counters.p, counters + 1);
  };
  upload(x.p, ramp());
  ASSERT_EQ(cudaMemsetAsync(counters, 0, 2 * sizeof(unsigned), s), cudaSuccess);
  for (int r = 0; r < runs; ++r) step();
  const std::vector<float> eager = download(x.p, kN);
  EXPECT_EQ(download(counters.p, 1)[0], unsigned(runs));
  EXPECT_NE(eager, ramp());

  upload(x.p, ramp());
  ASSERT_EQ(cudaMemsetAsync(counters, 0, 2 * sizeof(unsigned), s), cudaSuccess);
  const Graph g(s, [&] {
    EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusActive);
    step();
  });
  ASSERT_NE(g.graph, nullptr);
  EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusNone);
  EXPECT_EQ(download(x.p, kN), ramp());  // nothing ran
  EXPECT_EQ(download(counters.p, 1)[0], 0u);
  EXPECT_EQ(node_count(g.graph), 1u);
  for (const sim::Schedule& schedule : sim::every_schedule(3)) {  // the replays' schedule changes nothing here
    sim::ScheduleScope scope(schedule);
    upload(x.p, ramp());
    ASSERT_EQ(cudaMemsetAsync(counters, 0, 2 * sizeof(unsigned), s), cudaSuccess);
    for (int r = 0; r < runs; ++r) ASSERT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    const std::vector<float> replayed = download(x.p, kN);
    EXPECT_EQ(std::memcmp(replayed.data(), eager.data(), kN * sizeof(float)), 0) << sim::order_name(schedule.order);
    EXPECT_EQ(download(counters.p, 1)[0], unsigned(runs));
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(SimGraph, ByValueArgumentsAreFrozenAtCaptureDeviceValuesAreReadAtReplay) {
  Device<float> x(kN), dv(1);
  Stream s;
  upload(x.p, std::vector<float>(kN, 0.0f));
  upload(dv.p, std::vector<float>{10.0f});
  float v = 1.0f;
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, v);
  CUMLP_LAUNCH(add_from_device_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, dv.p);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);  // the exec owns its nodes: the graph may go first
  v = 100.0f;  // too late: the launch copied 1.0f
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 11.0f));
  upload(dv.p, std::vector<float>{20.0f});  // seen by the next replay
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 32.0f));
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
}

TEST_F(SimGraph, MemcpyAndMemsetNodesTouchMemoryAtReplay) {
  Device<float> x(kN);
  float* y = nullptr;
  ASSERT_EQ(cudaMalloc(&y, kN * sizeof(float)), cudaSuccess);
  Stream s;
  std::vector<float> in(kN, 2.0f), out(kN, -7.0f);
  upload(y, std::vector<float>(kN, 5.0f));
  Graph g(s, [&] {
    EXPECT_EQ(cudaMemsetAsync(y, 0, kN * sizeof(float), s), cudaSuccess);
    EXPECT_EQ(cudaMemcpyAsync(x, in.data(), kN * sizeof(float), cudaMemcpyHostToDevice, s), cudaSuccess);
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.0f);
    EXPECT_EQ(cudaMemcpyAsync(y, x, kN / 2 * sizeof(float), cudaMemcpyDeviceToDevice, s), cudaSuccess);  // half
    EXPECT_EQ(cudaMemcpyAsync(out.data(), y, kN * sizeof(float), cudaMemcpyDeviceToHost, s), cudaSuccess);
    // A copy that leaves its allocation fails at capture and records nothing.
    EXPECT_EQ(cudaMemcpyAsync(out.data(), y, (kN + 1) * sizeof(float), cudaMemcpyDeviceToHost, s),
              cudaErrorInvalidValue);
  });
  EXPECT_EQ(out, std::vector<float>(kN, -7.0f));
  EXPECT_EQ(download(y, kN), std::vector<float>(kN, 5.0f));
  std::vector<cudaGraphNode_t> nodes(7, reinterpret_cast<cudaGraphNode_t>(&out));
  std::size_t count = nodes.size();
  ASSERT_EQ(cudaGraphGetNodes(g.graph, nodes.data(), &count), cudaSuccess);
  ASSERT_EQ(count, 5u);
  EXPECT_EQ(nodes[5], nullptr);
  const cudaGraphNodeType expected[] = {cudaGraphNodeTypeMemset, cudaGraphNodeTypeMemcpy, cudaGraphNodeTypeKernel,
                                        cudaGraphNodeTypeMemcpy, cudaGraphNodeTypeMemcpy};
  for (int i = 0; i < 5; ++i) {
    cudaGraphNodeType type = cudaGraphNodeTypeMemset;
    ASSERT_EQ(cudaGraphNodeGetType(nodes[i], &type), cudaSuccess);
    EXPECT_EQ(type, expected[i]) << "node " << i;
  }
  for (float value : {2.0f, 3.0f}) {
    in.assign(kN, value);  // the host buffer is read at replay
    ASSERT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
    std::vector<float> want(kN, 0.0f);  // the memset, then the first half copied over it
    std::fill(want.begin(), want.begin() + kN / 2, value + 1.0f);
    EXPECT_EQ(out, want);
  }
  // Memory freed under a graph: the replay's copy is the simulator's GPU fault.
  ASSERT_EQ(cudaFree(y), cudaSuccess);
  EXPECT_EQ(cudaGraphLaunch(g.exec, s), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
}

TEST_F(SimGraph, ReplayRunsUnderTheScheduleInEffectThenUnlessTheLaunchFixedOne) {
  constexpr int threads = 64;
  Device<int> out(2 * threads), next(2);
  Stream s;
  const sim::Schedule reverse{sim::Order::reverse, 0};
  sim::ScheduleScope forward({sim::Order::forward, 0});
  Graph g(s, [&] {
    EXPECT_EQ(cudaMemsetAsync(next, 0, 2 * sizeof(int), s), cudaSuccess);
    CUMLP_LAUNCH(ticket_kernel, 1, threads, 0, s.s, out.p, next.p);
    sim::launch_with({&reverse, 0}, ticket_kernel, 1, threads, 0, s.s, out + threads, next + 1);
  });
  for (const sim::Schedule& schedule : sim::every_schedule(7)) {
    sim::ScheduleScope scope(schedule);
    SCOPED_TRACE(sim::order_name(schedule.order));
    ASSERT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
    const std::vector<int> t = download(out.p, 2 * threads);
    std::vector<int> seen(threads, 0);
    for (int i = 0; i < threads; ++i) ++seen.at(t[i]);
    EXPECT_EQ(seen, std::vector<int>(threads, 1));  // a permutation
    if (schedule.order == sim::Order::forward) {
      EXPECT_EQ(t[0], 0);
    } else if (schedule.order == sim::Order::reverse) {
      EXPECT_EQ(t[threads - 1], 0);
    }
    EXPECT_EQ(t[2 * threads - 1], 0);  // launch_with's reverse, always
    EXPECT_EQ(t[threads], threads - 1);
  }
}

// Each call CUDA forbids during a global capture: it fails, the capture is
// invalidated, later work on the stream is dropped, and EndCapture gives no graph.
TEST_F(SimGraph, IllegalCallsDuringCaptureInvalidateIt) {
  Device<float> x(kN), spare(1);
  cudaEvent_t event = nullptr;
  ASSERT_EQ(cudaEventCreate(&event), cudaSuccess);
  Stream s;
  std::vector<float> host(4);
  void* fresh = nullptr;
  const struct {
    const char* name;
    std::function<cudaError_t()> call;
    cudaError_t error;
  } cases[] = {
      {"cudaStreamSynchronize", [&] { return cudaStreamSynchronize(s); }, cudaErrorStreamCaptureUnsupported},
      {"cudaStreamQuery", [&] { return cudaStreamQuery(s); }, cudaErrorStreamCaptureUnsupported},
      {"cudaDeviceSynchronize", [] { return cudaDeviceSynchronize(); }, cudaErrorStreamCaptureUnsupported},
      {"cudaMemcpy", [&] { return cudaMemcpy(host.data(), x, 16, cudaMemcpyDeviceToHost); },
       cudaErrorStreamCaptureUnsupported},
      {"cudaMemset", [&] { return cudaMemset(x, 0, 16); }, cudaErrorStreamCaptureUnsupported},
      {"cudaMalloc", [&] { return cudaMalloc(&fresh, 16); }, cudaErrorStreamCaptureUnsupported},
      {"cudaFree", [&] { return cudaFree(spare); }, cudaErrorStreamCaptureUnsupported},
      {"cudaEventQuery", [&] { return cudaEventRecord(event, s), cudaEventQuery(event); }, cudaErrorCapturedEvent},
      {"cudaEventSynchronize", [&] { return cudaEventRecord(event, s), cudaEventSynchronize(event); },
       cudaErrorCapturedEvent},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    upload(x.p, std::vector<float>(kN, 1.0f));
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.0f);
    EXPECT_EQ(c.call(), c.error);
    EXPECT_EQ(cudaGetLastError(), c.error);
    EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusInvalidated);
    // Work on an invalidated capture neither runs nor records.
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.0f);
    EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(cudaMemsetAsync(x, 0, 16, s), cudaErrorStreamCaptureInvalidated);
    cudaGraph_t graph = reinterpret_cast<cudaGraph_t>(&host);
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusNone);
    EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);  // usable again
    EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 1.0f));
  }
  EXPECT_EQ(fresh, nullptr);
  EXPECT_EQ(cudaEventQuery(event), cudaErrorCapturedEvent);  // still last recorded in a capture
  // In a capture, a wait for an event of the same capture is fine; one recorded outside crosses its boundary.
  Stream other;
  cudaEvent_t outside = nullptr;
  ASSERT_EQ(cudaEventCreate(&outside), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(outside, other), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaEventRecord(event, s), cudaSuccess);
  EXPECT_EQ(cudaStreamWaitEvent(s, event, 0), cudaSuccess);
  EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusActive);
  EXPECT_EQ(cudaStreamWaitEvent(s, outside, 0), cudaErrorStreamCaptureIsolation);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(cudaEventRecord(event, s), cudaSuccess);  // last recorded outside a capture again
  EXPECT_EQ(cudaEventQuery(event), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(event), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(outside), cudaSuccess);
}

TEST_F(SimGraph, OtherStreamsRunWhileOneCapturesAndTheLegacyStreamDependsOnBlockingOnes) {
  Device<float> x(kN);
  upload(x.p, std::vector<float>(kN, 0.0f));
  Stream capturing, other;
  {
    Graph g(capturing, [&] {
      CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, other.s, x.p, kN, 1.0f);  // runs now
      CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, nullptr, x.p, kN, 1.0f);  // so does this
      EXPECT_EQ(cudaStreamSynchronize(other), cudaSuccess);
    });
    EXPECT_EQ(node_count(g.graph), 0u);
  }
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 2.0f));
  // A stream made without cudaStreamNonBlocking: the legacy stream would wait for it.
  Stream blocking(cudaStreamDefault);
  ASSERT_EQ(cudaStreamBeginCapture(blocking, cudaStreamCaptureModeRelaxed), cudaSuccess);
  cudaStreamCaptureStatus st;
  EXPECT_EQ(cudaStreamIsCapturing(nullptr, &st), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(capture_status(blocking), cudaStreamCaptureStatusActive);  // asking does not invalidate
  EXPECT_THROW(CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, 0, x.p, kN, 1.0f), cumlp::Error);
  EXPECT_EQ(capture_status(blocking), cudaStreamCaptureStatusInvalidated);
  EXPECT_EQ(cudaMemset(x, 0, 16), cudaErrorStreamCaptureImplicit);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(blocking, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 2.0f));
}

TEST_F(SimGraph, WrongOrderCallsGetCudasErrors) {
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorIllegalState);  // not capturing
  EXPECT_EQ(cudaStreamEndCapture(nullptr, &graph), cudaErrorIllegalState);
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureMode(7)), cudaErrorInvalidValue);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
  EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusActive);  // the first capture goes on
  EXPECT_EQ(cudaStreamEndCapture(s, nullptr), cudaErrorInvalidValue);
  try {  // a configuration CUDA rejects fails at capture, naming the kernel
    CUMLP_LAUNCH(add_value_kernel, 1, 2048, 0, s, static_cast<float*>(nullptr), 0, 0.0f);
    ADD_FAILURE() << "no error for a 2048-thread block";
  } catch (const cumlp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("add_value_kernel"), std::string::npos) << e.what();
  }
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  EXPECT_EQ(node_count(graph), 0u);
  cudaGraphExec_t exec = nullptr;
  EXPECT_EQ(cudaGraphInstantiate(&exec, graph, cudaGraphInstantiateFlagDeviceLaunch), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphInstantiate(nullptr, graph, 0), cudaErrorInvalidValue);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, cudaGraphInstantiateFlagUpload), cudaSuccess);
  EXPECT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);  // an empty graph
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphLaunch(exec, s), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaErrorInvalidValue);
  std::size_t count = 0;
  EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &count), cudaErrorInvalidValue);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);  // takes its capture with it
  EXPECT_STREQ(cudaGetErrorName(cudaErrorStreamCaptureInvalidated), "cudaErrorStreamCaptureInvalidated");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorStreamCaptureUnsupported),
               "operation not permitted when stream is capturing");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorIllegalState), "the operation cannot be performed in the present state");
}

TEST_F(SimGraph, CaptureModesDecideWhatOtherThreadsMayDo) {
  Stream s;
  const auto malloc_elsewhere = [](cudaStreamCaptureMode thread_mode) {
    cudaError_t result = cudaErrorNotReady;
    std::thread([&] {
      cudaStreamCaptureMode mode = thread_mode;
      EXPECT_EQ(cudaThreadExchangeStreamCaptureMode(&mode), cudaSuccess);
      EXPECT_EQ(mode, cudaStreamCaptureModeGlobal);  // every thread starts in global mode
      void* p = nullptr;
      if ((result = cudaMalloc(&p, 16)) == cudaSuccess) {
        EXPECT_EQ(cudaFree(p), cudaSuccess);
      }
    }).join();
    return result;
  };
  cudaGraph_t graph = nullptr;
  // Global: another thread's unsafe call fails and invalidates this capture...
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(malloc_elsewhere(cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
  // ...unless that thread opted out.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(malloc_elsewhere(cudaStreamCaptureModeRelaxed), cudaSuccess);
  EXPECT_EQ(malloc_elsewhere(cudaStreamCaptureModeThreadLocal), cudaSuccess);
  // Ending a global capture from another thread is an error; the capture goes on.
  std::thread([&] { EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureWrongThread); }).join();
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  // Thread-local: other threads are free; a relaxed capture may end anywhere.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  EXPECT_EQ(malloc_elsewhere(cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
  std::thread([&] { EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess); }).join();
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  // Relaxed: this thread's unsafe calls are allowed, waiting for the capture is not.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 64), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(capture_status(s), cudaStreamCaptureStatusActive);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
}

TEST_F(SimGraph, AKernelFaultDuringReplayThrowsLikeALaunch) {
  Device<int> flag(1);
  upload(flag.p, std::vector<int>{0});
  Stream s;
  Graph g(s, [&] { CUMLP_LAUNCH(trap_if_kernel, 2, 32, 0, s.s, static_cast<const int*>(flag.p)); });
  EXPECT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
  upload(flag.p, std::vector<int>{1});
  try {
    cudaGraphLaunch(g.exec, s);
    ADD_FAILURE() << "no error from the trapping replay";
  } catch (const cumlp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("kernel 'trap_if_kernel', block (0,0,0)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("__trap"), std::string::npos) << e.what();
  }
}

}  // namespace
