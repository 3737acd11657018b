// Access tracing: the instrumentation hooks, the grouping of each block's
// accesses into warp-level requests and their reduction into sectors and
// shared-memory wavefronts, and the process-wide KernelTrace.
//
// A request is the k-th execution of one load/store instruction (its call
// site, __builtin_return_address of the hook) by each lane of a warp. Lanes
// that skip the instruction (divergence) are absent from it, and lanes that
// run it more often than others (a loop with a per-lane trip count) form
// requests of their own with fewer lanes, as a GPU issues them after the warp
// splits. This does not depend on the schedule: the grouping is by count, not time.
#include "cuda/sim/trace.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <set>
#include <string>

#include "cuda/sim/block.h"
#include "host/shared/error_macros.h"

namespace sim::detail {

// The active KernelTrace's launches.
struct TraceStore {
  std::mutex mutex;
  std::vector<cumlp::KernelCounters> launches;
};
std::atomic<TraceStore*> active_store{nullptr};

namespace {

// The launcher ranges open on this OS thread: the op's name and the shape it declared.
struct Range {
  const char* name;
  const char* shape;
};
thread_local std::vector<Range> ranges;

// Shape labels live as long as the process: a launch queued on a stream keeps
// the pointer after its launcher's range closed. Few distinct shapes occur.
const char* intern(std::string text) {
  static std::mutex mutex;
  static std::set<std::string> labels;
  std::lock_guard lock(mutex);
  return labels.insert(std::move(text)).first->c_str();
}

// An access from instrumented code: counted when a traced block runs on this
// OS thread and the access comes from one of its simulated threads.
// Wider accesses (loadN) count as 16-byte pieces, as the hardware has no wider load.
inline void on_access(std::uintptr_t address, std::size_t bytes, bool store, const void* pc) {
  BlockTrace* trace = active_trace;
  if (!trace || !current_thread) return;
  const auto& thread = static_cast<const SimThread&>(*current_thread);
  for (std::size_t done = 0; done < bytes; done += 16)
    trace->access(thread, address + done, unsigned(std::min<std::size_t>(16, bytes - done)), store, pc);
}

constexpr unsigned kSector = 32, kBanks = 32, kBankWidth = 4;

}  // namespace

__attribute__((noinline)) void count_flops(std::uint64_t n) {
  if (active_trace) active_trace->flops(n);
}
__attribute__((noinline)) void count_fma(std::uint64_t n) {
  if (active_trace) active_trace->fma(n);
}
void count_tensor_flops(std::uint64_t n) {
  if (active_trace) active_trace->tensor_flops(n);
}
void trace_warp_request(const std::uintptr_t* where, unsigned bytes, bool store) {
  if (active_trace && current_thread) active_trace->warp_request(where, bytes, store);
}

const char* current_range() { return ranges.empty() ? "" : ranges.back().name; }
const char* current_shape() { return ranges.empty() ? "" : ranges.back().shape; }
void push_range(const char* name) { ranges.push_back({name, ""}); }
void push_range(const char* name, std::int64_t d0, std::int64_t d1, std::int64_t d2) {
  std::string shape = std::to_string(d0);
  for (const std::int64_t d : {d1, d2})
    if (d >= 0) shape += "x" + std::to_string(d);
  ranges.push_back({name, intern(std::move(shape))});
}
void pop_range() {
  if (!ranges.empty()) ranges.pop_back();
}

LaunchTrace* begin_launch_trace(const GridLaunch& launch) {
  TraceStore* store = active_store.load();
  if (!store) return nullptr;
  auto* t = new LaunchTrace;
  cumlp::KernelCounters& c = t->counters;
  c.kernel = launch.name;
  c.op = launch.range ? launch.range : "";
  c.shape = launch.shape ? launch.shape : "";
  c.grid[0] = launch.grid.x, c.grid[1] = launch.grid.y, c.grid[2] = launch.grid.z;
  c.block[0] = launch.block.x, c.block[1] = launch.block.y, c.block[2] = launch.block.z;
  c.dynamic_smem = launch.dynamic_smem;
  c.launches = 1;
  t->allocations = sim::rt::detail::device_allocations();
  return t;
}

void end_launch_trace(LaunchTrace* trace) {
  std::unique_ptr<LaunchTrace> owned(trace);
  TraceStore* store = active_store.load();
  if (!store) return;
  trace->counters.footprint_sectors = trace->sectors.size();
  std::lock_guard lock(store->mutex);
  store->launches.push_back(std::move(trace->counters));
}

void BlockTrace::begin(LaunchTrace* launch, BlockRunner* runner, unsigned threads) {
  launch_ = launch;
  runner_ = runner;
  seen_.resize(threads);
  for (auto& s : seen_) s.clear();
  requests_.clear();
  sectors_.clear();
  local_ = cumlp::KernelCounters{};
}

void BlockTrace::access(const SimThread& thread, std::uintptr_t address, unsigned bytes, bool store, const void* pc) {
  std::size_t offset = 0;
  const bool shared = runner_->shared_offset(reinterpret_cast<const void*>(address), &offset);
  if (!shared && !in_allocation(address)) return;
  auto& seen = seen_[thread.linear];
  std::uint32_t k = 0;
  auto s = std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.first == pc; });
  if (s == seen.end()) seen.emplace_back(pc, 1);
  else k = s->second++;
  Request& r = requests_[Key{thread.warp, pc, k}];
  r.shared = shared;
  r.store = store;
  r.lanes |= 1u << thread.lane;
  r.where[thread.lane] = shared ? offset : address;
  r.bytes[thread.lane] = static_cast<std::uint8_t>(bytes);
}

