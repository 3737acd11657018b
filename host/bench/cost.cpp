// The timer, the declared cost of each op (the least a perfect implementation
// must read, write and compute, so GB/s, GFLOP/s and floors compare devices
// and implementations on the same work), and the modelled time of a kernel on
// an H100 or A100 from the simulator's counted traffic: one cost model.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "host/bench/engine.h"
#include "host/shared/error_macros.h"

namespace cumlp::bench {

namespace {

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const auto i = static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[i];
}

}  // namespace

Stats time_calls(const Timing& t, const std::function<void()>& body, const std::function<void()>& sync) {
  if (t.once) {
    const double t0 = now_us();
    body();
    sync();
    const double us = now_us() - t0;
    return {us, us, us, us};
  }
  // Warm-up (caches, BLAS thread pool, page faults); it also gives the
  // per-call estimate that sets the repetitions of a sample.
  int calls = 0;
  const double w0 = now_us();
  do {
    body();
    sync();
    ++calls;
  } while (calls < 2 || now_us() - w0 < t.warmup_us);
  const double per_call = (now_us() - w0) / calls;
  const int reps = std::max(1, static_cast<int>(std::ceil(t.min_sample_us / std::max(per_call, 1e-3))));
  std::vector<double> us;
  for (int s = 0; s < t.samples; ++s) {
    const double t0 = now_us();
    for (int r = 0; r < reps; ++r) body();
    sync();
    us.push_back((now_us() - t0) / reps);
  }
  std::sort(us.begin(), us.end());
  return {percentile(us, 0.5), percentile(us, 0.1), percentile(us, 0.9), us.front()};
}

Cost forward_cost(int64_t M, int64_t N, int64_t K, bool bias, bool dropout, std::size_t elem) {
  const double e = static_cast<double>(elem);
  const double out = static_cast<double>(M * N) * (dropout ? 2 : 1);
  return {e * (static_cast<double>(M * K + N * K + (bias ? N : 0)) + out), 2.0 * M * N * K};
}

Cost backward_data_cost(int64_t M, int64_t N, int64_t K, std::size_t elem) {
  // dz [M, N] and w [N, K] read, y_prev [M, K] read, dz_prev [M, K] written.
  return {static_cast<double>(elem) * static_cast<double>(M * N + N * K + 2 * M * K), 2.0 * M * N * K};
}

Cost backward_weight_cost(int64_t M, int64_t N, int64_t K, bool bias, std::size_t elem) {
  const double reads = static_cast<double>(M * N + M * K), writes = static_cast<double>(N * K + (bias ? N : 0));
  return {static_cast<double>(elem) * (reads + writes), 2.0 * M * N * K + (bias ? static_cast<double>(M * N) : 0)};
}

Cost loss_cost(int64_t rows, int64_t cols, bool classes, std::size_t elem) {
  const double n = static_cast<double>(rows * cols), e = static_cast<double>(elem);
  const double targets = classes ? 4.0 * static_cast<double>(rows) : e * n;
  // y read, dz written. Flops per element: cross-entropy with its gradient 8 (max; subtract,
  // exp, add; subtract, exp, subtract, multiply), as cuda/loss.cu counts them (5 before the
  // count showed it); the elementwise losses ~5 (MSE 4 plus the sum, BCE more).
  return {2 * e * n + targets + e, (classes ? 8 : 5) * n};
}

Cost optimizer_cost(OptimizerKind kind, int64_t n, std::size_t elem) {
  const double ne = static_cast<double>(n) * static_cast<double>(elem);
  if (kind == OptimizerKind::SGD) return {3 * ne, 2.0 * static_cast<double>(n)};  // p, g read; p written
  return {7 * ne, 12.0 * static_cast<double>(n)};                                // p, g, m, v read; p, m, v written
}

Cost step_cost(const Plan& plan, OptimizerKind kind, int64_t rows, std::size_t elem) {
  Cost c;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const FusedLayer& l = plan.layers[i];
    c += forward_cost(rows, l.out, l.in, l.bias, l.dropout_p > 0, elem);
    c += backward_weight_cost(rows, l.out, l.in, l.bias, elem);
    if (i > 0) c += backward_data_cost(rows, l.out, l.in, elem);
  }
  c += loss_cost(rows, plan.outputs, loss_takes_classes(plan.loss), elem);
  c += optimizer_cost(kind, plan.param_count, elem);
  return c;
}

