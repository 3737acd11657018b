// Fiber switching and stack pool; see fiber.h.
#include "cuda/sim/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <cerrno>
#include <cstring>

#include "host/shared/error_macros.h"

#if defined(CUMLP_SIM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace sim::detail {
namespace bc = boost::context::detail;

namespace {

// The scheduler side of the switch on this OS thread: where fibers jump back to,
// and (for ASan) the bounds of the stack they return to.
struct Host {
  bc::fcontext_t context = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
};
thread_local Host host;

// ASan must be told before every switch which stack execution moves to, or it
// reports false stack-buffer-overflows and mis-unwinds exceptions.
inline void start_switch([[maybe_unused]] void** fake_stack_save, [[maybe_unused]] const void* bottom,
                         [[maybe_unused]] std::size_t size) {
#if defined(CUMLP_SIM_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#endif
}
inline void finish_switch([[maybe_unused]] void* fake_stack_save, [[maybe_unused]] const void** old_bottom,
                          [[maybe_unused]] std::size_t* old_size) {
#if defined(CUMLP_SIM_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#endif
}

[[noreturn]] void trampoline(bc::transfer_t from) {
  auto* fiber = static_cast<Fiber*>(from.data);
  host.context = from.fctx;
  finish_switch(nullptr, &host.stack_bottom, &host.stack_size);
  fiber->main(fiber->arg);  // never throws: the block scheduler catches everything
  // Final switch: a null fake-stack slot tells ASan this stack is finished.
  start_switch(nullptr, host.stack_bottom, host.stack_size);
  bc::jump_fcontext(host.context, nullptr);
  __builtin_unreachable();
}

}  // namespace

void fiber_create(Fiber& fiber, void* stack_bottom, std::size_t stack_size, void (*main)(void*), void* arg) {
  fiber.stack_bottom = stack_bottom;
  fiber.stack_size = stack_size;
  fiber.main = main;
  fiber.arg = arg;
  fiber.asan_fake_stack = nullptr;
  fiber.context = bc::make_fcontext(static_cast<char*>(stack_bottom) + stack_size, stack_size, trampoline);
}

void fiber_resume(Fiber& fiber) {
  start_switch(&host.asan_fake_stack, fiber.stack_bottom, fiber.stack_size);
  bc::transfer_t back = bc::jump_fcontext(fiber.context, &fiber);
  finish_switch(host.asan_fake_stack, nullptr, nullptr);
  fiber.context = back.fctx;
}

void fiber_yield(Fiber& self) {
  start_switch(&self.asan_fake_stack, host.stack_bottom, host.stack_size);
  bc::transfer_t back = bc::jump_fcontext(host.context, nullptr);
  finish_switch(self.asan_fake_stack, nullptr, nullptr);
  host.context = back.fctx;
}

StackPool::~StackPool() {
  if (base_) munmap(base_, stride_ * count_);
}

void StackPool::reserve(unsigned count) {
  if (count <= count_) return;
  if (base_) munmap(base_, stride_ * count_);
  base_ = nullptr;
  const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
#if defined(CUMLP_SIM_ASAN)
  const std::size_t usable = 512 * 1024;  // instrumented frames carry redzones
#else
  const std::size_t usable = 128 * 1024;
#endif
  guard_ = page;
  stride_ = usable + guard_;
  // Address space only; pages are committed when a fiber first touches them.
  void* base = mmap(nullptr, stride_ * count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0);
  CUMLP_CHECK(base != MAP_FAILED, "simulator: cannot map ", count, " fiber stacks: ", std::strerror(errno));
  base_ = base;
  count_ = count;
  for (unsigned i = 0; i < count; ++i)
    CUMLP_CHECK(mprotect(static_cast<char*>(base_) + i * stride_, guard_, PROT_NONE) == 0,
                "simulator: cannot protect a stack guard page: ", std::strerror(errno));
}

}  // namespace sim::detail
