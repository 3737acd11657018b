// Fibers for simulated threads: Boost.Context's fcontext switch (tens of
// nanoseconds, ~50x cheaper than ucontext, which saves the signal mask with a
// system call) on stacks from a reusable pool, annotated for AddressSanitizer.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define CUMLP_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUMLP_SIM_ASAN 1
#endif
#endif

namespace sim::detail {

/// One simulated thread's execution context.
struct Fiber {
  void* context = nullptr;  // boost::context::detail::fcontext_t while suspended
  void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
  void (*main)(void*) = nullptr;
  void* arg = nullptr;
};

/// Prepares `fiber` to run main(arg) on the given stack at its first resume.
void fiber_create(Fiber& fiber, void* stack_bottom, std::size_t stack_size, void (*main)(void*), void* arg);
/// From the scheduler: runs the fiber until it yields or its main returns.
void fiber_resume(Fiber& fiber);
/// From inside the fiber: returns control to the scheduler that resumed it.
void fiber_yield(Fiber& self);

/// Stacks for up to `count` fibers, each with an inaccessible guard page below it
/// so a stack overflow faults instead of corrupting the neighbour. Kept per OS
/// thread and reused by every block, so pages are faulted in only once.
class StackPool {
 public:
  StackPool() = default;
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  void reserve(unsigned count);
  void* bottom(unsigned i) const { return static_cast<char*>(base_) + i * stride_ + guard_; }
  std::size_t stack_size() const { return stride_ - guard_; }

 private:
  void* base_ = nullptr;
  std::size_t stride_ = 0, guard_ = 0;
  unsigned count_ = 0;
};

}  // namespace sim::detail