double floor_us(const DevicePeak& peak, const Cost& c, int launches) {
  return c.bytes / (peak.bandwidth_gbps * 1e3) + c.flops / (peak.gflops * 1e3) + launches * peak.launch_us;
}

// ---- modelled GPU time --------------------------------------------------------------------
//
// The figures every modelled time uses, one row per GPU, each with its source. "datasheet":
// NVIDIA's published specification. "measured, published": a measurement someone published,
// on the GPU named (never on our kernels, never fitted to them). Frozen once issue 16 closed.
//  [DS-H100] datasheet: NVIDIA H100 Tensor Core GPU datasheet and Hopper whitepaper (H100 SXM5
//            80 GB): 132 SMs, 67 TFLOPS FP32, 3.35 TB/s HBM3, 50 MB L2, 228 KB shared memory
//            per SM (227 KB per block); boost clock derived: 67e12 / (132 SMs x 128 lanes x 2).
//            TF32 tensor core: 494.7 TFLOPS dense (989.4 "with sparsity", the 2:4 structured
//            sparsity figure, which does not apply to dense GEMMs); the dense figure is used.
//  [DS-A100] datasheet: NVIDIA A100 Tensor Core GPU datasheet and Ampere whitepaper (A100 SXM4
//            80 GB): 108 SMs, 1.41 GHz, 19.5 TFLOPS FP32, 2.039 TB/s HBM2e, 40 MB L2, 164 KB
//            shared memory per SM (163 KB per block). TF32 tensor core: 156 TFLOPS dense (312
//            with sparsity); the dense figure is used.
//  [CC]      CUDA C++ Programming Guide, compute capabilities 8.0 and 9.0: 65,536 registers,
//            2048 threads, 64 warps and 32 blocks per SM; 1 KB of shared memory reserved per block.
//  [COPY]    measured, published: cuda-samples bandwidthTest, Device to Device (read + write
//            counted), A100-SXM4-40GB: 1157.5 GB/s of its 1555 GB/s datasheet bandwidth = 0.744
//            ("cuda-samples/02-cuda-bandwidth.md", github.com/router-gao/cuda-demo). Applied to
//            both GPUs; checked against an independent H100 SXM measurement in
//            tests/profile/cost_model_test.cpp.
//  [LAUNCH]  measured, published: 5,000 back-to-back launches of an empty kernel <<<1, 1>>>,
//            then one synchronize: 2.7 us per launch on A100 nodes (CSCS "ault:amda100"), the
//            reference of the "async" gpu_kernel_latency_check in ReFrame's CSCS checks
//            (github.com/reframe-hpc/reframe, cscs-checks/microbenchmarks/gpu/kernel_latency/
//            kernel_latency.py; the kernel: hpctestlib/microbenchmarks/gpu/kernel_latency/src/
//            kernel_latency.cu). No H100 figure of the same kind was found; the A100 one is used
//            for the H100 too (the cost is the host driver's and the front end's, not the SMs').
//  [GRAPH]   measured, published: about 1.3 us per kernel of a CUDA graph on an H100, the
//            kernel launch and teardown cost that remains with CUDA graphs (Hazy Research, "Look
//            Ma, No Bubbles! Designing a Low-Latency Megakernel for Llama-1B", 2025-05-27,
//            hazyresearch.stanford.edu/blog/2025-05-27-no-bubbles; read here through the summary
//            at mlops.substack.com/p/one-megakernel-to-rule-llama-1b: "Even with NVIDIA's CUDA
//            graphs ... measurements on an H100 showed launch costs of about 1.3 microseconds per
//            kernel"). Used for the A100 too. The profile models the step op by op (launch
//            cost); the graph figure gives the replayed step (ProfileReport::modelled_step_graph_us).
//  [L2-H100] measured, published: gpu-benches "gpu-l2-cache" (github.com/te42kyfo/gpu-benches,
//            gpu-l2-cache/h100_pcie.txt), read bandwidth of data sets that live in L2: 6.83 to
//            6.98 TB/s for 8.4 to 33 MB on an H100 PCIe (114 SMs, 1.755 GHz); 6900 GB/s taken.
//            The SXM part has more SMs and clock, so this is low for it (never flattering).
//  [L2-A100] measured, published: the same benchmark (gpu-l2-cache/a100_80.txt), A100 80 GB:
//            5.26 to 5.48 TB/s for 2 to 25.6 MB; 5400 GB/s taken.
namespace {

const GpuSpec kGpus[] = {
    {"h100", "H100 SXM5 80 GB", 132, 67e12 / (132 * 128 * 2) / 1e9, 67, 494.7, 3350, 50, 228 * 1024, 227 * 1024, 65536,
     2048, 64, 32, 1157.5 / 1555, 2.7, 1.3, 6900},
    {"a100", "A100 SXM4 80 GB", 108, 1.41, 19.5, 156, 2039, 40, 164 * 1024, 163 * 1024, 65536, 2048, 64, 32,
     1157.5 / 1555, 2.7, 1.3, 5400},
};

constexpr int kReservedSmemPerBlock = 1024;  // [CC]
constexpr int kRegisterUnit = 256;           // registers are allocated per warp in units of 256 [CC]
constexpr int kSchedulersPerSm = 4;          // SM sub-partitions, one warp scheduler each [DS-H100], [DS-A100]

}  // namespace