// Global memory is what cudaMalloc handed out; the stack, parameters and host data are not counted.
bool BlockTrace::in_allocation(std::uintptr_t address) const {
  const auto& a = launch_->allocations;
  const char* p = reinterpret_cast<const char*>(address);
  auto it = std::upper_bound(a.begin(), a.end(), p, [](const char* q, const auto& e) { return q < e.first; });
  return it != a.begin() && p < std::prev(it)->first + std::max<std::size_t>(std::prev(it)->second, 1);
}

void BlockTrace::warp_request(const std::uintptr_t* where, unsigned bytes, bool store) {
  Request r;
  r.store = store;
  std::size_t offset = 0;
  r.shared = runner_->shared_offset(reinterpret_cast<const void*>(where[0]), &offset);
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (r.shared ? !runner_->shared_offset(reinterpret_cast<const void*>(where[lane]), &offset)
                 : !in_allocation(where[lane]))
      continue;
    r.lanes |= 1u << lane;
    r.where[lane] = r.shared ? offset : where[lane];
    r.bytes[lane] = static_cast<std::uint8_t>(bytes);
  }
  if (r.lanes) reduce(r);
}

void BlockTrace::reduce(const Request& r) {
  // The sectors (global) and 4-byte words each lane touches, deduplicated.
  std::uint64_t touched[32 * 2];
  std::uint64_t words[32 * 16 / kBankWidth + 32];
  unsigned n_touched = 0, n_words = 0;
  std::uint64_t asked = 0;
  for (unsigned lanes = r.lanes; lanes; lanes &= lanes - 1) {
    const unsigned lane = unsigned(std::countr_zero(lanes));
    const std::uint64_t first = r.where[lane], last = first + r.bytes[lane] - 1;
    asked += r.bytes[lane];
    if (!r.shared)
      for (std::uint64_t u = first / kSector; u <= last / kSector; ++u) touched[n_touched++] = u;
    for (std::uint64_t w = first / kBankWidth; w <= last / kBankWidth; ++w) words[n_words++] = w;
  }
  std::sort(touched, touched + n_touched);
  n_touched = unsigned(std::unique(touched, touched + n_touched) - touched);
  std::sort(words, words + n_words);
  n_words = unsigned(std::unique(words, words + n_words) - words);
  cumlp::AccessCounts one;
  one.requests = 1;
  one.bytes = asked;
  if (r.shared) {
    // A wavefront serves one distinct word per bank; the same word to many lanes is a broadcast.
    unsigned per_bank[kBanks] = {};
    for (unsigned i = 0; i < n_words; ++i) ++per_bank[words[i] % kBanks];
    one.units = *std::max_element(per_bank, per_bank + kBanks);
    one.ideal_units = (n_words + kBanks - 1) / kBanks;
  } else {
    one.units = n_touched;
    // The distinct bytes asked for, packed densely into sectors: merge the lanes' byte ranges.
    std::pair<std::uint64_t, std::uint64_t> range[32];
    unsigned n = 0;
    for (unsigned lanes = r.lanes; lanes; lanes &= lanes - 1) {
      const unsigned lane = unsigned(std::countr_zero(lanes));
      range[n++] = {r.where[lane], r.where[lane] + r.bytes[lane]};
    }
    std::sort(range, range + n);
    std::uint64_t distinct = 0, covered = 0;
    for (unsigned i = 0; i < n; ++i) {
      const std::uint64_t lo = std::max(range[i].first, covered);
      if (range[i].second > lo) distinct += range[i].second - lo;
      covered = std::max(covered, range[i].second);
    }
    one.ideal_units = (distinct + kSector - 1) / kSector;
    sectors_.insert(sectors_.end(), touched, touched + n_touched);
  }
  (r.shared ? (r.store ? local_.shared_store : local_.shared_load) : (r.store ? local_.global_store : local_.global_load)) +=
      one;
}

