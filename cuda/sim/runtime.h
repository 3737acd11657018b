// The subset of the CUDA runtime API that the backend's host code uses, with
// CUDA's names, for builds that run on the simulator (never seen by nvcc).
//
// "Device" memory is host heap: kernels run on the CPU and dereference it
// directly. Every allocation is recorded, so copies and memsets that leave an
// allocation, and frees of pointers that were never allocated, fail with
// cudaErrorInvalidValue as the simulator's stand-in for a GPU fault. Fresh
// allocations are filled with NaN, like shared memory, so reads of memory never
// written show up. Streams execute in order on the calling thread: an "async"
// call has finished when it returns, so stream and event waits never block.
// Kernel launches report errors by throwing cumlp::Error (see launch.h) rather
// than through cudaGetLastError.
//
// Stream capture and graphs (graph.cpp): while a stream captures, kernel
// launches, cudaMemcpyAsync and cudaMemsetAsync on it are recorded into a graph
// instead of run (kernel arguments are copied then; memory is touched at
// replay), and cudaGraphLaunch replays the nodes in order on the calling
// thread. Calls CUDA forbids during capture fail with CUDA's error codes and
// invalidate the capture, as on a GPU; see README.md, "Stream capture".
// A capture forks into another stream that waits for an event recorded in it
// and must join back (the origin waits for an event recorded after the fork's
// last work) before it ends. cudaLaunchHostFunc runs its function on the
// calling thread when the stream reaches it (at once, or at replay as a host
// node): unlike on a GPU, where a CUDA thread runs it, it may read and write
// device memory (host heap here), and what it throws propagates out of the
// call or the cudaGraphLaunch that ran it, as a kernel fault does.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
typedef struct CUgraph_st* cudaGraph_t;
typedef struct CUgraphNode_st* cudaGraphNode_t;
typedef struct CUgraphExec_st* cudaGraphExec_t;
typedef void (*cudaHostFn_t)(void* user_data);

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureMerge = 902,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureUnjoined = 904,
  cudaErrorStreamCaptureIsolation = 905,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorCapturedEvent = 907,
  cudaErrorStreamCaptureWrongThread = 908,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

/// The node kinds stream capture produces here (CUDA's values).
enum cudaGraphNodeType {
  cudaGraphNodeTypeKernel = 0x00,
  cudaGraphNodeTypeMemcpy = 0x01,
  cudaGraphNodeTypeMemset = 0x02,
  cudaGraphNodeTypeHost = 0x03,
};

enum cudaGraphInstantiateFlags {
  cudaGraphInstantiateFlagAutoFreeOnLaunch = 1,
  cudaGraphInstantiateFlagUpload = 2,
  cudaGraphInstantiateFlagDeviceLaunch = 4,  ///< rejected: the simulator has no device-side launch
  cudaGraphInstantiateFlagUseNodePriority = 8,
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

// The functions live in sim::rt, so their symbols can never be mistaken for
// libcudart's (extern "C") ones in a program that also links the real runtime;
// the using-declarations give sim builds CUDA's spelling.
namespace sim::rt {

cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
cudaError_t cudaFree(void* ptr);
/// Page-locked host memory (plain host memory on the simulator).
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
/// In a capture: an event recorded in the same capture on another stream joins
/// that stream's work up to the record. Outside one: an event recorded in a
/// live capture forks the capture into `stream` (its later work is captured).
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);
/// Runs fn(user_data) on the calling thread when the stream reaches it: at once,
/// or, on a capturing stream, at each replay (a host node). See the top of this file.
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* user_data);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
/// Host time between the two records (launches are synchronous, so this is the
/// simulator's time, not a GPU estimate).
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
/// Returns the last error of this host thread and resets it to cudaSuccess.
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attribute, int value);

// ---- stream capture and graphs (graph.cpp) ----
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
/// Ends the capture begun on `stream`: *graph is the recorded graph, or nullptr
/// with cudaErrorStreamCaptureInvalidated when a forbidden call invalidated it.
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode);
/// nodes == nullptr: *count = the number of nodes; otherwise fills up to *count
/// (the rest nullptr) and sets *count to the number filled.
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* count);
cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* type);
/// The executable graph owns its nodes: destroying `graph` afterwards is fine.
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
/// Replays the nodes in order on the calling thread; kernels run under the
/// schedule in effect now (ScheduleScope, CUMLP_SIM_SCHEDULE). A kernel fault
/// throws cumlp::Error, as an eager launch does; a copy or memset that leaves
/// its allocation returns cudaErrorInvalidValue, and the later nodes do not run.
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

/// CUDA's typed conveniences.
template <class T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class R, class... P>
cudaError_t cudaFuncSetAttribute(R (*kernel)(P...), cudaFuncAttribute attribute, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attribute, value);
}

}  // namespace sim::rt

