// A capture forked into a second stream through events and joined back, and
// host calls (cudaLaunchHostFunc) run at once or captured as host nodes: the
// shape of the executor's recorded distributed step (backward on the origin,
// each layer's gradient sum on the fork).
#include <stdexcept>

#include "graph_util.h"

namespace sim_graph_test {
namespace {

struct Event {
  cudaEvent_t e = nullptr;
  Event() { EXPECT_EQ(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), cudaSuccess); }
  ~Event() { EXPECT_EQ(cudaEventDestroy(e), cudaSuccess); }
  Event(const Event&) = delete;
  operator cudaEvent_t() const { return e; }
};

// A host call that appends what it sees at x[0] to a log: the replay order.
struct Log {
  const float* x = nullptr;
  std::vector<float> seen;
};
void log_x0(void* p) {
  auto* l = static_cast<Log*>(p);
  l->seen.push_back(l->x[0]);  // device memory is host heap on the simulator
}
void throw_error(void*) { throw std::runtime_error("host call failed"); }

TEST_F(SimGraph, HostCallRunsAtOnceOutsideACapture) {
  Device<float> x(kN);
  Stream s;
  upload(x.p, ramp());
  Log log{x.p, {}};
  ASSERT_EQ(cudaLaunchHostFunc(s, log_x0, &log), cudaSuccess);
  EXPECT_EQ(log.seen, std::vector<float>{0.5f});
  EXPECT_EQ(cudaLaunchHostFunc(s, nullptr, &log), cudaErrorInvalidValue);
}

// origin: add 1; fork: host call (sees x[0] + 1); origin: add 10 meanwhile;
// join; origin: host call (sees x[0] + 11). Nothing runs at capture, each
// replay runs the four nodes in issue order.
TEST_F(SimGraph, ForkedCaptureWithHostNodesReplaysInIssueOrder) {
  Device<float> x(kN);
  Stream s, side;
  Event forked, joined;
  upload(x.p, ramp());
  Log log{x.p, {}};
  const Graph g(s, [&] {
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.0f);
    EXPECT_EQ(cudaEventRecord(forked, s), cudaSuccess);
    EXPECT_EQ(cudaStreamWaitEvent(side, forked, 0), cudaSuccess);
    EXPECT_EQ(capture_status(side), cudaStreamCaptureStatusActive);
    EXPECT_EQ(cudaLaunchHostFunc(side, log_x0, &log), cudaSuccess);
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 10.0f);
    EXPECT_EQ(cudaEventRecord(joined, side), cudaSuccess);
    EXPECT_EQ(cudaStreamWaitEvent(s, joined, 0), cudaSuccess);
    EXPECT_EQ(cudaLaunchHostFunc(s, log_x0, &log), cudaSuccess);
  });
  ASSERT_NE(g.graph, nullptr);
  EXPECT_TRUE(log.seen.empty());
  EXPECT_EQ(capture_status(side), cudaStreamCaptureStatusNone);  // the fork ended with the capture
  ASSERT_EQ(node_count(g.graph), 4u);
  std::vector<cudaGraphNode_t> nodes(4);
  std::size_t n = nodes.size();
  ASSERT_EQ(cudaGraphGetNodes(g.graph, nodes.data(), &n), cudaSuccess);
  cudaGraphNodeType type = cudaGraphNodeTypeKernel;
  ASSERT_EQ(cudaGraphNodeGetType(nodes[1], &type), cudaSuccess);
  EXPECT_EQ(type, cudaGraphNodeTypeHost);
  ASSERT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(g.exec, s), cudaSuccess);
  EXPECT_EQ(log.seen, (std::vector<float>{1.5f, 11.5f, 12.5f, 22.5f}));
  CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, side.s, x.p, kN, 100.0f);  // the fork runs eagerly again
  EXPECT_EQ(download(x.p, 1)[0], 122.5f);
}

TEST_F(SimGraph, AForkWithUnjoinedWorkFailsTheCapture) {
  Device<float> x(kN);
  Stream s, side;
  Event forked, early;
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(forked, s), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(side, forked, 0), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(early, side), cudaSuccess);  // before the fork's work: joins none of it
  CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, side.s, x.p, kN, 1.0f);
  ASSERT_EQ(cudaStreamWaitEvent(s, early, 0), cudaSuccess);
  EXPECT_EQ(cudaStreamEndCapture(side, nullptr), cudaErrorStreamCaptureUnmatched);  // ends on its origin only
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);

  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(forked, s), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(side, forked, 0), cudaSuccess);
  CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, side.s, x.p, kN, 1.0f);
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureUnjoined);
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(capture_status(side), cudaStreamCaptureStatusNone);
  EXPECT_EQ(cudaStreamWaitEvent(side, forked, 0), cudaErrorCapturedEvent);  // that capture has ended
}

TEST_F(SimGraph, WhatAHostNodeThrowsLeavesTheReplay) {
  Stream s;
  const Graph g(s, [&] { EXPECT_EQ(cudaLaunchHostFunc(s, throw_error, nullptr), cudaSuccess); });
  EXPECT_THROW(cudaGraphLaunch(g.exec, s), std::runtime_error);
}

}  // namespace
}  // namespace sim_graph_test
