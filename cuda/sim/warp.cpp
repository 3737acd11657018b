// Warp-synchronous operations (shuffles, votes, __syncwarp) with the exact mask
// semantics of the PTX shfl.sync / vote.sync / bar.warp.sync instructions, plus
// the kernel-facing entry points declared in context.h.
#include <sstream>
#include <string_view>

#include "cuda/sim/block.h"
#include "host/shared/error_macros.h"

namespace sim::detail {
namespace {

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::matrix: return "nvcuda::wmma";
  }
  return "?";
}

unsigned first_set_lane(unsigned mask) {
  for (unsigned lane = 0; lane < 32; ++lane)
    if (mask >> lane & 1) return lane;
  return 0;
}

bool is_shuffle(WarpOp op) {
  return op == WarpOp::shfl_idx || op == WarpOp::shfl_up || op == WarpOp::shfl_down || op == WarpOp::shfl_xor;
}

std::string hex(unsigned v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string site_text(const std::source_location& s) { return std::string(s.file_name()) + ":" + std::to_string(s.line()); }

// The lane a shuffle reads, as PTX defines it: CUDA passes c = ((32-width) << 8)
// | clamp, where clamp is 0 for shfl.up and 31 otherwise; a source outside the
// lane's width-segment means "keep your own value".
unsigned source_lane(WarpOp op, unsigned lane, int arg, int width) {
  const unsigned segmask = unsigned(32 - width) & 0x1f;
  const unsigned clamp = op == WarpOp::shfl_up ? 0u : 0x1fu;
  const int max_lane = int((lane & segmask) | (clamp & ~segmask));
  const unsigned b = unsigned(arg) & 0x1f;
  int j = 0;
  bool in_segment = false;
  switch (op) {
    case WarpOp::shfl_up: j = int(lane) - int(b); in_segment = j >= max_lane; break;
    case WarpOp::shfl_down: j = int(lane + b); in_segment = j <= max_lane; break;
    case WarpOp::shfl_xor: j = int(lane ^ b); in_segment = j <= max_lane; break;
    default: j = int((lane & segmask) | (b & ~segmask)); in_segment = j <= max_lane; break;
  }
  return in_segment ? unsigned(j) : lane;
}

SimThread& self_or_throw(const char* what) {
  CUMLP_CHECK(current_thread, what, " called outside a kernel running on the simulator");
  return *static_cast<SimThread*>(current_thread);
}

}  // namespace

std::uint64_t BlockRunner::warp_op(SimThread& self, WarpOp op, unsigned mask, std::uint64_t value, int arg, int width,
                                   const std::source_location& site) {
  const unsigned bit = 1u << self.lane;
  CUMLP_CHECK(mask & bit, describe(self), " (lane ", self.lane, ") calls ", op_name(op), " at ", site_text(site),
              " with mask ", hex(mask), ", which does not include its own lane");
  CUMLP_CHECK(!is_shuffle(op) || (width >= 1 && width <= 32 && (width & (width - 1)) == 0), describe(self),
              " calls ", op_name(op), " at ", site_text(site), " with width ", width,
              "; it must be a power of two from 1 to 32");
  Warp& warp = warps_[self.warp];
  std::size_t index = warp.pending.size();
  for (std::size_t i = 0; i < warp.pending.size(); ++i) {
    const PendingWarpOp& p = warp.pending[i];
    if (!(p.mask & mask)) continue;
    // Every non-exited lane named in the mask must execute the same operation
    // with the same mask (PTX: "same qualifiers and same membermask").
    CUMLP_CHECK(p.op == op && p.mask == mask, "mismatched warp operations: ", describe(self), " calls ",
                op_name(op), " with mask ", hex(mask), " at ", site_text(site), " while lanes ", hex(p.arrived),
                " wait in ", op_name(p.op), " with mask ", hex(p.mask), " at ", site_text(p.site));
    index = i;
  }
  if (index == warp.pending.size()) {
    warp.pending.emplace_back();
    PendingWarpOp& p = warp.pending.back();
    p.op = op;
    p.mask = mask;
    p.arrived = 0;
    p.site = site;
  }
  PendingWarpOp& p = warp.pending[index];
  p.arrived |= bit;
  idle_yields_ = 0;
  p.value[self.lane] = value;
  p.arg[self.lane] = arg;
  p.width[self.lane] = width;
  self.state = SimThread::State::at_warp_op;
  self.wait_op = op;
  self.wait_site = site;
  if (!try_complete(warp, index)) block(self);
  return self.result;
}