const GpuSpec& gpu_spec(const std::string& name) {
  for (const GpuSpec& g : kGpus)
    if (name == g.name) return g;
  CUMLP_THROW("unknown GPU '", name, "' for the cost model (expected h100 or a100)");
}

std::vector<std::string> gpu_spec_sources() {
  return {
      "datasheet: H100 SXM5: 132 SMs, 1.98 GHz (derived from 67 TFLOPS FP32), 494.7 TFLOPS TF32 tensor core "
      "dense (989.4 with sparsity, not used), 3.35 TB/s HBM3, 50 MB L2 - NVIDIA H100 datasheet",
      "datasheet: A100 SXM4 80 GB: 108 SMs, 1.41 GHz, 19.5 TFLOPS FP32, 156 TFLOPS TF32 tensor core dense (312 "
      "with sparsity, not used), 2.039 TB/s HBM2e, 40 MB L2 - NVIDIA A100 datasheet",
      "SM limits (65,536 registers, 2048 threads, 64 warps, 32 blocks, 1 KB reserved shared memory per block) - "
      "CUDA C++ Programming Guide, compute capability 8.0/9.0",
      "measured, published: device-copy efficiency 0.744 - cuda-samples bandwidthTest D2D 1157.5 GB/s on "
      "A100-SXM4-40GB (github.com/router-gao/cuda-demo)",
      "measured, published: launch 2.7 us per kernel - 5000 back-to-back empty kernels on A100 (ReFrame CSCS "
      "gpu_kernel_latency_check, async reference for ault:amda100); used for the H100 too",
      "measured, published: graph node 1.3 us per kernel - CUDA graphs on H100 (Hazy Research, 'Look Ma, No "
      "Bubbles!', 2025); used for the A100 too",
      "measured, published: L2 read bandwidth 6900 GB/s on H100 PCIe, 5400 GB/s on A100 80 GB - "
      "github.com/te42kyfo/gpu-benches gpu-l2-cache (the H100 SXM value is taken from the PCIe part, low for it)",
      "L2-resident: a launch whose distinct touched sectors fit the L2 (50 / 40 MB) moves its bytes at L2 "
      "bandwidth, but no faster than its distinct bytes come from HBM once; larger ones move every byte at HBM "
      "speed",
      "compute: counted FP32 flops at the FP32 peak plus counted tensor-core flops (2 x 16 x 16 x 8 per warp "
      "m16n16k8 TF32 MMA; tf32x3 issues 3 per product) at the TF32 dense peak, on the busiest SM",
      "not modelled: latency within a kernel, overlap between kernels, tensor-core and FP32 work overlapping "
      "each other (their times add)",
  };
}

