// Launching kernels on the simulator: sim::launch and the schedule controls.
//
// A launch runs every block to completion before returning. The stream matters
// only to stream capture: a launch on a capturing stream is checked and recorded
// into the capture's graph (its arguments copied, as CUDA freezes a kernel's
// parameters) and runs when the graph is launched (runtime.h). Each block's
// threads are fibers; the schedule decides the order in which runnable threads
// get the processor, so a kernel that depends on an order it did not enforce
// with a barrier gives different results under different schedules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda/sim/runtime.h"  // cudaStream_t
#include "cuda/sim/types.h"
#include "cumlp/error.h"  // what launches throw

namespace sim {

/// The order in which a block's runnable threads are resumed.
enum class Order {
  forward,  ///< thread 0, 1, 2, ... each until it blocks, then again
  reverse,  ///< the highest thread first
  random,   ///< a fresh seeded permutation on every pass
  warp,     ///< one warp at a time: warp 0 runs until all its threads block, then warp 1, ...
};

struct Schedule {
  Order order = Order::forward;
  std::uint64_t seed = 0;  ///< used by Order::random
};

/// Parses "forward", "reverse", "warp", "random" or "random:<seed>"; throws cumlp::Error otherwise.
Schedule parse_schedule(std::string_view text);
/// "random:7" etc.; for test names and messages.
std::string_view order_name(Order order);
/// One schedule of each order (random with `seed`): what tests sweep.
std::vector<Schedule> every_schedule(std::uint64_t seed = 1);

/// Per-launch settings; unset fields fall back to the innermost ScheduleScope,
/// then to the environment (CUMLP_SIM_SCHEDULE, CUMLP_SIM_WORKERS), then to
/// forward order on all hardware threads.
struct LaunchOptions {
  const Schedule* schedule = nullptr;
  unsigned workers = 0;  ///< OS threads running blocks; 0 = default
};

/// Makes every launch from this OS thread use `schedule` while it lives, so a
/// test can run unmodified launchers (which call CUMLP_LAUNCH) under each order.
class ScheduleScope {
 public:
  explicit ScheduleScope(Schedule schedule);
  ~ScheduleScope();
  ScheduleScope(const ScheduleScope&) = delete;
  ScheduleScope& operator=(const ScheduleScope&) = delete;

 private:
  Schedule schedule_;
  const Schedule* previous_;
};

/// Raises the dynamic shared memory `kernel` may request above the default
/// 48 KiB (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize)).
void set_max_dynamic_shared(const void* kernel, std::size_t bytes);

namespace detail {
/// A launch with the kernel and its arguments erased to one callable.
struct GridLaunch {
  void (*run_thread)(const void* state);
  const void* state;
  const void* kernel;
  const char* name;
  dim3 grid, block;
  std::size_t dynamic_smem;
  const char* range = nullptr;  ///< the launcher's range when launched (access tracing names the op with it)
  const char* shape = nullptr;  ///< the shape that range declared ("" if none): the profile's row key
};
void run_grid(const GridLaunch& launch, const LaunchOptions& options);
/// The innermost launcher range on this OS thread (NvtxRange on the simulator), or "".
const char* current_range();
/// The op shape the innermost range declared ("100x784x100"), or "".
const char* current_shape();
/// Enters / leaves a launcher range (cuda/common.cuh's NvtxRange on the simulator),
/// optionally declaring the op's shape (dimensions < 0 are left out).
void push_range(const char* name);
void push_range(const char* name, std::int64_t d0, std::int64_t d1, std::int64_t d2);
void pop_range();
/// The configuration checks of run_grid (block, grid, shared memory, nesting);
/// throws cumlp::Error. Returns the kernel's dynamic shared memory limit.
std::size_t check_grid(const GridLaunch& launch);

/// What a launch on a stream does (graph.cpp): run now, be recorded into the
/// stream's capture, or be dropped because that capture was invalidated (the
/// launch's error, cudaErrorStreamCaptureInvalidated, goes to cudaGetLastError).
/// Throws cumlp::Error for a launch on the NULL stream while a blocking stream
/// captures (cudaErrorStreamCaptureImplicit on a GPU; that capture is invalidated).
enum class LaunchRoute { run, record, drop };
LaunchRoute launch_route(cudaStream_t stream, const char* name);
/// Checks the launch (check_grid) and appends it to the capture on `stream`;
/// `state` (what launch.state points to) is kept alive by the graph.
void record_launch(cudaStream_t stream, const GridLaunch& launch, const LaunchOptions& options,
                   std::shared_ptr<const void> state);

/// The launch's stream argument as a handle: a cudaStream_t, nullptr, or the literal 0.
template <class Stream>
cudaStream_t stream_handle(Stream stream) {
  if constexpr (std::is_convertible_v<Stream, cudaStream_t>) {
    return stream;
  } else {
    static_assert(std::is_integral_v<Stream>, "the stream argument of a launch must be a cudaStream_t or 0");
    return nullptr;
  }
}

template <class Stream, class... Params, class... Args>
void launch_impl(const LaunchOptions& options, const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                 std::size_t smem, Stream stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong number of arguments");
  // Arguments are converted and copied once, as a CUDA launch does; every
  // simulated thread then gets its own copy as the kernel's by-value parameters.
  struct State {
    void (*kernel)(Params...);
    std::tuple<std::decay_t<Params>...> params;
  };
  GridLaunch launch{[](const void* s) {
                      auto* st = static_cast<const State*>(s);
                      std::apply(st->kernel, st->params);
                    },
                    nullptr, reinterpret_cast<const void*>(kernel), name, grid, block, smem, current_range(),
                    current_shape()};
  const cudaStream_t handle = stream_handle(stream);
  switch (launch_route(handle, name)) {
    case LaunchRoute::run: {
      const State state{kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)};
      launch.state = &state;
      run_grid(launch, options);
      return;
    }
    case LaunchRoute::record: {
      // A captured launch's arguments live as long as the graphs that replay it.
      std::shared_ptr<const State> state(
          new const State{kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)});
      launch.state = state.get();
      record_launch(handle, launch, options, std::move(state));
      return;
    }
    case LaunchRoute::drop: return;
  }
}
}  // namespace detail

/// Runs `kernel<<<grid, block, smem, stream>>>(args...)` on the simulator and
/// returns when it has finished; misuse and faults throw cumlp::Error.
template <class Stream, class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem, Stream stream, Args&&... args) {
  detail::launch_impl(LaunchOptions{}, "kernel", kernel, grid, block, smem, stream, std::forward<Args>(args)...);
}

/// As launch, with explicit per-launch options (schedule, workers).
template <class Stream, class... Params, class... Args>
void launch_with(const LaunchOptions& options, void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem,
                 Stream stream, Args&&... args) {
  detail::launch_impl(options, "kernel", kernel, grid, block, smem, stream, std::forward<Args>(args)...);
}

}  // namespace sim

/// The launch every launcher writes; `kernel<<<grid, block, smem, stream>>>(...)` under nvcc.
/// A template kernel with several arguments needs parentheses or a pointer:
/// `auto* k = &my_kernel<float, 4>; CUMLP_LAUNCH(k, ...)`.
#define CUMLP_LAUNCH(kernel, grid, block, smem, stream, ...) \
  ::sim::detail::launch_impl(::sim::LaunchOptions{}, #kernel, kernel, grid, block, smem, stream __VA_OPT__(, ) __VA_ARGS__)