void BlockTrace::finish(std::size_t static_smem) {
  for (const auto& [key, request] : requests_) reduce(request);
  local_.static_smem = static_smem;
  local_.blocks = 1;
  local_.launches = 0;
  std::lock_guard lock(launch_->mutex);
  launch_->counters.static_smem = std::max<std::uint64_t>(launch_->counters.static_smem, static_smem);
  launch_->counters += local_;
  launch_->sectors.insert(sectors_.begin(), sectors_.end());
}

}  // namespace sim::detail

// The instrumentation's entry points (g++ -fsanitize=kernel-address with
// asan-instrumentation-with-call-threshold=0); the pc names the instruction.
// Only in builds that have the traced kernels: in an AddressSanitizer build
// these names are the sanitizer runtime's own (its __asan_handle_no_return
// unpoisons the stack on every throw), so defining them there breaks it.
#if defined(CUMLP_SIM_TRACING_BUILT)
extern "C" {
#define CUMLP_SIM_TRACE_HOOKS(n)                                                                      \
  void __asan_load##n##_noabort(std::uintptr_t a) {                                                  \
    sim::detail::on_access(a, n, false, __builtin_return_address(0));                                \
  }                                                                                                  \
  void __asan_store##n##_noabort(std::uintptr_t a) { sim::detail::on_access(a, n, true, __builtin_return_address(0)); }
CUMLP_SIM_TRACE_HOOKS(1)
CUMLP_SIM_TRACE_HOOKS(2)
CUMLP_SIM_TRACE_HOOKS(4)
CUMLP_SIM_TRACE_HOOKS(8)
CUMLP_SIM_TRACE_HOOKS(16)
#undef CUMLP_SIM_TRACE_HOOKS
void __asan_loadN_noabort(std::uintptr_t a, std::size_t n) {
  sim::detail::on_access(a, n, false, __builtin_return_address(0));
}
void __asan_storeN_noabort(std::uintptr_t a, std::size_t n) {
  sim::detail::on_access(a, n, true, __builtin_return_address(0));
}
// The rest of the instrumentation's interface has nothing to do here.
void __asan_handle_no_return() {}
void __asan_before_dynamic_init(const char*) {}
void __asan_after_dynamic_init() {}
}
#endif

namespace cumlp {

KernelTrace::KernelTrace() {
  sim::detail::TraceStore* expected = nullptr;
  auto* store = new sim::detail::TraceStore;
  if (!sim::detail::active_store.compare_exchange_strong(expected, store)) {
    delete store;
    CUMLP_THROW("a KernelTrace is already active; the simulator traces one at a time");
  }
}

KernelTrace::~KernelTrace() { delete sim::detail::active_store.exchange(nullptr); }

std::vector<KernelCounters> KernelTrace::launches() const {
  sim::detail::TraceStore* store = sim::detail::active_store.load();
  std::lock_guard lock(store->mutex);
  return store->launches;
}

}  // namespace cumlp
