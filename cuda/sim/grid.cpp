// Grid launch: configuration checks, schedule selection and the worker threads
// that run blocks in parallel.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cuda/sim/block.h"
#include "cuda/sim/trace.h"
#include "host/shared/error_macros.h"

#if defined(CUMLP_SIM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace sim {
namespace {

constexpr std::size_t kDefaultSmem = 48 * 1024;
// The opt-in maximum of sm_80 (A100), the smallest of the targeted GPUs, so a
// kernel that runs here also fits there.
constexpr std::size_t kMaxSmemOptIn = 163 * 1024;

thread_local const Schedule* scoped_schedule = nullptr;

std::mutex attribute_mutex;
std::map<const void*, std::size_t>& smem_attributes() {
  static std::map<const void*, std::size_t> attributes;
  return attributes;
}

Schedule environment_schedule() {
  static const Schedule schedule = [] {
    const char* text = std::getenv("CUMLP_SIM_SCHEDULE");
    return text && *text ? parse_schedule(text) : Schedule{};
  }();
  return schedule;
}

unsigned default_workers() {
  static const unsigned workers = [] {
    const char* text = std::getenv("CUMLP_SIM_WORKERS");
    if (text && *text) return unsigned(std::max(1L, std::strtol(text, nullptr, 10)));
    return std::max(1u, std::thread::hardware_concurrency());
  }();
  return workers;
}

#if defined(CUMLP_SIM_ASAN)
// The sanitizers print where the bad access was; this adds which simulated
// thread made it. A death callback, so UBSan's aborting reports get it too.
void report_simulated_thread() {
  const std::string who = detail::describe_current();
  if (!who.empty()) std::fprintf(stderr, "cumlp simulator: the error above was raised in %s\n", who.c_str());
}
#endif

// Worker threads that take blocks from a shared counter. The launching thread
// works too, so a launch with one worker never changes threads.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static WorkerPool pool;
    return pool;
  }

  void run(unsigned workers, const std::function<void()>& work) {
    std::unique_lock launch_lock(launch_mutex_);
    {
      std::lock_guard lock(mutex_);
      while (threads_.size() + 1 < workers) threads_.emplace_back([this] { loop(); });
      work_ = &work;
      wanted_ = workers - 1;
      busy_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return wanted_ == 0 && busy_ == 0; });
    work_ = nullptr;
  }

  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void loop() {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && wanted_ > 0); });
      if (stop_) return;
      seen = generation_;
      --wanted_;
      ++busy_;
      const auto* work = work_;
      lock.unlock();
      (*work)();
      lock.lock();
      --busy_;
      idle_.notify_all();
    }
  }

  std::mutex launch_mutex_, mutex_;
  std::condition_variable wake_, idle_;
  std::vector<std::thread> threads_;
  const std::function<void()>* work_ = nullptr;
  std::uint64_t generation_ = 0;
  unsigned wanted_ = 0, busy_ = 0;
  bool stop_ = false;
};

}  // namespace

Schedule parse_schedule(std::string_view text) {
  Schedule s;
  const std::string_view name = text.substr(0, text.find(':'));
  if (name == "forward") s.order = Order::forward;
  else if (name == "reverse") s.order = Order::reverse;
  else if (name == "warp") s.order = Order::warp;
  else if (name == "random") s.order = Order::random;
  else CUMLP_THROW("unknown simulator schedule '", text, "' (expected forward, reverse, warp, random or random:<seed>)");
  if (name.size() < text.size()) {
    CUMLP_CHECK(s.order == Order::random, "only the random schedule takes a seed: '", text, "'");
    const std::string seed(text.substr(name.size() + 1));
    char* end = nullptr;
    s.seed = std::strtoull(seed.c_str(), &end, 10);
    CUMLP_CHECK(!seed.empty() && *end == '\0', "bad seed in simulator schedule '", text, "'");
  }
  return s;
}

std::string_view order_name(Order order) {
  switch (order) {
    case Order::forward: return "forward";
    case Order::reverse: return "reverse";
    case Order::random: return "random";
    case Order::warp: return "warp";
  }
  return "?";
}

std::vector<Schedule> every_schedule(std::uint64_t seed) {
  return {{Order::forward, 0}, {Order::reverse, 0}, {Order::random, seed}, {Order::warp, 0}};
}

ScheduleScope::ScheduleScope(Schedule schedule) : schedule_(schedule), previous_(scoped_schedule) {
  scoped_schedule = &schedule_;
}
ScheduleScope::~ScheduleScope() { scoped_schedule = previous_; }