// Internal: the hooks between runtime.cpp, graph.cpp and launches; not for programs.
namespace sim::rt::detail {
/// Makes `error` (unless cudaSuccess) this thread's last error and returns it.
cudaError_t record_error(cudaError_t error);
/// False unless `stream` is the NULL stream or a live one; *flags: its creation flags.
bool stream_flags(cudaStream_t stream, unsigned* flags);
/// Checks a copy or memset against the live allocations and, when `run`, does it.
cudaError_t copy_memory(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, bool run);
cudaError_t set_memory(void* ptr, int value, std::size_t bytes, bool run);

/// The capture sequence a stream's work goes to.
struct CaptureRef {
  bool active = false;     ///< capturing: record, do not run
  unsigned long long id = 0;  ///< the sequence (0: none)
  cudaStream_t stream = nullptr;  ///< the stream the work was enqueued on (its origin or a fork)
};
/// Where work enqueued on `stream` goes. Fails with cudaErrorStreamCaptureInvalidated
/// when its capture was invalidated, and for the NULL stream while a blocking
/// stream captures with cudaErrorStreamCaptureImplicit (invalidating that capture).
cudaError_t enqueue(cudaStream_t stream, CaptureRef* ref);
void record_memcpy(const CaptureRef& ref, void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
void record_memset(const CaptureRef& ref, void* ptr, int value, std::size_t bytes);
void record_host(const CaptureRef& ref, cudaHostFn_t fn, void* user_data);
/// `stream` (capturing nothing) joins live capture `id` as a fork; false if `id` is not live.
bool fork_capture(cudaStream_t stream, unsigned long long id);
/// How much work `stream` (a fork of capture `id`) has captured: the point an event recorded now marks (0 elsewhere).
unsigned long long capture_point(cudaStream_t stream, unsigned long long id);
/// Capture `id` has waited for fork `stream`'s work up to `point` (a no-op for a stream that is not a fork).
void join_capture(unsigned long long id, cudaStream_t stream, unsigned long long point);
/// Marks capture sequence `id` invalidated if it has not ended.
void invalidate_capture(unsigned long long id);
/// Whether sequence `id` has begun and not ended.
bool capture_live(unsigned long long id);
/// cudaErrorStreamCaptureUnsupported (invalidating the captures that forbid it)
/// when this thread may not make a potentially unsafe call (cudaMalloc, ...).
cudaError_t unsafe_call();
/// cudaDeviceSynchronize: cudaErrorStreamCaptureUnsupported while any capture is live (invalidates them all).
cudaError_t device_sync();
/// cudaStreamDestroy: a capture on the stream ends, its graph discarded.
void stream_destroyed(cudaStream_t stream);
/// The live allocations (start, bytes) in address order: global memory, for access tracing.
std::vector<std::pair<const char*, std::size_t>> device_allocations();
}  // namespace sim::rt::detail

using sim::rt::cudaDeviceSynchronize;
using sim::rt::cudaEventCreate;
using sim::rt::cudaEventCreateWithFlags;
using sim::rt::cudaEventDestroy;
using sim::rt::cudaEventElapsedTime;
using sim::rt::cudaEventQuery;
using sim::rt::cudaEventRecord;
using sim::rt::cudaEventSynchronize;
using sim::rt::cudaFree;
using sim::rt::cudaFreeHost;
using sim::rt::cudaFuncSetAttribute;
using sim::rt::cudaGetDevice;
using sim::rt::cudaGetDeviceCount;
using sim::rt::cudaGetErrorName;
using sim::rt::cudaGetErrorString;
using sim::rt::cudaGetLastError;
using sim::rt::cudaGraphDestroy;
using sim::rt::cudaGraphExecDestroy;
using sim::rt::cudaGraphGetNodes;
using sim::rt::cudaGraphInstantiate;
using sim::rt::cudaGraphInstantiateWithFlags;
using sim::rt::cudaGraphLaunch;
using sim::rt::cudaGraphNodeGetType;
using sim::rt::cudaLaunchHostFunc;
using sim::rt::cudaMalloc;
using sim::rt::cudaMallocHost;
using sim::rt::cudaMemcpy;
using sim::rt::cudaMemcpyAsync;
using sim::rt::cudaMemset;
using sim::rt::cudaMemsetAsync;
using sim::rt::cudaPeekAtLastError;
using sim::rt::cudaSetDevice;
using sim::rt::cudaStreamBeginCapture;
using sim::rt::cudaStreamCreate;
using sim::rt::cudaStreamCreateWithFlags;
using sim::rt::cudaStreamDestroy;
using sim::rt::cudaStreamEndCapture;
using sim::rt::cudaStreamIsCapturing;
using sim::rt::cudaStreamQuery;
using sim::rt::cudaStreamSynchronize;
using sim::rt::cudaStreamWaitEvent;
using sim::rt::cudaThreadExchangeStreamCaptureMode;