bool BlockRunner::try_complete(Warp& warp, std::size_t index) {
  PendingWarpOp& p = warp.pending[index];
  const unsigned required = p.mask & warp.alive;
  if ((p.arrived & required) != required) return false;
  const unsigned first = unsigned(&warp - warps_.data()) * 32;
  if (p.op == WarpOp::matrix) {
    run_matrix(p, first);
    for (unsigned lane = 0; lane < 32; ++lane) threads_[first + lane].state = SimThread::State::runnable;
    warp.pending.erase(warp.pending.begin() + std::ptrdiff_t(index));
    return true;
  }
  unsigned ballot = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if ((p.arrived >> lane & 1) && p.value[lane]) ballot |= 1u << lane;
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(p.arrived >> lane & 1)) continue;
    SimThread& t = threads_[first + lane];
    switch (p.op) {
      case WarpOp::sync: t.result = 0; break;
      case WarpOp::ballot: t.result = ballot; break;
      case WarpOp::any: t.result = ballot != 0; break;
      case WarpOp::all: t.result = ballot == p.arrived; break;
      default: {
        const unsigned src = source_lane(p.op, lane, p.arg[lane], p.width[lane]);
        CUMLP_CHECK(p.arrived >> src & 1, describe(t), " (lane ", lane, ") reads lane ", src, " in ", op_name(p.op),
                    " at ", site_text(p.site), " but lane ", src,
                    ((p.mask >> src & 1) ? " has exited or does not exist" : " is outside the mask "),
                    ((p.mask >> src & 1) ? std::string() : hex(p.mask)));
        t.result = p.value[src];
      }
    }
    t.state = SimThread::State::runnable;
  }
  warp.pending.erase(warp.pending.begin() + std::ptrdiff_t(index));
  return true;
}

// nvcuda::wmma is warp-collective with no mask: the whole warp, converged at
// one call, or the behaviour is undefined on a GPU; here it is an error.
void BlockRunner::run_matrix(const PendingWarpOp& p, unsigned first) {
  WarpMatrixCall* calls[32];
  for (unsigned lane = 0; lane < 32; ++lane) calls[lane] = reinterpret_cast<WarpMatrixCall*>(p.value[lane]);
  const WarpMatrixCall& c0 = *calls[first_set_lane(p.arrived)];
  CUMLP_CHECK(p.arrived == 0xffffffffu, describe(threads_[first]), ": ", c0.name, " at ", site_text(p.site),
              " needs all 32 lanes of the warp, but only lanes ", hex(p.arrived),
              " reach it (the others exited or do not exist: a partial warp)");
  for (unsigned lane = 1; lane < 32; ++lane) {
    const SimThread& t = threads_[first + lane];
    CUMLP_CHECK(calls[lane]->run == c0.run && t.wait_site.line() == threads_[first].wait_site.line() &&
                    std::string_view(t.wait_site.file_name()) == threads_[first].wait_site.file_name(),
                "diverged warp: ", describe(t), " calls ", calls[lane]->name, " at ", site_text(t.wait_site),
                " while lane 0 calls ", c0.name, " at ", site_text(threads_[first].wait_site),
                "; nvcuda::wmma needs the whole warp at one call");
  }
  c0.run(calls);
}

void warp_matrix(WarpMatrixCall& call, const std::source_location& site) {
  SimThread& self = self_or_throw(call.name);
  self.runner->warp_op(self, WarpOp::matrix, 0xffffffffu, reinterpret_cast<std::uintptr_t>(&call), 0, 32, site);
}

int block_barrier(BarrierOp op, int predicate, const std::source_location& site) {
  SimThread& self = self_or_throw("__syncthreads");
  return self.runner->barrier(self, op, predicate, site);
}

std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int lane_arg, int width,
                              const std::source_location& site) {
  SimThread& self = self_or_throw(op_name(op));
  return self.runner->warp_op(self, op, mask, value, lane_arg, width, site);
}

unsigned active_lanes() {
  const SimThread& self = self_or_throw("__activemask");
  return self.runner->active_lanes(self);
}

void yield_thread() {
  SimThread& self = self_or_throw("__nanosleep");
  self.runner->yield(self);
}

void* static_shared(const void* site, std::size_t bytes, SharedFill fill, const char* name) {
  SimThread& self = self_or_throw("CUMLP_SHARED");
  return self.runner->static_shared(self, site, bytes, fill, name);
}

void* dynamic_shared() { return self_or_throw("CUMLP_DYNAMIC_SHARED").runner->dynamic_shared(); }

void kernel_error(const char* what) { CUMLP_THROW(describe(self_or_throw(what)), ": ", what); }

}  // namespace sim::detail