void set_max_dynamic_shared(const void* kernel, std::size_t bytes) {
  CUMLP_CHECK(bytes <= kMaxSmemOptIn, "dynamic shared memory limit of ", bytes, " bytes is over the ",
              kMaxSmemOptIn, "-byte maximum of sm_80");
  std::lock_guard lock(attribute_mutex);
  smem_attributes()[kernel] = bytes;
}

namespace detail {

std::size_t check_grid(const GridLaunch& launch) {
  const dim3 g = launch.grid, b = launch.block;
  const char* name = launch.name;
  // The OS thread's block runner is busy with the calling block.
  CUMLP_CHECK(!current_thread, "kernel '", name, "' launched from inside a kernel (", describe_current(),
              "); the simulator has no dynamic parallelism");
  CUMLP_CHECK(std::uint64_t(b.x) * b.y * b.z <= 1024, "kernel '", name, "': block (", b.x, ",", b.y, ",", b.z,
              ") has ", std::uint64_t(b.x) * b.y * b.z, " threads, over the 1024 a block may have");
  CUMLP_CHECK(b.x >= 1 && b.y >= 1 && b.z >= 1 && b.x <= 1024 && b.y <= 1024 && b.z <= 64, "kernel '", name,
              "': block (", b.x, ",", b.y, ",", b.z, ") is outside CUDA's limits (1..1024, 1..1024, 1..64)");
  CUMLP_CHECK(g.x >= 1 && g.y >= 1 && g.z >= 1 && g.x <= 2147483647u && g.y <= 65535 && g.z <= 65535, "kernel '",
              name, "': grid (", g.x, ",", g.y, ",", g.z,
              ") is outside CUDA's limits (1..2147483647, 1..65535, 1..65535)");
  std::size_t smem_limit = kDefaultSmem;
  {
    std::lock_guard lock(attribute_mutex);
    auto it = smem_attributes().find(launch.kernel);
    if (it != smem_attributes().end()) smem_limit = std::max(smem_limit, it->second);
  }
  CUMLP_CHECK(launch.dynamic_smem <= smem_limit, "kernel '", name, "': ", launch.dynamic_smem,
              " bytes of dynamic shared memory requested, over the ", smem_limit,
              "-byte limit (raise it with sim::set_max_dynamic_shared / cudaFuncSetAttribute)");
  return smem_limit;
}

void run_grid(const GridLaunch& launch, const LaunchOptions& options) {
  const dim3 g = launch.grid;
  const std::size_t smem_limit = check_grid(launch);
#if defined(CUMLP_SIM_ASAN)
  static std::once_flag asan_hook;
  std::call_once(asan_hook, [] { __sanitizer_set_death_callback(report_simulated_thread); });
#endif

  const Schedule schedule =
      options.schedule ? *options.schedule : scoped_schedule ? *scoped_schedule : environment_schedule();
  const std::uint64_t blocks = std::uint64_t(g.x) * g.y * g.z;
  // Null unless a KernelTrace is active: the untraced path is one atomic load.
  LaunchTrace* const trace = begin_launch_trace(launch);
  const unsigned workers = unsigned(std::min<std::uint64_t>(options.workers ? options.workers : default_workers(), blocks));

  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  std::uint64_t error_block = ~0ull;
  const std::function<void()> work = [&] {
    thread_local BlockRunner runner;
    thread_local BlockTrace block_trace;
    for (std::uint64_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < blocks;) {
      const uint3 idx{unsigned(i % g.x), unsigned(i / g.x % g.y), unsigned(i / (std::uint64_t(g.x) * g.y))};
      try {
        if (trace) {
          block_trace.begin(trace, &runner, launch.block.x * launch.block.y * launch.block.z);
          active_trace = &block_trace;
        }
        runner.run(launch, idx, schedule, smem_limit);
        if (trace) {
          active_trace = nullptr;
          block_trace.finish(runner.static_shared_bytes());
        }
      } catch (...) {
        active_trace = nullptr;
        // Report the lowest failing block so the message does not depend on timing.
        std::lock_guard lock(error_mutex);
        if (i < error_block) error_block = i, error = std::current_exception();
        failed = true;
      }
    }
  };
  if (workers <= 1) work();
  else WorkerPool::instance().run(workers, work);
  if (trace) end_launch_trace(trace);
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace sim
