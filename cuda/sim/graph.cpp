// Stream capture and CUDA graphs for the simulator's runtime subset (runtime.h).
//
// A capture begins on one stream (its origin) and forks into another stream
// that waits for an event recorded in it; a fork must join back (a stream of
// the capture waits for an event recorded after the fork's last work) before
// the capture ends, or cudaStreamEndCapture fails with
// cudaErrorStreamCaptureUnjoined, as on a GPU. What is enqueued on the origin
// and its forks becomes the graph's nodes in issue order (an order the
// captured dependencies allow, since the host issued them so), and
// cudaGraphLaunch replays them in that order on the calling thread, through
// the same code as an eager launch, copy, memset or host call. The rules for
// calls made during a capture follow CUDA's
// (cudaThreadExchangeStreamCaptureMode, and the CUDA Programming Guide,
// "Prohibited and Unhandled Operations"), so a capture that would fail on a GPU
// fails here with the same error codes.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cuda/sim/launch.h"
#include "cuda/sim/runtime.h"
#include "host/shared/error_macros.h"

struct CUgraphNode_st {
  cudaGraphNodeType type = cudaGraphNodeTypeKernel;
  // A kernel: the launch, its copied arguments, and the options it was given
  // (no schedule: the one in effect at replay).
  sim::detail::GridLaunch launch{};
  std::shared_ptr<const void> state;
  std::optional<sim::Schedule> schedule;
  unsigned workers = 0;
  // A copy or memset: pointers and sizes, the memory itself is read at replay.
  void* dst = nullptr;
  const void* src = nullptr;
  std::size_t bytes = 0;
  cudaMemcpyKind kind = cudaMemcpyDefault;
  int value = 0;
  // A host call.
  cudaHostFn_t fn = nullptr;
  void* user_data = nullptr;
};

// Recorded nodes never change, so a graph and its executable graphs share them:
// an executable graph outlives the graph it came from.
struct CUgraph_st {
  std::vector<std::shared_ptr<const CUgraphNode_st>> nodes;
};
struct CUgraphExec_st {
  std::vector<std::shared_ptr<const CUgraphNode_st>> nodes;
};

namespace {

using sim::rt::detail::CaptureRef;
using sim::rt::detail::record_error;

struct Capture {
  unsigned long long id = 0;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id thread;  // the thread that began it
  bool blocking = false;   // the stream synchronizes with the legacy (NULL) stream
  bool invalidated = false;
  std::unique_ptr<CUgraph_st> graph = std::make_unique<CUgraph_st>();
  struct Fork {
    unsigned long long work = 0;    // nodes captured from the fork
    unsigned long long joined = 0;  // of them, those a stream of the capture has waited for
  };
  std::map<cudaStream_t, Fork> forks;  // the streams it forked into
};

struct Graphs {
  std::mutex mutex;
  std::map<cudaStream_t, Capture> captures;  // by origin stream; one capture per stream
  std::map<cudaStream_t, unsigned long long> forked;  // a fork stream -> its capture's id
  std::set<const CUgraph_st*> graphs;
  std::set<const CUgraphExec_st*> execs;
  unsigned long long next_id = 1;
};
Graphs& graphs() {
  static Graphs g;
  return g;
}

// How many captures are running: the unlocked fast path of every launch and copy.
std::atomic<std::size_t> live_captures{0};
void update_live(const Graphs& g) { live_captures.store(g.captures.size(), std::memory_order_release); }
bool any_live() { return live_captures.load(std::memory_order_acquire) != 0; }

thread_local cudaStreamCaptureMode thread_mode = cudaStreamCaptureModeGlobal;

// With the lock held.
Capture* capture_with_id(Graphs& g, unsigned long long id) {
  for (auto& [stream, c] : g.captures)
    if (c.id == id) return &c;
  return nullptr;
}

void record_node(const CaptureRef& ref, std::shared_ptr<const CUgraphNode_st> node) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  Capture* c = capture_with_id(g, ref.id);
  if (!c || c->invalidated) return;
  c->graph->nodes.push_back(std::move(node));
  if (auto f = c->forks.find(ref.stream); f != c->forks.end()) ++f->second.work;
}

