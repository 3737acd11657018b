// Stream capture in the simulator's runtime: the calls CUDA forbids during a
// capture fail with CUDA's errors and invalidate it, wrong-order calls get
// CUDA's errors, capture modes decide what other threads may do, and a kernel
// fault during replay throws like a launch.
#include "graph_util.h"

namespace sim_graph_test {
namespace {

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
}  // namespace sim_graph_test
