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

struct CUstream_st {};
struct CUevent_st {
  std::chrono::steady_clock::time_point recorded;
  bool was_recorded = false;
  bool timing = true;
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

bool valid_stream(cudaStream_t s) {
  if (!s) return true;  // the default stream
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.streams.count(s) != 0;
}

bool valid_event(cudaEvent_t e) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return e && r.events.count(e) != 0;
}

}  // namespace

namespace sim::rt {

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (!ptr) return status(cudaErrorInvalidValue);
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
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (r.allocations.erase(static_cast<const char*>(ptr)) == 0) return status(cudaErrorInvalidValue);
  }
  ::operator delete(ptr, std::align_val_t{256});
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return status(cudaErrorInvalidValue);
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return status(cudaErrorInvalidValue);
  if ((dst_device && !is_device_range(dst, bytes)) || (src_device && !is_device_range(src, bytes)))
    return status(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(ptr, bytes)) return status(cudaErrorInvalidValue);
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  if (!valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned /*flags*/) {
  if (!stream) return status(cudaErrorInvalidValue);
  *stream = new CUstream_st;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (!stream || r.streams.erase(stream) == 0) return status(cudaErrorInvalidResourceHandle);
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return valid_stream(stream) ? cudaSuccess : status(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned /*flags*/) {
  return valid_stream(stream) && valid_event(event) ? cudaSuccess : status(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  if (!event) return status(cudaErrorInvalidValue);
  *event = new CUevent_st;
  (*event)->timing = !(flags & cudaEventDisableTiming);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (!event || r.events.erase(event) == 0) return status(cudaErrorInvalidResourceHandle);
  }
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!valid_event(event) || !valid_stream(stream)) return status(cudaErrorInvalidResourceHandle);
  event->recorded = std::chrono::steady_clock::now();
  event->was_recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return valid_event(event) ? cudaSuccess : status(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return status(cudaErrorInvalidValue);
  if (!valid_event(start) || !valid_event(end)) return status(cudaErrorInvalidResourceHandle);
  if (!start->timing || !end->timing || !start->was_recorded || !end->was_recorded)
    return status(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->recorded - start->recorded).count();
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

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

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
  }
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
