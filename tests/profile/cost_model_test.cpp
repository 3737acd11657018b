// The cost model against published measurements (each cited where it is
// used), and its occupancy and bound arithmetic worked by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "host/bench/engine.h"
#include "host/shared/kernel_trace.h"

namespace cumlp::bench {
namespace {

// A copy of `bytes` as a kernel moves it: every byte read once and written once, coalesced.
KernelCounters device_copy(double bytes, const GpuSpec& gpu) {
  KernelCounters k;
  k.block[0] = 256;
  k.launches = 1;
  k.blocks = 8ull * gpu.sms;
  const auto sectors = static_cast<uint64_t>(bytes / 32);
  k.global_load.requests = k.global_store.requests = sectors / 4;
  k.global_load.units = k.global_load.ideal_units = sectors;
  k.global_store.units = k.global_store.ideal_units = sectors;
  k.footprint_sectors = 2 * sectors;  // source and destination, each touched once
  return k;
}

// Measured: cuda-samples p2pBandwidthLatencyTest on an HGX H100 SXM (80 GB HBM3), the
// "Unidirectional P2P=Disabled Bandwidth Matrix" diagonal (a copy within one GPU of
// 40,000,000 ints, read + write counted): 2474.76 to 2514.71 GB/s over the 8 GPUs, GPU 0
// 2474.76 GB/s. Published in github.com/NVIDIA/nccl issue 1264 (2024-04-24). The model's
// copy efficiency comes from a different GPU (A100, cost.cpp [COPY]), so this is a check.
TEST(ProfileCostModel, ProfileModelledDeviceCopyMatchesPublishedH100Measurement) {
  const GpuSpec& h100 = gpu_spec("h100");
  const double bytes = 40e6 * 4;
  const KernelCounters k = device_copy(bytes, h100);
  const ModelledTime t = model_kernel(h100, k, occupancy(h100, 256, 0, 0, k.blocks));
  EXPECT_EQ(t.bound, "memory");
  const double modelled_gbps = 2 * bytes / (t.total_us * 1e3);
  const double measured_gbps = 2474.76;
  EXPECT_LE(std::abs(modelled_gbps - measured_gbps) / measured_gbps, 0.20)
      << "modelled " << modelled_gbps << " GB/s vs measured " << measured_gbps << " GB/s";
}

// Measured: 5,000 back-to-back launches of an empty kernel <<<1, 1>>> then one
// synchronize take 2.7 us per launch on an A100 (the "async" reference of
// ReFrame's CSCS gpu_kernel_latency_check for the ault:amda100 nodes,
// github.com/reframe-hpc/reframe cscs-checks/microbenchmarks/gpu/kernel_latency/
// kernel_latency.py; the kernel and its timing loop in hpctestlib/microbenchmarks/
// gpu/kernel_latency/src/kernel_latency.cu). The model's empty kernel is launch
// bound and costs its launch; so does a 5,000-launch row.
TEST(ProfileCostModel, ProfileEmptyKernelMatchesPublishedA100LaunchMeasurement) {
  const double measured_us = 2.7;
  for (const char* name : {"a100", "h100"}) {  // the H100 takes the A100's figure (cost.cpp [LAUNCH])
    const GpuSpec& gpu = gpu_spec(name);
    KernelCounters k;
    k.block[0] = 1;
    k.launches = 5000;
    k.blocks = 5000;
    const ModelledTime t = model_kernel(gpu, k, occupancy(gpu, 1, 0, 0, 1));
    EXPECT_EQ(t.bound, "launch") << name;
    const double per_launch = t.total_us / 5000;
    EXPECT_LE(std::abs(per_launch - measured_us) / measured_us, 0.20) << name << ": modelled " << per_launch;
  }
}

// Measured: about 1.3 us per kernel on an H100 with CUDA graphs (Hazy Research,
// "Look Ma, No Bubbles!", 2025-05-27, hazyresearch.stanford.edu/blog/
// 2025-05-27-no-bubbles). A graph of empty kernels costs its nodes.
TEST(ProfileCostModel, ProfileGraphNodeMatchesPublishedH100Measurement) {
  const double measured_us = 1.3;
  EXPECT_LE(std::abs(gpu_spec("h100").graph_node_us - measured_us) / measured_us, 0.20);
  EXPECT_LT(gpu_spec("h100").graph_node_us, gpu_spec("h100").launch_us);  // what replay is for
}

// A kernel that reads a data set of `distinct` bytes `passes` times over,
// coalesced (the gpu-l2-cache pattern: every block re-reads the same buffer).
KernelCounters rereads(double distinct, int passes) {
  KernelCounters k;
  k.block[0] = 1024;
  k.launches = 1;
  k.blocks = 100000;
  const auto sectors = static_cast<uint64_t>(distinct / 32);
  k.global_load.requests = sectors * passes / 4;
  k.global_load.units = k.global_load.ideal_units = sectors * passes;
  k.footprint_sectors = sectors;
  return k;
}

// Measured: gpu-benches "gpu-l2-cache" (github.com/te42kyfo/gpu-benches,
// gpu-l2-cache/a100_80.txt): an A100 80 GB reads a 16,896 kB data set that
// lives in L2 at 5447.7 GB/s. The modelled kernel moves its bytes at L2 speed.
TEST(ProfileCostModel, ProfileL2ResidentRereadsMatchPublishedA100Measurement) {
  const GpuSpec& a100 = gpu_spec("a100");
  const double distinct = 16896.0 * 1024, measured_gbps = 5447.7;
  const KernelCounters k = rereads(distinct, 1000);
  const ModelledTime t = model_kernel(a100, k, occupancy(a100, 1024, 0, 0, k.blocks));
  EXPECT_TRUE(t.l2_resident);
  EXPECT_EQ(t.bound, "memory");
  const double modelled_gbps = static_cast<double>(k.global_bytes()) / (t.memory_us * 1e3);
  EXPECT_LE(std::abs(modelled_gbps - measured_gbps) / measured_gbps, 0.20) << "modelled " << modelled_gbps;
}

// The boundary, worked by hand on the H100 (50 MiB of L2): a working set of
// exactly the L2 re-read 8 times moves at L2 speed (6900 GB/s), no faster than
// its distinct bytes come from HBM once (3350 x 0.744 GB/s); one sector more
// and every byte is charged at HBM speed.
TEST(ProfileCostModel, ProfileL2ResidentCaseEndsAtTheL2Size) {
  const GpuSpec& h100 = gpu_spec("h100");
  const double l2 = 50.0 * 1024 * 1024, hbm = 3350 * (1157.5 / 1555) * 1e3, l2bw = 6900e3;  // bytes per us
  EXPECT_DOUBLE_EQ(l2_bytes(h100), l2);
  KernelCounters k = rereads(l2, 8);
  ModelledTime t = model_kernel(h100, k, occupancy(h100, 1024, 0, 0, k.blocks));
  EXPECT_TRUE(t.l2_resident);
  EXPECT_NEAR(t.memory_us, std::max(l2 / hbm, 8 * l2 / l2bw), 1e-9);
  EXPECT_NEAR(t.memory_us, 8 * l2 / l2bw, 1e-9);  // 60.8 us at L2 speed against 21.0 us of first touches
  k = rereads(l2 + 32, 8);
  t = model_kernel(h100, k, occupancy(h100, 1024, 0, 0, k.blocks));
  EXPECT_FALSE(t.l2_resident);
  EXPECT_NEAR(t.memory_us, 8 * (l2 + 32) / hbm, 1e-6);
  // 64 passes over 1 MiB: L2 bound; the same bytes over 64 MiB distinct: HBM bound.
  k = rereads(1 << 20, 64);
  t = model_kernel(h100, k, occupancy(h100, 1024, 0, 0, k.blocks));
  EXPECT_TRUE(t.l2_resident);
  EXPECT_NEAR(t.memory_us, 64.0 * (1 << 20) / l2bw, 1e-9);
  k = rereads(64.0 * (1 << 20), 1);
  t = model_kernel(h100, k, occupancy(h100, 1024, 0, 0, k.blocks));
  EXPECT_FALSE(t.l2_resident);
  EXPECT_NEAR(t.memory_us, 64.0 * (1 << 20) / hbm, 1e-6);
  // Counters without a footprint (unknown) are charged at HBM speed.
  k.footprint_sectors = 0;
  EXPECT_FALSE(model_kernel(h100, k, occupancy(h100, 1024, 0, 0, k.blocks)).l2_resident);
}

// The GEMM's block: 256 threads (8 warps), 2 x 32 x 33 floats of shared memory.
TEST(ProfileCostModel, ProfileOccupancyByHand) {
  const GpuSpec& h100 = gpu_spec("h100");
  const std::size_t smem = 2 * 32 * 33 * 4;
  // Threads: 64 warps / 8 = 8 blocks; shared memory: 233,472 / (8,448 + 1,024) = 24 blocks.
  Occupancy o = occupancy(h100, 256, smem, 0, 1056);
  EXPECT_EQ(o.blocks_per_sm, 8);
  EXPECT_EQ(o.limit, "threads");
  EXPECT_DOUBLE_EQ(o.fraction, 1.0);
  EXPECT_DOUBLE_EQ(o.waves, 1056.0 / (8 * 132));
  EXPECT_FALSE(o.registers_known);
  // 64 registers: 2,048 per warp, 16,384 per block: 65,536 / 16,384 = 4 blocks.
  o = occupancy(h100, 256, smem, 64, 1056);
  EXPECT_EQ(o.blocks_per_sm, 4);
  EXPECT_EQ(o.limit, "registers");
  EXPECT_DOUBLE_EQ(o.fraction, 0.5);
  // 40 KiB of dynamic shared memory on an A100: 167,936 / (40,960 + 8,448 + 1,024) = 3 blocks.
  o = occupancy(gpu_spec("a100"), 256, smem + 40 * 1024, 0, 1);
  EXPECT_EQ(o.blocks_per_sm, 3);
  EXPECT_EQ(o.limit, "shared memory");
}

// Compute time: the busiest SM's flops at its share of the FP32 peak, and one
// block more than the SMs doubles it (wave quantization).
TEST(ProfileCostModel, ProfileComputeTimeQuantizesWaves) {
  const GpuSpec& h100 = gpu_spec("h100");
  KernelCounters k;
  k.block[0] = 256;
  k.launches = 1;
  k.blocks = 132;
  k.flops = 132ull * 1000000;  // 1e6 per block
  const double per_sm_us = 1e6 / (67e6 / 132);
  ModelledTime t = model_kernel(h100, k, occupancy(h100, 256, 0, 0, k.blocks));
  EXPECT_NEAR(t.compute_us, per_sm_us, 1e-9);
  EXPECT_EQ(t.bound, "launch");  // 1.97 us of work against a 2.7 us launch
  k.blocks = 133;
  k.flops = 133ull * 1000000;
  t = model_kernel(h100, k, occupancy(h100, 256, 0, 0, k.blocks));
  EXPECT_NEAR(t.compute_us, 2 * per_sm_us, 1e-9);
  EXPECT_THROW(gpu_spec("v100"), Error);
}

// The tensor-core term, by hand: 132 blocks of 4 warps (one per SM), each block
// 1e6 FP32 flops and 6272 x 4096 tensor flops (the first forward GEMM of model A
// at tf32: 4 blocks x 49 K tiles x 32 MMAs, here spread over every SM). FP32 at
// 67 TFLOPS, tensor flops at the TF32 dense datasheet peak (494.7 TFLOPS H100,
// 156 A100; cost.cpp [DS-H100] / [DS-A100]), both on the busiest SM's share; the
// times add. tf32x3's three MMAs per product triple the tensor time.
TEST(ProfileCostModel, ProfileTensorFlopsAddAtTheTf32DensePeak) {
  const double tensor_per_block = 6272.0 * 2 * 16 * 16 * 8;  // 25,690,112
  for (const auto& [name, fp32, tf32] : {std::tuple{"h100", 67.0, 494.7}, std::tuple{"a100", 19.5, 156.0}}) {
    SCOPED_TRACE(name);
    const GpuSpec& gpu = gpu_spec(name);
    EXPECT_DOUBLE_EQ(gpu.tf32_tflops, tf32);
    KernelCounters k;
    k.block[0] = 128;
    k.launches = 1;
    k.blocks = static_cast<uint64_t>(gpu.sms);
    k.flops = k.blocks * 1000000;
    k.tensor_flops = k.blocks * static_cast<uint64_t>(tensor_per_block);
    const double fp32_us = 1e6 / (fp32 * 1e6 / gpu.sms), tensor_us = tensor_per_block / (tf32 * 1e6 / gpu.sms);
    ModelledTime t = model_kernel(gpu, k, occupancy(gpu, 128, 0, 0, k.blocks));
    EXPECT_NEAR(t.tensor_us, tensor_us, 1e-9);
    EXPECT_NEAR(t.compute_us, fp32_us + tensor_us, 1e-9);
    EXPECT_EQ(t.bound, "compute");  // 8.8 us (H100) of work against a 2.7 us launch
    EXPECT_NEAR(t.total_us, fp32_us + tensor_us + gpu.launch_us, 1e-9);
    k.tensor_flops *= 3;  // tf32x3
    t = model_kernel(gpu, k, occupancy(gpu, 128, 0, 0, k.blocks));
    EXPECT_NEAR(t.compute_us, fp32_us + 3 * tensor_us, 1e-9);
    // A block of one warp issues from one of the SM's 4 schedulers: a quarter of the rate.
    k.block[0] = 32;
    t = model_kernel(gpu, k, occupancy(gpu, 32, 0, 0, k.blocks));
    EXPECT_NEAR(t.compute_us, 4 * (fp32_us + 3 * tensor_us), 1e-9);
  }
}

}  // namespace
}  // namespace cumlp::bench
