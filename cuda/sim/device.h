// CUDA device-side names for kernels compiled by g++ against the simulator.
// Included through cuda/sim/portable.h only; nvcc never sees this file.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "cuda/sim/context.h"
#include "cuda/sim/launch.h"
#include "cuda/sim/runtime.h"

// ---- qualifiers ---------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
// A plain `__shared__` would be one array for all blocks; make it a compile error
// that names the macro to use instead.
#define __shared__ cumlp_sim_use_CUMLP_SHARED_instead_of___shared__

// ---- built-in variables ---------------------------------------------------------
#define threadIdx (::sim::detail::current_thread->thread_idx)
#define blockIdx (::sim::detail::current_thread->block_idx)
#define blockDim (::sim::detail::current_thread->block_dim)
#define gridDim (::sim::detail::current_thread->grid_dim)
inline constexpr int warpSize = 32;

// ---- shared memory ----------------------------------------------------------------
namespace sim::detail {
template <class T>
constexpr SharedFill fill_for() {
  using E = std::remove_all_extents_t<T>;
  if constexpr (std::is_same_v<E, double>) return SharedFill::double_nan;
  else if constexpr (std::is_floating_point_v<E> || std::is_class_v<E>) return SharedFill::float_nan;
  else return SharedFill::poison_words;
}
// One instantiation per declaration site (Site is a unique lambda type), so the
// address of `site` identifies the array within the block.
template <class T, class Site>
T& static_shared_at(Site, const char* name) {
  static const char site = 0;
  return *static_cast<T*>(static_shared(&site, sizeof(T), fill_for<T>(), name));
}
}  // namespace sim::detail

/// `CUMLP_SHARED(float, tile, [32][33]);` declares a per-block shared array
/// (`__shared__ float tile[32][33];` under nvcc).
#define CUMLP_SHARED(T, name, ...) \
  T(&name) __VA_ARGS__ = ::sim::detail::static_shared_at<T __VA_ARGS__>([] {}, #name)
/// `CUMLP_DYNAMIC_SHARED(float, smem);` names the launch's dynamic shared memory
/// (`extern __shared__ float smem[];` under nvcc).
#define CUMLP_DYNAMIC_SHARED(T, name) T* const name = static_cast<T*>(::sim::detail::dynamic_shared())

// ---- barriers, warp collectives ------------------------------------------------------
#define CUMLP_SIM_SITE const std::source_location& site = std::source_location::current()

inline void __syncthreads(CUMLP_SIM_SITE) { ::sim::detail::block_barrier(::sim::detail::BarrierOp::sync, 1, site); }
inline int __syncthreads_count(int p, CUMLP_SIM_SITE) {
  return ::sim::detail::block_barrier(::sim::detail::BarrierOp::count, p, site);
}
inline int __syncthreads_and(int p, CUMLP_SIM_SITE) {
  return ::sim::detail::block_barrier(::sim::detail::BarrierOp::all, p, site);
}
inline int __syncthreads_or(int p, CUMLP_SIM_SITE) {
  return ::sim::detail::block_barrier(::sim::detail::BarrierOp::any, p, site);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, CUMLP_SIM_SITE) {
  ::sim::detail::warp_collective(::sim::detail::WarpOp::sync, mask, 0, 0, warpSize, site);
}
inline unsigned __ballot_sync(unsigned mask, int p, CUMLP_SIM_SITE) {
  return unsigned(::sim::detail::warp_collective(::sim::detail::WarpOp::ballot, mask, p != 0, 0, warpSize, site));
}
inline int __any_sync(unsigned mask, int p, CUMLP_SIM_SITE) {
  return int(::sim::detail::warp_collective(::sim::detail::WarpOp::any, mask, p != 0, 0, warpSize, site));
}
inline int __all_sync(unsigned mask, int p, CUMLP_SIM_SITE) {
  return int(::sim::detail::warp_collective(::sim::detail::WarpOp::all, mask, p != 0, 0, warpSize, site));
}
inline unsigned __activemask() { return ::sim::detail::active_lanes(); }

namespace sim::detail {
template <class T>
T shuffle(WarpOp op, unsigned mask, T var, int arg, int width, const std::source_location& site) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = warp_collective(op, mask, bits, arg, width, site);
  std::memcpy(&var, &bits, sizeof(T));
  return var;
}
}  // namespace sim::detail

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize, CUMLP_SIM_SITE) {
  return ::sim::detail::shuffle(::sim::detail::WarpOp::shfl_idx, mask, var, src_lane, width, site);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize, CUMLP_SIM_SITE) {
  return ::sim::detail::shuffle(::sim::detail::WarpOp::shfl_up, mask, var, int(delta), width, site);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize, CUMLP_SIM_SITE) {
  return ::sim::detail::shuffle(::sim::detail::WarpOp::shfl_down, mask, var, int(delta), width, site);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize, CUMLP_SIM_SITE) {
  return ::sim::detail::shuffle(::sim::detail::WarpOp::shfl_xor, mask, var, lane_mask, width, site);
}
#undef CUMLP_SIM_SITE

