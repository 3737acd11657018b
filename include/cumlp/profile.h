// GPU performance without a GPU: `cumlp profile`. One training step of a seed
// model runs on the SIMT simulator with access tracing on; every kernel launch
// is counted exactly (warp-level global requests and their 32-byte sectors,
// shared-memory wavefronts and bank conflicts, barriers, GEMM FMAs, tensor-core
// MMAs), and a
// cost model turns the counts into a MODELLED time on an H100 or A100.
//
//   cumlp::ProfileReport r = cumlp::profile_step(cumlp::Device::parse("sim"), {.model = "A"});
//   for (const auto& k : r.kernels) std::printf("%s %.1f us (%s)\n", k.name.c_str(), k.modelled_us, k.bound.c_str());
//
// The counts are measurements of the simulated execution; the times are a
// model (see `assumptions`), never a measurement of a GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/export.h"

namespace cumlp {

struct ProfileOptions {
  std::string model = "A";   ///< seed model: A, B, C or D (see cumlp/bench.h)
  std::string gpu = "h100";  ///< the modelled GPU: h100 or a100
  uint64_t seed = 1;         ///< synthetic batch and initial weights
  /// The GEMM arithmetic of the profiled step (cumlp/tensor.h).
  Precision precision = Precision::FP32;
};

/// One kernel of the step: every launch of the same op, op shape, kernel and launch shape.
struct ProfiledKernel {
  std::string name;        ///< "<launcher op>/<kernel>", e.g. "linear_act_forward/gemm"
  std::string shape;       ///< the op's shape as its launcher declared it: GEMM ops "MxNxK", the loss
                           ///< "rowsxcols", the optimizer "n" (parameters); "" where none was declared
  std::string grid_block;  ///< "16x4x1 x 16x16x1"
  int64_t launches = 0;
  int64_t blocks_per_launch = 0;
  int regs_per_thread = 0;       ///< from ptxas; 0: unknown in this build
  uint64_t smem_per_block = 0;   ///< static + dynamic bytes, as the simulator allocated them
  double occupancy = 0;          ///< resident warps / 64 per SM on the modelled GPU
  std::string occupancy_limit;   ///< what limits resident blocks: threads, shared memory, blocks, registers
  double waves = 0;              ///< blocks / (resident blocks per SM x SMs)
  uint64_t global_load_requests = 0, global_store_requests = 0;
  uint64_t global_bytes = 0;        ///< 32 x every sector touched
  uint64_t footprint_bytes = 0;     ///< 32 x the distinct sectors touched (the working set), summed over launches
  std::string memory_level;         ///< "L2" when every launch's working set fits the L2 (the L2-resident
                                    ///< case of the model), "HBM" when none does, "mixed" otherwise
  double sectors_per_request = 0;   ///< loads and stores together
  double sector_efficiency = 1;     ///< ideal sectors / touched sectors
  uint64_t shared_requests = 0, shared_wavefronts = 0;
  uint64_t bank_conflicts = 0;      ///< wavefronts beyond the ideal
  uint64_t barriers = 0;            ///< per launch, summed over its blocks
  double lds_per_fma = 0;           ///< shared load instructions per FMA instruction (GEMMs; 0 elsewhere)
  double flops = 0;                 ///< counted: FMA x 2 in the GEMM main loop plus CUMLP_COUNT_FLOPS elsewhere
  double tensor_flops = 0;          ///< counted tensor-core flops: 2 x 16 x 16 x 8 per warp TF32 MMA (the
                                    ///< --precision tf32 / tf32x3 GEMM; tf32x3 issues 3 per product); 0 at fp32
  double memory_us = 0, smem_us = 0, compute_us = 0, launch_us = 0;
  double modelled_us = 0;           ///< MODELLED: max(memory, smem, compute) + launch, summed over launches
  std::string bound;                ///< memory, smem, compute or launch
};

struct ProfileReport {
  std::string model, description;  ///< "A", "784-100-100-10 ..., batch 100"
  std::string gpu, gpu_description;
  std::vector<ProfiledKernel> kernels;  ///< in first-launch order
  double modelled_step_us = 0;          ///< MODELLED: sum of the kernels' modelled times (op-by-op launches)
  double modelled_step_graph_us = 0;    ///< MODELLED: the same step replayed as a CUDA graph (graph-node cost
                                        ///< per kernel instead of a launch)
  std::string registers_note;           ///< where the register counts came from, or why they are missing
  std::vector<std::string> assumptions; ///< the model's figures with their sources and what it leaves out
};

/// Profiles one training step (the first, issued op by op) of a seed model.
/// Throws Error for a device other than sim, an unknown model or GPU, or a
/// build without the traced simulator.
CUMLP_API ProfileReport profile_step(const Device& device, const ProfileOptions& options = {});

}  // namespace cumlp
