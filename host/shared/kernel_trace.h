// Memory-access counters of simulated kernel launches: what the SIMT simulator
// counts when access tracing is on (cuda/sim/trace.cpp), and what the profile
// and the cost model (host/bench/cost.cpp) read. Shared by host/ and cuda/.
//
// Tracing sees only the traced build of the kernels (the same sources compiled
// a second time with g++'s load/store instrumentation, see cuda/CMakeLists.txt);
// the `sim` device's ordinary build has no hooks, so its speed and results do
// not change. Launches made while no trace is active are not counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cumlp {

class Backend;

/// Warp-level requests of one kind (global loads, shared stores, ...). A request
/// is the k-th execution, by each lane of a warp, of one load or store
/// instruction (program point); lanes that diverged past it are simply absent.
struct AccessCounts {
  uint64_t requests = 0;
  /// Global: 32-byte sectors touched; shared: wavefronts (passes through the 32 banks).
  uint64_t units = 0;
  /// The least units the distinct bytes of each request could take
  /// (ceil(distinct bytes / 32) sectors; ceil(distinct 4-byte words / 32) wavefronts).
  uint64_t ideal_units = 0;
  /// Bytes the lanes asked for (a broadcast counts each lane).
  uint64_t bytes = 0;

  AccessCounts& operator+=(const AccessCounts& o);
};

/// Everything counted for one kernel launch (or a sum of launches).
struct KernelCounters {
  std::string kernel;  ///< the launched function as the launcher names it
  std::string op;      ///< the launcher's range (NvtxRange), e.g. "linear_act_forward"; "" outside one
  std::string shape;   ///< the op's shape the launcher declared with its range, e.g. "100x784x100"; "" if none
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint64_t dynamic_smem = 0, static_smem = 0;  ///< bytes per block
  uint64_t launches = 0, blocks = 0;
  AccessCounts global_load, global_store, shared_load, shared_store;
  uint64_t barriers = 0;     ///< __syncthreads completed, summed over blocks
  uint64_t flops = 0;        ///< counted by CUMLP_COUNT_FLOPS in the kernel (0 where it declares none)
  uint64_t fma_threads = 0;  ///< thread-level FMAs counted by CUMLP_COUNT_FMA (the GEMM main loop)
  /// Tensor-core flops: 2 x 16 x 16 x 8 per warp-level TF32 wmma::mma_sync (cuda/sim/wmma.h); not in `flops`.
  uint64_t tensor_flops = 0;
  /// Distinct 32-byte global sectors the launch touched (its working set), summed over launches.
  uint64_t footprint_sectors = 0;

  /// Bytes moved between the SMs and memory: every touched sector, 32 bytes each.
  uint64_t global_bytes() const { return 32 * (global_load.units + global_store.units); }
  /// Ideal sectors / touched sectors over loads and stores (1 when there are none).
  double sector_efficiency() const;
  /// Shared-memory wavefronts beyond the ideal: bank conflicts (wavefronts - requests for 4-byte accesses).
  uint64_t bank_conflicts() const;
  /// Shared-memory load instructions per FMA instruction (warp level); 0 without counted FMAs.
  double lds_per_fma() const;
  /// Adds o's counts (launches, blocks, accesses, barriers, flops, tensor flops); keeps this one's name and shape.
  KernelCounters& operator+=(const KernelCounters& o);
};

/// Counts every launch of the traced kernel build while it lives (one trace
/// at a time, process-wide; throws Error if another is active). The launches
/// run on one worker thread so the counts and the schedule are those of an
/// ordinary run with CUMLP_SIM_WORKERS=1.
class KernelTrace {
 public:
  KernelTrace();
  ~KernelTrace();
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;

  /// One entry per launch so far, in launch order.
  std::vector<KernelCounters> launches() const;
};

/// True when this build has the traced kernels (CUMLP_SIM=ON).
bool kernel_tracing_built();

/// A `sim` backend running the traced build of the kernels: same results as
/// make_backend(Device::parse("sim")), with every access reported to the active
/// KernelTrace. Throws Error when the build has no simulator.
std::unique_ptr<Backend> make_traced_sim_backend();

}  // namespace cumlp
