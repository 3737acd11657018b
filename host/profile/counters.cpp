// The derived figures of the simulator's access counters (host/shared/kernel_trace.h).
#include <algorithm>

#include "host/shared/kernel_trace.h"

namespace cumlp {

AccessCounts& AccessCounts::operator+=(const AccessCounts& o) {
  requests += o.requests;
  units += o.units;
  ideal_units += o.ideal_units;
  bytes += o.bytes;
  return *this;
}

double KernelCounters::sector_efficiency() const {
  const uint64_t touched = global_load.units + global_store.units;
  return touched ? static_cast<double>(global_load.ideal_units + global_store.ideal_units) / static_cast<double>(touched)
                 : 1.0;
}

uint64_t KernelCounters::bank_conflicts() const {
  return shared_load.units + shared_store.units - shared_load.ideal_units - shared_store.ideal_units;
}

double KernelCounters::lds_per_fma() const {
  // Warp-level FMA instructions: a full warp's 32 lanes issue one.
  return fma_threads ? static_cast<double>(shared_load.requests) / (static_cast<double>(fma_threads) / 32.0) : 0.0;
}

KernelCounters& KernelCounters::operator+=(const KernelCounters& o) {
  launches += o.launches;
  blocks += o.blocks;
  static_smem = std::max(static_smem, o.static_smem);
  global_load += o.global_load;
  global_store += o.global_store;
  shared_load += o.shared_load;
  shared_store += o.shared_store;
  barriers += o.barriers;
  flops += o.flops;
  fma_threads += o.fma_threads;
  tensor_flops += o.tensor_flops;
  footprint_sectors += o.footprint_sectors;
  return *this;
}

}  // namespace cumlp
