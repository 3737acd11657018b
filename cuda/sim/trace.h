// Access tracing inside the simulator (see host/shared/kernel_trace.h for what
// is counted). The traced build of the kernels is compiled with g++'s
// -fsanitize=kernel-address and a call threshold of 0, so every load and store
// calls __asan_{load,store}N_noabort(address); trace.cpp defines those hooks
// and hands each access of a simulated thread to its block's BlockTrace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cuda/sim/launch.h"
#include "host/shared/kernel_trace.h"

namespace sim::detail {

struct SimThread;
class BlockRunner;

/// One traced launch: its counters and what a block needs to classify addresses.
struct LaunchTrace {
  cumlp::KernelCounters counters;
  std::vector<std::pair<const char*, std::size_t>> allocations;  // device memory at launch, by address
  std::unordered_set<std::uint64_t> sectors;                      // distinct global sectors touched
  std::mutex mutex;                                               // guards counters and sectors while blocks merge
};

/// A LaunchTrace when a KernelTrace is active (the launch is then recorded), else null.
LaunchTrace* begin_launch_trace(const GridLaunch& launch);
/// Adds the finished launch to the active KernelTrace.
void end_launch_trace(LaunchTrace* trace);

/// The accesses of one block, grouped into warp-level requests, reduced into
/// the launch's counters when the block finishes.
class BlockTrace {
 public:
  void begin(LaunchTrace* launch, BlockRunner* runner, unsigned threads);
  void access(const SimThread& thread, std::uintptr_t address, unsigned bytes, bool store, const void* pc);
  void barrier() { ++local_.barriers; }
  void flops(std::uint64_t n) { local_.flops += n; }
  void fma(std::uint64_t n) {
    local_.fma_threads += n;
    local_.flops += 2 * n;
  }
  void tensor_flops(std::uint64_t n) { local_.tensor_flops += n; }
  /// One warp-wide request whose 32 lanes access `where[lane]` (`bytes` each),
  /// reduced at once: for the simulator's warp-collective operations (wmma),
  /// which know the whole warp's addresses. Lanes outside device and shared
  /// memory are left out, as in access().
  void warp_request(const std::uintptr_t* where, unsigned bytes, bool store);
  /// Reduces the requests and merges this block's counts into the launch.
  void finish(std::size_t static_smem);

 private:
  struct Key {
    unsigned warp;
    const void* pc;
    std::uint32_t k;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.pc) ^ (std::size_t(k.warp) << 40) ^ (std::size_t(k.k) * 0x9e3779b97f4a7c15ull);
    }
  };
  struct Request {
    bool shared = false, store = false;
    std::uint32_t lanes = 0;
    std::uint64_t where[32];  // global: address; shared: offset in the block's shared memory
    std::uint8_t bytes[32];
  };
  void reduce(const Request& r);
  bool in_allocation(std::uintptr_t address) const;

  LaunchTrace* launch_ = nullptr;
  BlockRunner* runner_ = nullptr;
  std::vector<std::uint64_t> sectors_;  // global sectors this block touched (with repeats)
  std::vector<std::vector<std::pair<const void*, std::uint32_t>>> seen_;  // per thread: (pc, executions)
  std::unordered_map<Key, Request, KeyHash> requests_;
  cumlp::KernelCounters local_;
};

/// The block being traced on this OS thread, or null (set by run_grid).
inline thread_local BlockTrace* active_trace = nullptr;

/// CUMLP_COUNT_FLOPS / CUMLP_COUNT_FMA in the traced kernels. Out of line on
/// purpose: g++'s sanopt pass drops the check of an access to an address the
/// same code checked before with no call between (for AddressSanitizer the
/// second check is redundant), which would hide the store of a read-modify-write
/// (p[i] = f(p[i])) from the tracer; a call it cannot see into keeps it. Kernels
/// put their count between such a load and store (cuda/sim/README.md).
void count_flops(std::uint64_t n);
void count_fma(std::uint64_t n);
/// Tensor-core flops of the simulator's wmma::mma_sync (cuda/sim/wmma.h), kept
/// apart from the FP32 flops: the cost model gives them the TF32 peak.
void count_tensor_flops(std::uint64_t n);
/// A warp request of the running warp-collective operation (cuda/sim/wmma.h):
/// lane l accesses `bytes` at where[l]. Nothing while no traced block runs.
void trace_warp_request(const std::uintptr_t* where, unsigned bytes, bool store);

}  // namespace sim::detail