Occupancy occupancy(const GpuSpec& gpu, int threads_per_block, std::size_t smem_per_block, int regs_per_thread,
                    uint64_t blocks) {
  CUMLP_CHECK(threads_per_block >= 1 && threads_per_block <= 1024, "occupancy: ", threads_per_block,
              " threads per block");
  Occupancy o;
  const int warps = (threads_per_block + 31) / 32;
  auto limit = [&](int n, const char* why) {
    if (o.limit.empty() || n < o.blocks_per_sm) o.blocks_per_sm = n, o.limit = why;
  };
  limit(gpu.max_blocks_per_sm, "blocks");
  limit(gpu.max_warps_per_sm / warps, "threads");
  const std::size_t smem = smem_per_block + kReservedSmemPerBlock;
  limit(static_cast<int>(static_cast<std::size_t>(gpu.smem_per_sm) / smem), "shared memory");
  o.registers_known = regs_per_thread > 0;
  if (o.registers_known) {
    const int per_warp = (regs_per_thread * 32 + kRegisterUnit - 1) / kRegisterUnit * kRegisterUnit;
    limit(gpu.regs_per_sm / (per_warp * warps), "registers");
  }
  o.warps_per_sm = o.blocks_per_sm * warps;
  o.fraction = static_cast<double>(o.warps_per_sm) / gpu.max_warps_per_sm;
  o.waves = o.blocks_per_sm > 0 ? static_cast<double>(blocks) / (static_cast<double>(o.blocks_per_sm) * gpu.sms) : 0;
  return o;
}

double l2_bytes(const GpuSpec& gpu) { return gpu.l2_mb * 1024 * 1024; }

// The working set of a launch is the distinct 32-byte sectors it touches (counted by the
// tracer), not the buffers it could reach: a GEMM re-reads its operands' tiles from many
// blocks, and on a GPU those re-reads hit L2 when the distinct sectors fit it. The first touch
// of each distinct sector is charged at HBM speed (a cold L2: the step's buffers are not
// assumed to stay resident from the kernel before), so a streaming kernel, whose distinct and
// moved bytes are equal, costs the same either way. Working sets above the L2 move every
// byte at HBM speed (re-reads are not assumed to hit).
double memory_us_per_launch(const GpuSpec& gpu, double bytes, double distinct_bytes, bool* l2_resident) {
  const double hbm = gpu.hbm_gbps * gpu.copy_fraction * 1e3;  // bytes per us
  *l2_resident = distinct_bytes > 0 && distinct_bytes <= l2_bytes(gpu);
  if (!*l2_resident) return bytes / hbm;
  return std::max(distinct_bytes / hbm, bytes / (gpu.l2_gbps * 1e3));
}

ModelledTime model_kernel(const GpuSpec& gpu, const KernelCounters& k, const Occupancy& occ) {
  ModelledTime t;
  const double launches = static_cast<double>(std::max<uint64_t>(k.launches, 1));
  const double blocks = static_cast<double>(k.blocks) / launches;  // per launch
  const double threads = static_cast<double>(k.block[0]) * k.block[1] * k.block[2];
  // The busiest SM's share of a launch: ceil(blocks / SMs) of its blocks (wave quantization).
  const double busiest = blocks > 0 ? std::ceil(blocks / gpu.sms) / blocks : 0;
  const double warps_resident = std::min<double>(occ.warps_per_sm, std::ceil(blocks / gpu.sms) * std::ceil(threads / 32));
  const double issue = std::min(1.0, warps_resident / kSchedulersPerSm);
  t.memory_us = launches * memory_us_per_launch(gpu, static_cast<double>(k.global_bytes()) / launches,
                                                 32.0 * static_cast<double>(k.footprint_sectors) / launches,
                                                 &t.l2_resident);
  const double wavefronts = static_cast<double>(k.shared_load.units + k.shared_store.units) / launches;
  t.smem_us = launches * wavefronts * busiest / (gpu.clock_ghz * 1e3);
  // Per SM per us: the FP32 pipes and the tensor cores, each at its datasheet peak.
  const double sm_flops_per_us = gpu.fp32_tflops * 1e6 / gpu.sms, sm_tensor_flops_per_us = gpu.tf32_tflops * 1e6 / gpu.sms;
  if (issue > 0) {
    t.tensor_us = static_cast<double>(k.tensor_flops) * busiest / (sm_tensor_flops_per_us * issue);
    t.compute_us = static_cast<double>(k.flops) * busiest / (sm_flops_per_us * issue) + t.tensor_us;
  }
  t.launch_us = launches * gpu.launch_us;
  const double work = std::max({t.memory_us, t.smem_us, t.compute_us});
  t.total_us = work + t.launch_us;
  t.bound = t.launch_us >= work ? "launch" : work == t.memory_us ? "memory" : work == t.smem_us ? "smem" : "compute";
  return t;
}

}  // namespace cumlp::bench
