// Internals of the benchmark suite (include/cumlp/bench.h): the timer, the
// declared cost of each Backend op, and the three parts of a run (device
// peak, kernels, training steps).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cumlp/bench.h"
#include "cumlp/network.h"
#include "cumlp/optim.h"
#include "host/shared/backend.h"
#include "host/shared/kernel_trace.h"
#include "host/executor/plan.h"
#include "host/opcheck/seed_models.h"

namespace cumlp::bench {

struct Stats {
  double median_us = 0, p10_us = 0, p90_us = 0;
  double best_us = 0;  // the fastest sample: what the device can do (peak probes)
};

/// How long to measure. On the simulator every op runs once (its times say
/// nothing about a GPU, and a seed-model GEMM takes seconds there).
struct Timing {
  int samples = 15;
  double min_sample_us = 2000;
  double warmup_us = 20000;
  bool once = false;
};

/// Times body(): warm-up, then samples of `reps` calls each (reps chosen so a
/// sample lasts min_sample_us), sync() closing every sample. Per-call figures.
Stats time_calls(const Timing& t, const std::function<void()>& body, const std::function<void()>& sync);

/// Declared minimum traffic (bytes read + written) and arithmetic of one op.
struct Cost {
  double bytes = 0, flops = 0;
  Cost& operator+=(const Cost& o) {
    bytes += o.bytes;
    flops += o.flops;
    return *this;
  }
};
Cost forward_cost(int64_t M, int64_t N, int64_t K, bool bias, bool dropout, std::size_t elem);
Cost backward_data_cost(int64_t M, int64_t N, int64_t K, std::size_t elem);
Cost backward_weight_cost(int64_t M, int64_t N, int64_t K, bool bias, std::size_t elem);
Cost loss_cost(int64_t rows, int64_t cols, bool classes, std::size_t elem);
Cost optimizer_cost(OptimizerKind kind, int64_t n, std::size_t elem);
/// Every op of one training step of the plan with a batch of `rows`.
Cost step_cost(const Plan& plan, OptimizerKind kind, int64_t rows, std::size_t elem);

/// bytes / bandwidth + flops / peak + launches x op overhead, in µs.
double floor_us(const DevicePeak& peak, const Cost& c, int launches);

/// Seeded synthetic inputs (uniform in [-1, 1]) and targets of one batch of the model.
std::pair<Tensor, Tensor> synthetic_batch(const SeedModel& m, uint64_t seed);

DevicePeak measure_peak(const Device& device, Backend& backend, const Timing& t, bool quick);
/// The op table's seed-model rows on `device`: validated, then timed.
std::vector<KernelResult> bench_kernels(Backend& device, const DevicePeak& peak, const Timing& t,
                                        Precision precision = Precision::FP32);
/// Throws Error unless every name is a seed model (A, B, C, D).
void check_models(const std::vector<std::string>& names);
std::vector<StepResult> bench_steps(const Device& device, const DevicePeak& peak, const Timing& t,
                                    const BenchOptions& options);

}  // namespace cumlp::bench

// ---- modelled GPU time (cost.cpp): one table of GPU figures, one model ----

namespace cumlp::bench {

/// A GPU's figures for modelled times. Datasheet values where NVIDIA publishes
/// them; the measured, published ones (copy efficiency, launch and graph-node
/// cost, L2 bandwidth) name their source in cost.cpp's table. None is fitted to
/// this project's kernels.
struct GpuSpec {
  const char* name;         ///< "h100", "a100"
  const char* description;  ///< "H100 SXM5 80 GB"
  int sms;
  double clock_ghz;         ///< boost clock: shared-memory wavefronts per SM per ns
  double fp32_tflops;       ///< non-tensor FP32 (an FMA counts 2)
  double tf32_tflops;       ///< TF32 tensor core, dense (without the 2:4 sparsity doubling)
  double hbm_gbps;          ///< datasheet memory bandwidth
  double l2_mb;
  int smem_per_sm, smem_per_block_max;  ///< bytes
  int regs_per_sm, max_threads_per_sm, max_warps_per_sm, max_blocks_per_sm;
  double copy_fraction;     ///< measured device-copy bandwidth / datasheet bandwidth
  double launch_us;         ///< measured cost of one kernel launch (an empty kernel, back to back)
  double graph_node_us;     ///< measured cost of one kernel node of a replayed CUDA graph
  double l2_gbps;           ///< measured L2 read bandwidth of data sets that fit the L2
};

/// The GPUs the model knows: "h100", "a100". Throws Error naming them for another name.
const GpuSpec& gpu_spec(const std::string& name);
/// One line per figure of every GpuSpec with its source, for output and docs.
std::vector<std::string> gpu_spec_sources();

/// Resident blocks per SM and what limits them.
struct Occupancy {
  int blocks_per_sm = 0, warps_per_sm = 0;
  double fraction = 0;       ///< resident warps / max warps per SM
  double waves = 0;          ///< blocks / (blocks_per_sm x SMs)
  std::string limit;         ///< "threads", "registers", "shared memory", "blocks"
  bool registers_known = false;  ///< false: registers per thread unknown (no ptxas figure), not counted
};
/// `regs_per_thread` 0 means unknown (then only threads, blocks and shared memory limit).
Occupancy occupancy(const GpuSpec& gpu, int threads_per_block, std::size_t smem_per_block, int regs_per_thread,
                    uint64_t blocks);

/// The L2 capacity in bytes (l2_mb MiB).
double l2_bytes(const GpuSpec& gpu);
/// Memory time of one launch moving `bytes` (every touched sector, 32 B each) whose distinct
/// touched sectors hold `distinct_bytes`: when those fit the L2 (and are known, > 0),
/// max(distinct / HBM, bytes / L2), else bytes / HBM; HBM is the datasheet bandwidth x the
/// measured copy efficiency. Sets *l2_resident to which case it took.
double memory_us_per_launch(const GpuSpec& gpu, double bytes, double distinct_bytes, bool* l2_resident);

/// A kernel's modelled time on a GPU, from its counted traffic and work.
struct ModelledTime {
  double memory_us = 0, smem_us = 0, compute_us = 0, launch_us = 0;
  double tensor_us = 0;      ///< the tensor-core part of compute_us (tensor flops at the TF32 peak)
  bool l2_resident = false;  ///< the memory time is the L2-resident case (memory_us_per_launch)
  double total_us = 0;  ///< max(memory, smem, compute) + launch
  std::string bound;    ///< "memory", "smem", "compute" or "launch": the largest term
};
/// memory: memory_us_per_launch (HBM, or L2 for a working set that fits); smem: wavefronts on the
/// busiest SM at one per clock; compute: the busiest SM's counted FP32 flops at
/// its share of the FP32 peak plus its counted tensor-core flops at its share of
/// the TF32 dense peak, both scaled down below 4 resident warps (one per SM
/// sub-partition scheduler); wave quantization through the busiest SM's
/// ceil(blocks / SMs) blocks; plus one launch. Counters summed over several
/// launches are modelled per launch.
ModelledTime model_kernel(const GpuSpec& gpu, const KernelCounters& k, const Occupancy& occ);

}  // namespace cumlp::bench
