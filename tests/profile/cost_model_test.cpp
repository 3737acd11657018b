// The cost model against published measurements (each cited where it is
// used), and its occupancy and bound arithmetic worked by hand.
#include <gtest/gtest.h>

#include <cmath>

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

// An empty kernel costs its launch and nothing else, and says so.
TEST(ProfileCostModel, ProfileEmptyKernelIsLaunchBound) {
  for (const char* name : {"h100", "a100"}) {
    const GpuSpec& gpu = gpu_spec(name);
    KernelCounters k;
    k.block[0] = 32;
    k.launches = 1;
    k.blocks = 1;
    const ModelledTime t = model_kernel(gpu, k, occupancy(gpu, 32, 0, 0, 1));
    EXPECT_EQ(t.bound, "launch") << name;
    EXPECT_DOUBLE_EQ(t.total_us, gpu.launch_us) << name;
  }
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
  EXPECT_EQ(t.bound, "launch");  // 1.97 us of work against a 3 us launch
  k.blocks = 133;
  k.flops = 133ull * 1000000;
  t = model_kernel(h100, k, occupancy(h100, 256, 0, 0, k.blocks));
  EXPECT_NEAR(t.compute_us, 2 * per_sm_us, 1e-9);
  EXPECT_THROW(gpu_spec("v100"), Error);
}

}  // namespace
}  // namespace cumlp::bench
