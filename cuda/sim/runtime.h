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
#pragma once

#include <cstddef>

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
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
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);

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

using sim::rt::cudaDeviceSynchronize;
using sim::rt::cudaEventCreate;
using sim::rt::cudaEventCreateWithFlags;
using sim::rt::cudaEventDestroy;
using sim::rt::cudaEventElapsedTime;
using sim::rt::cudaEventQuery;
using sim::rt::cudaEventRecord;
using sim::rt::cudaEventSynchronize;
using sim::rt::cudaFree;
using sim::rt::cudaFuncSetAttribute;
using sim::rt::cudaGetDevice;
using sim::rt::cudaGetDeviceCount;
using sim::rt::cudaGetErrorName;
using sim::rt::cudaGetErrorString;
using sim::rt::cudaGetLastError;
using sim::rt::cudaMalloc;
using sim::rt::cudaMemcpy;
using sim::rt::cudaMemcpyAsync;
using sim::rt::cudaMemset;
using sim::rt::cudaMemsetAsync;
using sim::rt::cudaPeekAtLastError;
using sim::rt::cudaSetDevice;
using sim::rt::cudaStreamCreate;
using sim::rt::cudaStreamCreateWithFlags;
using sim::rt::cudaStreamDestroy;
using sim::rt::cudaStreamQuery;
using sim::rt::cudaStreamSynchronize;
using sim::rt::cudaStreamWaitEvent;