// ---- memory fences, misc -----------------------------------------------------------------
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __nanosleep(unsigned) { ::sim::detail::yield_thread(); }
[[noreturn]] inline void __trap() { ::sim::detail::kernel_error("__trap() called"); }
template <class T>
T __ldg(const T* p) { return *p; }

// ---- atomics (relaxed, like CUDA's; real atomics because blocks run in parallel) ----
namespace sim::detail {
template <class T>
std::atomic_ref<T> atomic_at(T* p) { return std::atomic_ref<T>(*p); }
template <class T, class F>
T atomic_update(T* p, F f) {  // CAS loop for the operations std::atomic lacks
  auto a = atomic_at(p);
  T old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, f(old), std::memory_order_relaxed)) {}
  return old;
}
}  // namespace sim::detail

#define CUMLP_SIM_ATOMIC_ADD(T) \
  inline T atomicAdd(T* p, T v) { return ::sim::detail::atomic_at(p).fetch_add(v, std::memory_order_relaxed); }
#define CUMLP_SIM_ATOMIC_INT(T)                                                                              \
  CUMLP_SIM_ATOMIC_ADD(T)                                                                                    \
  inline T atomicSub(T* p, T v) { return ::sim::detail::atomic_at(p).fetch_sub(v, std::memory_order_relaxed); } \
  inline T atomicAnd(T* p, T v) { return ::sim::detail::atomic_at(p).fetch_and(v, std::memory_order_relaxed); } \
  inline T atomicOr(T* p, T v) { return ::sim::detail::atomic_at(p).fetch_or(v, std::memory_order_relaxed); }   \
  inline T atomicXor(T* p, T v) { return ::sim::detail::atomic_at(p).fetch_xor(v, std::memory_order_relaxed); } \
  inline T atomicMax(T* p, T v) { return ::sim::detail::atomic_update(p, [v](T o) { return o < v ? v : o; }); } \
  inline T atomicMin(T* p, T v) { return ::sim::detail::atomic_update(p, [v](T o) { return v < o ? v : o; }); } \
  inline T atomicExch(T* p, T v) { return ::sim::detail::atomic_at(p).exchange(v, std::memory_order_relaxed); } \
  inline T atomicCAS(T* p, T compare, T v) {                                                                  \
    ::sim::detail::atomic_at(p).compare_exchange_strong(compare, v, std::memory_order_relaxed);               \
    return compare;                                                                                          \
  }
CUMLP_SIM_ATOMIC_INT(int)
CUMLP_SIM_ATOMIC_INT(unsigned int)
CUMLP_SIM_ATOMIC_INT(unsigned long long)
CUMLP_SIM_ATOMIC_ADD(float)
CUMLP_SIM_ATOMIC_ADD(double)
inline float atomicExch(float* p, float v) { return ::sim::detail::atomic_at(p).exchange(v, std::memory_order_relaxed); }
inline long long atomicMax(long long* p, long long v) {
  return ::sim::detail::atomic_update(p, [v](long long o) { return o < v ? v : o; });
}
inline long long atomicMin(long long* p, long long v) {
  return ::sim::detail::atomic_update(p, [v](long long o) { return v < o ? v : o; });
}
#undef CUMLP_SIM_ATOMIC_INT
#undef CUMLP_SIM_ATOMIC_ADD

// ---- 16-byte accesses ---------------------------------------------------------------------
// Through a GNU vector type, so the access stays one 16-byte load or store
// (and one __asan_load16/store16 in the traced build) however its fields are used.
namespace sim::detail {
typedef float float4_vector __attribute__((vector_size(16), aligned(16)));
}
inline float4 ld_float4(const float* p) {
  const ::sim::detail::float4_vector v = *reinterpret_cast<const ::sim::detail::float4_vector*>(p);
  return float4{v[0], v[1], v[2], v[3]};
}
inline float4 ld_float4_cg(const float* p) { return ld_float4(p); }  // one memory: nothing to bypass
inline float ld_cg(const float* p) { return *p; }
inline void st_float4(float* p, float4 v) {
  *reinterpret_cast<::sim::detail::float4_vector*>(p) = ::sim::detail::float4_vector{v.x, v.y, v.z, v.w};
}

// ---- counted arithmetic (access tracing) ------------------------------------------------
// The traced build of the kernels (CUMLP_SIM_TRACED) adds these to the running
// block's counters; everywhere else they are nothing.
#if defined(CUMLP_SIM_TRACED)
#include "cuda/sim/trace.h"
#define CUMLP_COUNT_FMA(n) ::sim::detail::count_fma(n)
#define CUMLP_COUNT_FLOPS(n) ::sim::detail::count_flops(n)
#else
#define CUMLP_COUNT_FMA(n) ((void)0)
#define CUMLP_COUNT_FLOPS(n) ((void)0)
#endif

#include "cuda/sim/math.h"
