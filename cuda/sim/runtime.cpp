// The simulated CUDA runtime API subset; see runtime.h.
#include "cuda/sim/runtime.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <set>

#include <unistd.h>

#include "cuda/sim/launch.h"

struct CUstream_st {
  unsigned flags = cudaStreamDefault;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point recorded;
  bool was_recorded = false;
  bool timing = true;
  unsigned long long capture = 0;  // the capture sequence that last recorded it (0: recorded outside capture)
  cudaStream_t stream = nullptr;   // in a capture: the stream that recorded it
  unsigned long long point = 0;    // and that stream's captured work then (detail::capture_point)
};

namespace {

thread_local cudaError_t last_error = cudaSuccess;

// Live device allocations (start -> size), streams and events, to reject
// operations on memory or handles the program does not own.
struct Registry {
  std::mutex mutex;
  std::map<const char*, std::size_t> allocations;
  std::set<const CUstream_st*> streams;
  std::set<const CUevent_st*> events;
  std::set<const void*> pinned;  // cudaMallocHost
};
Registry& registry() {
  static Registry r;
  return r;
}

cudaError_t status(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

// True when [p, p + bytes) lies inside one live allocation.
bool is_device_range(const void* p, std::size_t bytes) {
  const char* c = static_cast<const char*>(p);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.allocations.upper_bound(c);
  if (it == r.allocations.begin()) return false;
  --it;
  return c >= it->first && std::size_t(c - it->first) <= it->second && bytes <= it->second - std::size_t(c - it->first);
}

bool valid_stream(cudaStream_t s) { return sim::rt::detail::stream_flags(s, nullptr); }

bool valid_event(cudaEvent_t e) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return e && r.events.count(e) != 0;
}

// Querying or waiting for an event recorded during a capture is an error on a
// GPU (it stands for no real work); it invalidates the capture if still running.
cudaError_t captured_event(cudaEvent_t e) {
  if (!e->capture) return cudaSuccess;
  sim::rt::detail::invalidate_capture(e->capture);
  return cudaErrorCapturedEvent;
}

// Streams and events: a new handle joins its registry; destroying one that is
// not there (never created, or destroyed already) is an invalid handle.
template <class T>
cudaError_t create_handle(std::set<const T*> Registry::*set, T** handle, const T& init) {
  if (!handle) return status(cudaErrorInvalidValue);
  *handle = new T(init);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  (r.*set).insert(*handle);
  return cudaSuccess;
}

template <class T, class BeforeDelete>
cudaError_t destroy_handle(std::set<const T*> Registry::*set, T* handle, BeforeDelete before_delete) {
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (!handle || (r.*set).erase(handle) == 0) return status(cudaErrorInvalidResourceHandle);
  }
  before_delete(handle);
  delete handle;
  return cudaSuccess;
}

}  // namespace

namespace sim::rt::detail {

std::vector<std::pair<const char*, std::size_t>> device_allocations() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return {r.allocations.begin(), r.allocations.end()};
}

cudaError_t record_error(cudaError_t error) { return status(error); }

bool stream_flags(cudaStream_t stream, unsigned* flags) {
  if (flags) *flags = cudaStreamDefault;
  if (!stream) return true;  // the default stream
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.streams.count(stream) == 0) return false;
  if (flags) *flags = stream->flags;
  return true;
}

cudaError_t copy_memory(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, bool run) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return cudaErrorInvalidValue;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return cudaErrorInvalidValue;
  if ((dst_device && !is_device_range(dst, bytes)) || (src_device && !is_device_range(src, bytes)))
    return cudaErrorInvalidValue;
  if (run) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t set_memory(void* ptr, int value, std::size_t bytes, bool run) {
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(ptr, bytes)) return cudaErrorInvalidValue;
  if (run) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

}  // namespace sim::rt::detail