// With the lock held: the capture stream `s` belongs to (its origin or a fork).
Capture* capture_of(Graphs& g, cudaStream_t s) {
  if (auto it = g.captures.find(s); it != g.captures.end()) return &it->second;
  if (auto it = g.forked.find(s); it != g.forked.end()) return capture_with_id(g, it->second);
  return nullptr;
}

bool valid_mode(cudaStreamCaptureMode mode) {
  return mode == cudaStreamCaptureModeGlobal || mode == cudaStreamCaptureModeThreadLocal ||
         mode == cudaStreamCaptureModeRelaxed;
}

}  // namespace

namespace sim::rt::detail {

cudaError_t enqueue(cudaStream_t stream, CaptureRef* ref) {
  *ref = CaptureRef{};
  if (!any_live()) return cudaSuccess;
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (!stream) {  // the legacy stream waits for every blocking stream, so for their captures too
    bool implicit = false;
    for (auto& [s, c] : g.captures)
      if (c.blocking) c.invalidated = implicit = true;
    return implicit ? cudaErrorStreamCaptureImplicit : cudaSuccess;
  }
  const Capture* c = capture_of(g, stream);
  if (!c) return cudaSuccess;
  ref->id = c->id;
  ref->stream = stream;
  if (c->invalidated) return cudaErrorStreamCaptureInvalidated;
  ref->active = true;
  return cudaSuccess;
}

void record_memcpy(const CaptureRef& ref, void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  auto node = std::make_shared<CUgraphNode_st>();
  node->type = cudaGraphNodeTypeMemcpy;
  node->dst = dst, node->src = src, node->bytes = bytes, node->kind = kind;
  record_node(ref, std::move(node));
}

void record_memset(const CaptureRef& ref, void* ptr, int value, std::size_t bytes) {
  auto node = std::make_shared<CUgraphNode_st>();
  node->type = cudaGraphNodeTypeMemset;
  node->dst = ptr, node->value = value, node->bytes = bytes;
  record_node(ref, std::move(node));
}

void record_host(const CaptureRef& ref, cudaHostFn_t fn, void* user_data) {
  auto node = std::make_shared<CUgraphNode_st>();
  node->type = cudaGraphNodeTypeHost;
  node->fn = fn, node->user_data = user_data;
  record_node(ref, std::move(node));
}

bool fork_capture(cudaStream_t stream, unsigned long long id) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  Capture* c = capture_with_id(g, id);
  if (!c) return false;
  c->forks[stream];
  g.forked[stream] = id;
  return true;
}

unsigned long long capture_point(cudaStream_t stream, unsigned long long id) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  const Capture* c = capture_with_id(g, id);
  if (!c) return 0;
  const auto f = c->forks.find(stream);
  return f == c->forks.end() ? 0 : f->second.work;
}

void join_capture(unsigned long long id, cudaStream_t stream, unsigned long long point) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  Capture* c = capture_with_id(g, id);
  if (!c) return;
  if (auto f = c->forks.find(stream); f != c->forks.end()) f->second.joined = std::max(f->second.joined, point);
}

void invalidate_capture(unsigned long long id) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (Capture* c = capture_with_id(g, id)) c->invalidated = true;
}

bool capture_live(unsigned long long id) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  return capture_with_id(g, id) != nullptr;
}

