// Block scheduling, __syncthreads and shared memory; warp operations are in warp.cpp.
#include "cuda/sim/block.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <random>
#include <sstream>

#include "cuda/sim/trace.h"
#include "host/shared/error_macros.h"

namespace sim::detail {

namespace {

// Thrown into suspended threads to unwind their stacks after another thread failed.
struct Cancelled {};

// Bytes after each shared region, checked when the block ends, so an overflow is
// reported even without AddressSanitizer (ASan instead sees the exact-size allocation).
#if defined(CUMLP_SIM_ASAN)
constexpr std::size_t kCanary = 0;
#else
constexpr std::size_t kCanary = 64;
#endif
constexpr unsigned char kCanaryByte = 0xCB;
constexpr std::size_t kMaxStaticShared = 48 * 1024;  // CUDA's limit for __shared__ arrays

std::string coords(uint3 v) {
  std::ostringstream os;  // not string operator+: GCC 12 gives a false -Wrestrict there
  os << "(" << v.x << "," << v.y << "," << v.z << ")";
  return os.str();
}

std::string where(const std::source_location& site) {
  return std::string(site.file_name()) + ":" + std::to_string(site.line());
}

bool same_site(const std::source_location& a, const std::source_location& b) {
  return a.line() == b.line() && a.column() == b.column() &&
         (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

const char* barrier_name(BarrierOp op) {
  switch (op) {
    case BarrierOp::sync: return "__syncthreads";
    case BarrierOp::count: return "__syncthreads_count";
    case BarrierOp::all: return "__syncthreads_and";
    case BarrierOp::any: return "__syncthreads_or";
  }
  return "?";
}

void fill_shared(char* p, std::size_t bytes, SharedFill fill) {
  if (fill == SharedFill::poison_words) {
    std::memset(p, 0xCD, bytes);  // ints read before written come out as -842150451
    return;
  }
  if (fill == SharedFill::double_nan) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i + sizeof nan <= bytes; i += sizeof nan) std::memcpy(p + i, &nan, sizeof nan);
    return;
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 0; i + sizeof nan <= bytes; i += sizeof nan) std::memcpy(p + i, &nan, sizeof nan);
}

}  // namespace

std::string describe(const SimThread& t) {
  return "kernel '" + std::string(t.runner->launch().name) + "', block " + coords(t.block_idx) + ", thread " +
         coords(t.thread_idx);
}

std::string describe_current() {
  return current_thread ? describe(*static_cast<const SimThread*>(current_thread)) : std::string();
}

void BlockRunner::run(const GridLaunch& launch, uint3 block_idx, const Schedule& schedule, std::size_t smem_limit) {
  launch_ = &launch;
  const dim3 bd = launch.block;
  const unsigned n = bd.x * bd.y * bd.z;
  threads_.resize(n);
  stacks_.reserve(n);
  warps_.resize((n + 31) / 32);  // kept between blocks so `pending` keeps its capacity
  for (Warp& w : warps_) {
    w.alive = 0;
    w.pending.clear();
  }
  for (unsigned i = 0; i < n; ++i) {
    SimThread& t = threads_[i];
    t.thread_idx = uint3{i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
    t.block_idx = block_idx;
    t.block_dim = bd;
    t.grid_dim = launch.grid;
    t.runner = this;
    t.linear = i;
    t.warp = i / 32;
    t.lane = i % 32;
    t.state = SimThread::State::fresh;
    warps_[t.warp].alive |= 1u << t.lane;
  }
  done_ = 0;
  idle_yields_ = 0;
  first_exited_ = nullptr;
  barrier_.arrived = 0;
  failure_ = nullptr;
  cancelling_ = false;
  smem_limit_ = smem_limit;
  static_bytes_ = 0;
  shared_bytes_ = launch.dynamic_smem;
  dynamic_ = launch.dynamic_smem ? allocate_shared(launch.dynamic_smem, SharedFill::float_nan, "dynamic shared memory",
                                                   nullptr)
                                 : Region{};

  const std::uint64_t linear_block =
      block_idx.x + std::uint64_t(launch.grid.x) * (block_idx.y + std::uint64_t(launch.grid.y) * block_idx.z);
  try {
    schedule_loop(schedule, linear_block);
  } catch (...) {
    fail(std::current_exception());
  }
  if (failure_) {
    cancel_suspended();
    release_shared(false);
    std::rethrow_exception(failure_);
  }
  release_shared(true);
}

void BlockRunner::schedule_loop(const Schedule& schedule, std::uint64_t block_linear) {
  const unsigned n = unsigned(threads_.size());
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0u);
  if (schedule.order == Order::reverse) std::reverse(order_.begin(), order_.end());
  // Cheap to seed per block (mt19937 is not); splitmix64 spreads (seed, block).
  std::uint64_t z = schedule.seed * 0x9E3779B97F4A7C15ull + block_linear + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  std::minstd_rand rng(std::uint32_t(z ^ (z >> 31)) | 1u);
  while (done_ < n) {
    bool ran = false;
    if (schedule.order == Order::warp) {
      for (unsigned w = 0; w < warps_.size(); ++w) {
        // Drain this warp completely (through its shuffles) before the next one starts.
        for (bool again = true; again;) {
          again = false;
          for (unsigned i = w * 32; i < std::min(n, w * 32 + 32); ++i) {
            if (step(threads_[i])) again = ran = true;
            if (failure_) return;
          }
        }
      }
    } else {
      if (schedule.order == Order::random) std::shuffle(order_.begin(), order_.end(), rng);
      for (unsigned i : order_) {
        if (step(threads_[i])) ran = true;
        if (failure_) return;
      }
    }
    if (!ran && done_ < n) report_deadlock();
  }
}

bool BlockRunner::step(SimThread& t) {
  if (t.state == SimThread::State::fresh) {
    fiber_create(t.fiber, stacks_.bottom(t.linear), stacks_.stack_size(), &BlockRunner::thread_main, &t);
    t.state = SimThread::State::runnable;
  } else if (t.state != SimThread::State::runnable) {
    return false;
  }
  current_thread = &t;
  fiber_resume(t.fiber);
  current_thread = nullptr;
  return true;
}

void BlockRunner::thread_main(void* arg) {
  auto& t = *static_cast<SimThread*>(arg);
  BlockRunner& r = *t.runner;
  try {
    r.launch_->run_thread(r.launch_->state);
  } catch (const Cancelled&) {
  } catch (...) {
    r.fail(std::current_exception());
  }
  try {
    r.on_exit(t);
  } catch (...) {
    r.fail(std::current_exception());
  }
}

void BlockRunner::block(SimThread& self) {
  fiber_yield(self.fiber);
  if (cancelling_) throw Cancelled{};
}

void BlockRunner::yield(SimThread& self) {
  // A spin-wait whose condition nobody can change (everyone else is blocked)
  // would yield forever: after this many yields with no thread reaching a
  // barrier, a warp operation or the end, call it a deadlock.
  constexpr std::uint64_t kIdleYieldLimit = 1u << 20;
  CUMLP_CHECK(++idle_yields_ < kIdleYieldLimit, "deadlock in ", describe(self), ": threads spun in __nanosleep ",
              kIdleYieldLimit, " times while no thread reached a barrier, a warp operation or the end of the kernel");
  block(self);
}

void BlockRunner::fail(std::exception_ptr error) {
  if (!failure_) failure_ = error;
}

void BlockRunner::cancel_suspended() {
  cancelling_ = true;
  for (SimThread& t : threads_) {
    if (t.state == SimThread::State::fresh) {
      t.state = SimThread::State::done;
    } else if (t.state != SimThread::State::done) {
      t.state = SimThread::State::runnable;
      step(t);  // throws Cancelled inside the fiber, which unwinds and exits
    }
  }
  cancelling_ = false;
}

void BlockRunner::on_exit(SimThread& self) {
  idle_yields_ = 0;
  self.state = SimThread::State::done;
  ++done_;
  if (cancelling_ || failure_) return;
  if (!first_exited_) first_exited_ = &self;
  Warp& warp = warps_[self.warp];
  const unsigned bit = 1u << self.lane;
  warp.alive &= ~bit;
  CUMLP_CHECK(barrier_.arrived == 0, "divergent ", barrier_name(barrier_.op), ": ", describe(self),
              " exited the kernel without reaching the barrier at ", where(barrier_.site), " where ",
              describe(*barrier_.first), " waits");
  // Lanes waiting only for this one in a warp operation can now go on.
  for (std::size_t i = 0; i < warp.pending.size();) {
    if ((warp.pending[i].mask & bit) && try_complete(warp, i)) continue;  // entry i was removed
    ++i;
  }
}

int BlockRunner::barrier(SimThread& self, BarrierOp op, int predicate, const std::source_location& site) {
  CUMLP_CHECK(!first_exited_, "divergent ", barrier_name(op), ": ", describe(self), " waits at ", where(site),
              " but ", describe(*first_exited_), " already exited the kernel without reaching it");
  if (barrier_.arrived == 0) {
    barrier_.op = op;
    barrier_.site = site;
    barrier_.first = &self;
    barrier_.count = 0;
  } else {
    CUMLP_CHECK(op == barrier_.op && same_site(site, barrier_.site), "divergent barriers: ", describe(self),
                " reaches ", barrier_name(op), " at ", where(site), " while ", describe(*barrier_.first),
                " waits at ", barrier_name(barrier_.op), " at ", where(barrier_.site));
  }
  barrier_.count += predicate != 0;
  idle_yields_ = 0;
  const unsigned n = unsigned(threads_.size());
  if (++barrier_.arrived < n) {
    self.state = SimThread::State::at_barrier;
    self.wait_site = site;
    block(self);
    return int(self.result);
  }
  const unsigned count = barrier_.count;
  const int result = op == BarrierOp::count ? int(count)
                     : op == BarrierOp::all ? int(count == n)
                     : op == BarrierOp::any ? int(count > 0)
                                            : 0;
  for (SimThread& t : threads_) {
    if (t.state != SimThread::State::at_barrier) continue;
    t.result = std::uint64_t(result);
    t.state = SimThread::State::runnable;
  }
  barrier_.arrived = 0;
  if (active_trace) active_trace->barrier();
  return result;
}

bool BlockRunner::shared_offset(const void* p, std::size_t* offset) const {
  const char* c = static_cast<const char*>(p);
  std::size_t base = 0;
  for (const Region& r : regions_) {
    if (c >= r.ptr && c < r.ptr + r.bytes) return *offset = base + std::size_t(c - r.ptr), true;
    base += (r.bytes + 15) / 16 * 16;
  }
  if (dynamic_.ptr && c >= dynamic_.ptr && c < dynamic_.ptr + dynamic_.bytes)
    return *offset = base + std::size_t(c - dynamic_.ptr), true;
  return false;
}

void BlockRunner::report_deadlock() {
  std::ostringstream os;
  os << "deadlock in kernel '" << launch_->name << "', block " << coords(threads_[0].block_idx)
     << ": no thread can make progress.";
  if (barrier_.arrived)
    os << " " << barrier_.arrived << " of " << threads_.size() << " threads wait at " << barrier_name(barrier_.op)
       << " at " << where(barrier_.site) << " (first: thread " << coords(barrier_.first->thread_idx) << ").";
  for (std::size_t w = 0; w < warps_.size(); ++w) {
    for (const PendingWarpOp& p : warps_[w].pending) {
      os << " Warp " << w << ": lanes 0x" << std::hex << p.arrived << " wait in a warp operation with mask 0x"
         << p.mask << std::dec << " at " << where(p.site) << " for lanes 0x" << std::hex
         << (p.mask & warps_[w].alive & ~p.arrived) << std::dec << ".";
    }
  }
  CUMLP_THROW(os.str());
}

void* BlockRunner::static_shared(SimThread& self, const void* site, std::size_t bytes, SharedFill fill,
                                 const char* name) {
  for (const Region& r : regions_)
    if (r.site == site) return r.ptr;
  static_bytes_ += bytes;
  shared_bytes_ += bytes;
  CUMLP_CHECK(static_bytes_ <= kMaxStaticShared, describe(self), ": static shared array '", name, "' (", bytes,
              " bytes) brings the block's static shared memory to ", static_bytes_, " bytes, over CUDA's ",
              kMaxStaticShared, "-byte limit");
  CUMLP_CHECK(shared_bytes_ <= smem_limit_, describe(self), ": static shared array '", name, "' (", bytes,
              " bytes) brings the block's shared memory to ", shared_bytes_, " bytes, over the ", smem_limit_,
              "-byte limit (", launch_->dynamic_smem, " of them dynamic)");
  regions_.push_back(allocate_shared(bytes, fill, name, site));
  return regions_.back().ptr;
}

BlockRunner::Region BlockRunner::allocate_shared(std::size_t bytes, SharedFill fill, const char* name,
                                                 const void* site) {
  // One heap allocation per array, sized exactly, so ASan flags the first byte past it.
  Region r{site, static_cast<char*>(::operator new(bytes + kCanary, std::align_val_t{16})), bytes, name};
  fill_shared(r.ptr, bytes, fill);
  std::memset(r.ptr + bytes, kCanaryByte, kCanary);
  return r;
}

void BlockRunner::release_shared(bool check_canaries) {
  if (dynamic_.ptr) regions_.push_back(dynamic_);
  dynamic_ = Region{};
  const Region* overflowed = nullptr;
  for (const Region& r : regions_) {
    for (std::size_t i = 0; check_canaries && !overflowed && i < kCanary; ++i)
      if (static_cast<unsigned char>(r.ptr[r.bytes + i]) != kCanaryByte) overflowed = &r;
  }
  const std::string name = overflowed ? overflowed->name : "";
  const std::size_t bytes = overflowed ? overflowed->bytes : 0;
  for (const Region& r : regions_) ::operator delete(r.ptr, std::align_val_t{16});
  regions_.clear();
  CUMLP_CHECK(!overflowed, "shared memory overflow in kernel '", launch_->name, "', block ",
              coords(threads_[0].block_idx), ": a write ran past the end of '", name, "' (", bytes,
              " bytes); build with -DCUMLP_SANITIZE=ON to see the faulting thread");
}

}  // namespace sim::detail
