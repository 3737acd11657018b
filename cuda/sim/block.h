// The block scheduler: runs one thread block's threads as fibers under a chosen
// schedule and implements barriers, warp collectives and shared memory with the
// checks that make kernel bugs visible (see the top-level DESIGN.md, "The SIMT simulator").
#pragma once

#include <cstdint>
#include <exception>
#include <source_location>
#include <string>
#include <vector>

#include "cuda/sim/context.h"
#include "cuda/sim/fiber.h"
#include "cuda/sim/launch.h"

namespace sim::detail {

class BlockRunner;

struct SimThread : ThreadContext {
  enum class State : std::uint8_t { fresh, runnable, at_barrier, at_warp_op, done };
  Fiber fiber;
  BlockRunner* runner = nullptr;
  unsigned linear = 0, warp = 0, lane = 0;
  State state = State::fresh;
  WarpOp wait_op = WarpOp::sync;
  std::source_location wait_site;  // where it is blocked, for error messages
  std::uint64_t result = 0;        // the barrier or collective's value for this thread
};

/// One warp-synchronous operation that some lanes of a warp have reached.
struct PendingWarpOp {
  WarpOp op;
  unsigned mask, arrived;
  std::source_location site;
  std::uint64_t value[32];
  int arg[32], width[32];
};

/// "kernel 'k', block (1,0,0), thread (5,0,0)" for messages.
std::string describe(const SimThread& thread);
/// As describe() for the thread running on this OS thread, or "" outside a kernel.
std::string describe_current();

/// Runs blocks one after another on one OS thread, reusing fibers and stacks.
class BlockRunner {
 public:
  /// Runs block `block_idx` of `launch` to completion; throws cumlp::Error on a
  /// fault, after unwinding every suspended thread of the block.
  void run(const GridLaunch& launch, uint3 block_idx, const Schedule& schedule, std::size_t smem_limit);

  // The kernel-side primitives, for the calling thread `self`.
  int barrier(SimThread& self, BarrierOp op, int predicate, const std::source_location& site);
  std::uint64_t warp_op(SimThread& self, WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                        const std::source_location& site);
  unsigned active_lanes(const SimThread& self) const { return warps_[self.warp].alive; }
  void yield(SimThread& self);
  void* static_shared(SimThread& self, const void* site, std::size_t bytes, SharedFill fill, const char* name);
  void* dynamic_shared() const { return dynamic_.ptr; }

  const GridLaunch& launch() const { return *launch_; }
  /// True when p lies in this block's shared memory; *offset is then its offset in
  /// the block's layout on a GPU (static arrays in declaration order, 16-byte
  /// aligned, then the dynamic array), which decides its bank.
  bool shared_offset(const void* p, std::size_t* offset) const;
  /// Static shared memory of the last block run, in bytes.
  std::size_t static_shared_bytes() const { return static_bytes_; }

 private:
  struct Warp {
    unsigned alive = 0;  // lanes that exist and have not exited
    std::vector<PendingWarpOp> pending;
  };
  struct Region {
    const void* site = nullptr;
    char* ptr = nullptr;
    std::size_t bytes = 0;
    const char* name = "";
  };

  static void thread_main(void* thread);
  void schedule_loop(const Schedule& schedule, std::uint64_t block_linear);
  bool step(SimThread& thread);  // resumes it if runnable; false if it was not
  void block(SimThread& self);   // suspends until the scheduler resumes it
  void on_exit(SimThread& self);
  bool try_complete(Warp& warp, std::size_t index);
  void run_matrix(const PendingWarpOp& p, unsigned first);  // a WarpOp::matrix all lanes reached
  void fail(std::exception_ptr error);
  void cancel_suspended();
  [[noreturn]] void report_deadlock();
  Region allocate_shared(std::size_t bytes, SharedFill fill, const char* name, const void* site);
  void release_shared(bool check_canaries);

  const GridLaunch* launch_ = nullptr;
  std::vector<SimThread> threads_;
  std::vector<Warp> warps_;
  std::vector<unsigned> order_;
  StackPool stacks_;
  unsigned done_ = 0;
  std::uint64_t idle_yields_ = 0;  // __nanosleep yields since the last real progress
  const SimThread* first_exited_ = nullptr;
  struct {
    unsigned arrived = 0, count = 0;
    BarrierOp op = BarrierOp::sync;
    std::source_location site;
    const SimThread* first = nullptr;
  } barrier_;
  std::vector<Region> regions_;
  Region dynamic_;
  std::size_t shared_bytes_ = 0, static_bytes_ = 0, smem_limit_ = 0;
  std::exception_ptr failure_;
  bool cancelling_ = false;
};

}  // namespace sim::detail