// A potentially unsafe call is forbidden to a thread whose own capture is not
// relaxed and, unless the thread's mode is thread-local, by any other thread's
// global capture (cudaThreadExchangeStreamCaptureMode); a thread in relaxed
// mode may make it. The captures that forbid it are invalidated.
cudaError_t unsafe_call() {
  if (!any_live() || thread_mode == cudaStreamCaptureModeRelaxed) return cudaSuccess;
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  const std::thread::id self = std::this_thread::get_id();
  bool forbidden = false;
  for (auto& [s, c] : g.captures) {
    const bool own = c.thread == self && c.mode != cudaStreamCaptureModeRelaxed;
    const bool global = c.thread != self && c.mode == cudaStreamCaptureModeGlobal &&
                        thread_mode == cudaStreamCaptureModeGlobal;
    if (own || global) c.invalidated = forbidden = true;
  }
  return forbidden ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t device_sync() {
  if (!any_live()) return cudaSuccess;
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  for (auto& [s, c] : g.captures) c.invalidated = true;
  return g.captures.empty() ? cudaSuccess : cudaErrorStreamCaptureUnsupported;
}

void stream_destroyed(cudaStream_t stream) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (auto it = g.captures.find(stream); it != g.captures.end()) {
    for (const auto& [fork, f] : it->second.forks) g.forked.erase(fork);
    g.captures.erase(it);
  }
  if (auto it = g.forked.find(stream); it != g.forked.end()) {
    if (Capture* c = capture_with_id(g, it->second)) c->forks.erase(stream);
    g.forked.erase(it);
  }
  update_live(g);
}

}  // namespace sim::rt::detail

namespace sim::detail {

LaunchRoute launch_route(cudaStream_t stream, const char* name) {
  CaptureRef ref;
  const cudaError_t e = rt::detail::enqueue(stream, &ref);
  if (e == cudaErrorStreamCaptureImplicit) {
    record_error(e);
    CUMLP_THROW("kernel '", name, "' launched on the NULL stream while a stream created without ",
                "cudaStreamNonBlocking is capturing (cudaErrorStreamCaptureImplicit on a GPU; that capture is now ",
                "invalidated)");
  }
  if (e != cudaSuccess) {
    record_error(e);
    return LaunchRoute::drop;
  }
  return ref.active ? LaunchRoute::record : LaunchRoute::run;
}

void record_launch(cudaStream_t stream, const GridLaunch& launch, const LaunchOptions& options,
                   std::shared_ptr<const void> state) {
  check_grid(launch);  // a bad configuration throws here, naming the launch site, and records nothing
  auto node = std::make_shared<CUgraphNode_st>();
  node->launch = launch;
  node->state = std::move(state);
  if (options.schedule) node->schedule = *options.schedule;
  node->workers = options.workers;
  CaptureRef ref;
  if (rt::detail::enqueue(stream, &ref) == cudaSuccess && ref.active) record_node(ref, std::move(node));
}

}  // namespace sim::detail

namespace sim::rt {

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  if (!stream) return record_error(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot capture
  unsigned flags = 0;
  if (!detail::stream_flags(stream, &flags)) return record_error(cudaErrorInvalidResourceHandle);
  if (!valid_mode(mode)) return record_error(cudaErrorInvalidValue);
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (g.captures.count(stream) || g.forked.count(stream)) return record_error(cudaErrorIllegalState);
  Capture& c = g.captures[stream];
  c.id = g.next_id++;
  c.mode = mode;
  c.thread = std::this_thread::get_id();
  c.blocking = !(flags & cudaStreamNonBlocking);
  update_live(g);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!stream) return record_error(cudaErrorIllegalState);
  if (!detail::stream_flags(stream, nullptr)) return record_error(cudaErrorInvalidResourceHandle);
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  auto it = g.captures.find(stream);
  if (it == g.captures.end()) {
    if (Capture* c = capture_of(g, stream)) {  // a fork: the capture ends on its origin
      c->invalidated = true;
      return record_error(cudaErrorStreamCaptureUnmatched);
    }
    return record_error(cudaErrorIllegalState);
  }
  if (!graph) return record_error(cudaErrorInvalidValue);
  Capture& c = it->second;
  if (c.mode != cudaStreamCaptureModeRelaxed && c.thread != std::this_thread::get_id())
    return record_error(cudaErrorStreamCaptureWrongThread);  // the capture goes on: its own thread may end it
  std::unique_ptr<CUgraph_st> captured = std::move(c.graph);
  const bool invalidated = c.invalidated;
  bool unjoined = false;
  for (const auto& [fork, f] : c.forks) {
    unjoined = unjoined || f.work > f.joined;
    g.forked.erase(fork);  // the forks end with the capture
  }
  g.captures.erase(it);
  update_live(g);
  if (invalidated || unjoined) {
    *graph = nullptr;
    return record_error(invalidated ? cudaErrorStreamCaptureInvalidated : cudaErrorStreamCaptureUnjoined);
  }
  *graph = captured.release();
  g.graphs.insert(*graph);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (!status) return record_error(cudaErrorInvalidValue);
  if (!detail::stream_flags(stream, nullptr)) return record_error(cudaErrorInvalidResourceHandle);
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  *status = cudaStreamCaptureStatusNone;
  if (!stream) {  // asking about the legacy stream while a blocking stream captures (this does not invalidate)
    for (auto& [s, c] : g.captures)
      if (c.blocking) return record_error(cudaErrorStreamCaptureImplicit);
    return cudaSuccess;
  }
  if (const Capture* c = capture_of(g, stream))
    *status = c->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  if (!mode || !valid_mode(*mode)) return record_error(cudaErrorInvalidValue);
  std::swap(*mode, thread_mode);
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* count) {
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (!count || !g.graphs.count(graph)) return record_error(cudaErrorInvalidValue);
  const std::size_t n = graph->nodes.size();
  if (!nodes) {
    *count = n;
    return cudaSuccess;
  }
  for (std::size_t i = 0; i < *count; ++i)
    nodes[i] = i < n ? const_cast<CUgraphNode_st*>(graph->nodes[i].get()) : nullptr;
  *count = std::min(*count, n);
  return cudaSuccess;
}

cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* type) {
  if (!node || !type) return record_error(cudaErrorInvalidValue);
  *type = node->type;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags) {
  constexpr unsigned long long known = cudaGraphInstantiateFlagAutoFreeOnLaunch | cudaGraphInstantiateFlagUpload |
                                       cudaGraphInstantiateFlagUseNodePriority;
  Graphs& g = graphs();
  std::lock_guard lock(g.mutex);
  if (!exec || !g.graphs.count(graph) || (flags & ~known)) return record_error(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  g.execs.insert(*exec);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags) {
  return cudaGraphInstantiate(exec, graph, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  {
    Graphs& g = graphs();
    std::lock_guard lock(g.mutex);
    if (!g.execs.count(exec)) return record_error(cudaErrorInvalidValue);
  }
  if (!detail::stream_flags(stream, nullptr)) return record_error(cudaErrorInvalidResourceHandle);
  CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return record_error(e);
  if (ref.active) {  // CUDA would add a child-graph node; the simulator does not model those
    detail::invalidate_capture(ref.id);
    return record_error(cudaErrorStreamCaptureUnsupported);
  }
  for (const auto& node : exec->nodes) {
    cudaError_t e = cudaSuccess;
    switch (node->type) {
      case cudaGraphNodeTypeKernel: {
        sim::LaunchOptions options;
        options.schedule = node->schedule ? &*node->schedule : nullptr;
        options.workers = node->workers;
        sim::detail::run_grid(node->launch, options);  // a fault throws cumlp::Error, as an eager launch does
        break;
      }
      case cudaGraphNodeTypeMemcpy:
        e = detail::copy_memory(node->dst, node->src, node->bytes, node->kind, true);
        break;
      case cudaGraphNodeTypeMemset:
        e = detail::set_memory(node->dst, node->value, node->bytes, true);
        break;
      case cudaGraphNodeTypeHost:
        node->fn(node->user_data);  // what it throws propagates, as a kernel fault does
        break;
    }
    if (e != cudaSuccess) return record_error(e);
  }
  return cudaSuccess;
}

namespace {
// Forgets a handle this runtime handed out (one of Graphs' registries) and
// deletes it; a handle it does not know is cudaErrorInvalidValue.
template <class T>
cudaError_t forget_and_delete(std::set<const T*> Graphs::*registry, T* handle) {
  {
    Graphs& g = graphs();
    std::lock_guard lock(g.mutex);
    if (!(g.*registry).erase(handle)) return record_error(cudaErrorInvalidValue);
  }
  delete handle;
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) { return forget_and_delete(&Graphs::execs, exec); }

cudaError_t cudaGraphDestroy(cudaGraph_t graph) { return forget_and_delete(&Graphs::graphs, graph); }

}  // namespace sim::rt