namespace sim::rt {

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (!ptr) return status(cudaErrorInvalidValue);
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  // The simulated device has the host's physical memory. Larger requests fail
  // here, as on a GPU, instead of reaching the allocator (which AddressSanitizer
  // aborts on) or being granted lazily and then NaN-filled into an OOM kill.
  static const std::size_t physical =
      static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::size_t>(sysconf(_SC_PAGE_SIZE));
  if (bytes > physical) return status(cudaErrorMemoryAllocation);
  // At least one byte so every allocation has a distinct address; 256-byte
  // aligned like cudaMalloc, so vector loads behave the same.
  char* p = static_cast<char*>(::operator new(bytes ? bytes : 1, std::align_val_t{256}, std::nothrow));
  if (!p) return status(cudaErrorMemoryAllocation);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 0; i + sizeof nan <= bytes; i += sizeof nan) std::memcpy(p + i, &nan, sizeof nan);
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.allocations[p] = bytes;
  }
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (r.allocations.erase(static_cast<const char*>(ptr)) == 0) return status(cudaErrorInvalidValue);
  }
  ::operator delete(ptr, std::align_val_t{256});
  return cudaSuccess;
}

// Page-locked host memory: ordinary host memory here (the simulator's copies
// are synchronous either way), registered so a wrong free is reported.
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  if (!ptr) return status(cudaErrorInvalidValue);
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  void* p = std::malloc(bytes ? bytes : 1);
  if (!p) return status(cudaErrorMemoryAllocation);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.pinned.insert(p);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (r.pinned.erase(ptr) == 0) return status(cudaErrorInvalidValue);
  }
  std::free(ptr);
  return cudaSuccess;
}

// The synchronous copies run on the legacy stream and wait for it: the NULL
// stream's capture rules first (a blocking stream capturing), then the unsafe-call rule.
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(nullptr, &ref)) return status(e);
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  return status(detail::copy_memory(dst, src, bytes, kind, true));
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  if (const cudaError_t e = detail::copy_memory(dst, src, bytes, kind, !ref.active)) return status(e);
  if (ref.active && bytes) detail::record_memcpy(ref, dst, src, bytes, kind);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(nullptr, &ref)) return status(e);
  if (const cudaError_t e = detail::unsafe_call()) return status(e);
  return status(detail::set_memory(ptr, value, bytes, true));
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  if (const cudaError_t e = detail::set_memory(ptr, value, bytes, !ref.active)) return status(e);
  if (ref.active && bytes) detail::record_memset(ref, ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  return create_handle(&Registry::streams, stream, CUstream_st{flags});
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  return destroy_handle(&Registry::streams, stream, [](cudaStream_t s) { detail::stream_destroyed(s); });
}

// Waiting for a capturing stream is waiting for work that will never run.
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  if (!ref.active) return cudaSuccess;
  detail::invalidate_capture(ref.id);
  return status(cudaErrorStreamCaptureUnsupported);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

// In a capture, a wait on an event recorded in the same capture is the stream's
// own order, or joins the fork that recorded it; one recorded outside it or in
// another capture crosses the capture's boundary. A wait from a non-capturing
// stream on an event recorded in a live capture forks the capture into it.
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned /*flags*/) {
  if (!valid_stream(stream) || !valid_event(event)) return status(cudaErrorInvalidResourceHandle);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  cudaError_t error = cudaSuccess;
  if (ref.active) {
    if (event->capture && event->capture != ref.id)
      error = detail::capture_live(event->capture) ? cudaErrorStreamCaptureMerge : cudaErrorCapturedEvent;
    else if (!event->capture && event->was_recorded)
      error = cudaErrorStreamCaptureIsolation;
    if (error) detail::invalidate_capture(ref.id);
    else if (event->capture && event->stream != stream) detail::join_capture(ref.id, event->stream, event->point);
  } else if (event->capture) {
    if (stream && detail::fork_capture(stream, event->capture)) return cudaSuccess;  // the legacy stream cannot
    error = detail::capture_live(event->capture) ? cudaErrorStreamCaptureUnsupported : cudaErrorCapturedEvent;
    detail::invalidate_capture(event->capture);
  }
  return status(error);
}

