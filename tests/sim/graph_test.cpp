// Stream capture and CUDA graphs in the simulator's runtime: capture records
// without running, and replay equals eager execution bit for bit, with frozen
// arguments, copy and memset nodes, and the schedule in effect at replay.
#include <optional>

#include "graph_util.h"

namespace sim_graph_test {
namespace {

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

// Several graphs captured in turn on one stream live side by side (the
// executor keeps one per batch size) and replay in any interleaving, each its
// own nodes; destroying one leaves the other replayable.
TEST_F(SimGraph, GraphsCapturedOnOneStreamReplayIndependently) {
  Device<float> x(kN);
  Stream s;
  upload(x.p, std::vector<float>(kN, 0.0f));
  std::optional<Graph> add1;
  add1.emplace(s, [&] { CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 1.0f); });
  const Graph add10(s, [&] {
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 10.0f);
    CUMLP_LAUNCH(add_value_kernel, kBlocks, kThreads, 0, s.s, x.p, kN, 100.0f);
  });
  ASSERT_NE(add1->exec, nullptr);
  ASSERT_NE(add10.exec, nullptr);
  EXPECT_EQ(node_count(add1->graph), 1u);
  EXPECT_EQ(node_count(add10.graph), 2u);
  for (int r = 0; r < 3; ++r) {
    ASSERT_EQ(cudaGraphLaunch(add1->exec, s), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(add10.exec, s), cudaSuccess);
  }
  ASSERT_EQ(cudaGraphLaunch(add1->exec, s), cudaSuccess);
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 4.0f + 3 * 110.0f));
  add1.reset();
  ASSERT_EQ(cudaGraphLaunch(add10.exec, s), cudaSuccess);
  EXPECT_EQ(download(x.p, kN), std::vector<float>(kN, 4.0f + 4 * 110.0f));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
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

}  // namespace
}  // namespace sim_graph_test
