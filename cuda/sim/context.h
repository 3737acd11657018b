// The simulator's interface between kernel code and the block scheduler.
//
// Kernel-side primitives (device.h) are thin inline wrappers over the functions
// declared here; the scheduler (block.cpp) implements them. Kept apart from
// device.h so the runtime sources do not pull in the CUDA-named globals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <source_location>

#include "cuda/sim/types.h"

namespace sim::detail {

/// What a simulated thread can see of itself: CUDA's four built-in variables.
struct ThreadContext {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

/// The thread whose fiber is running on this OS thread; set by the scheduler
/// before every switch into a fiber (a block never migrates between OS threads).
/// Defined inline with a constant initializer so kernels read it with one TLS
/// load, without the TLS-wrapper call an `extern thread_local` needs (which GCC
/// 12's -fsanitize=null also miscompiles into false null-pointer reports).
inline thread_local ThreadContext* current_thread = nullptr;

enum class BarrierOp { sync, count, all, any };
enum class WarpOp { sync, shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, any, all, matrix };

/// One lane's part of a warp-wide matrix operation (nvcuda::wmma, cuda/sim/wmma.h).
/// Every lane of the warp passes its own; once all 32 lanes have arrived at the
/// same call site, `run` is called once with the 32 calls in lane order.
struct WarpMatrixCall {
  void (*run)(WarpMatrixCall* const* lanes) = nullptr;
  const char* name = "";
};

/// __syncthreads and its predicate variants: blocks the calling fiber until every
/// thread of the block arrives at the same barrier; returns the reduced predicate.
int block_barrier(BarrierOp op, int predicate, const std::source_location& site);

/// A warp-synchronous operation over the lanes in `mask`: blocks until every
/// non-exited lane named in mask arrives, then returns this lane's result
/// (the shuffled value's bits, or the vote).
std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int lane_arg, int width,
                              const std::source_location& site);

/// A warp-wide matrix operation: blocks until all 32 lanes of the warp call it
/// from the same site with the same operation, then runs it once. Throws
/// cumlp::Error for a warp with fewer than 32 live lanes (a partial warp, or a
/// lane that exited) or lanes at different operations (a diverged warp).
void warp_matrix(WarpMatrixCall& call, const std::source_location& site);

/// Lanes of the caller's warp that exist and have not exited.
unsigned active_lanes();

/// Hands the processor to the other threads of the block (used by __nanosleep,
/// so spin-waits inside a block make progress).
void yield_thread();

/// How fresh shared memory is poisoned, so reads before writes show up.
enum class SharedFill { float_nan, double_nan, poison_words };

/// The block's instance of the static shared array declared at `site`
/// (allocated and poisoned by the first thread that reaches the declaration).
void* static_shared(const void* site, std::size_t bytes, SharedFill fill, const char* name);

/// The block's dynamic shared memory (the launch's `smem` bytes; nullptr when 0).
void* dynamic_shared();

/// Throws cumlp::Error naming the calling thread (used by __trap and misuse checks).
[[noreturn]] void kernel_error(const char* what);

}  // namespace sim::detail