// Runs on the calling thread: now, or as a host node at each replay.
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* user_data) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  if (!fn) return status(cudaErrorInvalidValue);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  if (ref.active) detail::record_host(ref, fn, user_data);
  else fn(user_data);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  CUevent_st e;
  e.timing = !(flags & cudaEventDisableTiming);
  return create_handle(&Registry::events, event, e);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  return destroy_handle(&Registry::events, event, [](cudaEvent_t) {});
}

// Recorded during a capture, an event only marks a point in the capture (no node).
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!valid_event(event) || !valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  detail::CaptureRef ref;
  if (const cudaError_t e = detail::enqueue(stream, &ref)) return status(e);
  event->capture = ref.active ? ref.id : 0;
  if (ref.active) {
    event->stream = stream;
    event->point = detail::capture_point(stream, ref.id);
    return cudaSuccess;
  }
  event->recorded = std::chrono::steady_clock::now();
  event->was_recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!valid_event(event)) return status(cudaErrorInvalidResourceHandle);
  return status(captured_event(event));
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return status(cudaErrorInvalidValue);
  if (!valid_event(start) || !valid_event(end)) return status(cudaErrorInvalidResourceHandle);
  const cudaError_t start_captured = captured_event(start), end_captured = captured_event(end);
  if (start_captured || end_captured) return status(cudaErrorCapturedEvent);
  if (!start->timing || !end->timing || !start->was_recorded || !end->was_recorded)
    return status(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->recorded - start->recorded).count();
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return status(detail::device_sync()); }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return status(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return status(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : status(cudaErrorInvalidDevice); }

cudaError_t cudaGetLastError() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return last_error; }

// Every error code with CUDA's cudaGetErrorString text.
#define CUMLP_SIM_ERRORS(X)                                                                              \
  X(cudaSuccess, "no error")                                                                             \
  X(cudaErrorInvalidValue, "invalid argument")                                                           \
  X(cudaErrorMemoryAllocation, "out of memory")                                                          \
  X(cudaErrorInvalidDevice, "invalid device ordinal")                                                    \
  X(cudaErrorInvalidResourceHandle, "invalid resource handle")                                           \
  X(cudaErrorIllegalState, "the operation cannot be performed in the present state")                     \
  X(cudaErrorNotReady, "device not ready")                                                               \
  X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing")               \
  X(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture")        \
  X(cudaErrorStreamCaptureMerge, "operation would result in a merge of separate capture sequences")      \
  X(cudaErrorStreamCaptureUnmatched, "capture was not ended in the same stream as it began")             \
  X(cudaErrorStreamCaptureUnjoined, "capturing stream has unjoined work")                                \
  X(cudaErrorStreamCaptureIsolation, "dependency created on uncaptured work in another stream")          \
  X(cudaErrorStreamCaptureImplicit,                                                                      \
    "operation would make the legacy stream depend on a capturing blocking stream")                      \
  X(cudaErrorCapturedEvent, "operation not permitted on an event last recorded in a capturing stream")   \
  X(cudaErrorStreamCaptureWrongThread, "attempt to terminate a thread-local capture sequence from another thread")

const char* cudaGetErrorName(cudaError_t error) {
#define CUMLP_SIM_NAME(code, text) \
  case code: return #code;
  switch (error) { CUMLP_SIM_ERRORS(CUMLP_SIM_NAME) }
#undef CUMLP_SIM_NAME
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
#define CUMLP_SIM_TEXT(code, text) \
  case code: return text;
  switch (error) { CUMLP_SIM_ERRORS(CUMLP_SIM_TEXT) }
#undef CUMLP_SIM_TEXT
  return "unknown error";
}

cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attribute, int value) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0) return status(cudaErrorInvalidValue);
  try {
    sim::set_max_dynamic_shared(kernel, std::size_t(value));
  } catch (const cumlp::Error&) {
    return status(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

}  // namespace sim::rt
