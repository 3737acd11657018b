// `cumlp profile --device sim --model A|B --json` as CI runs it: every kernel of
// the step counted and modelled, the step total the sum of its kernels, the
// counts the same under another schedule, and the times labelled modelled.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

void expect_step(const nlohmann::json& j, const std::string& model, std::size_t gemm_launches) {
  EXPECT_EQ(j.at("model"), model);
  EXPECT_EQ(j.at("times"), "modelled, not measured");
  const nlohmann::json& kernels = j.at("kernels");
  ASSERT_FALSE(kernels.empty());
  double sum = 0, launch = 0, launches = 0;
  std::size_t gemms = 0;
  std::set<std::string> rows;
  for (const nlohmann::json& k : kernels) {
    SCOPED_TRACE(k.dump());
    // A row is one op at one shape and launch shape; every launcher declares its shape.
    const std::string shape = k.at("shape");
    EXPECT_FALSE(shape.empty());
    EXPECT_TRUE(rows.insert(k.at("name").get<std::string>() + " " + shape + " " + k.at("grid_block").get<std::string>())
                    .second);
    EXPECT_GT(k.at("flops").get<double>(), 0);  // every kernel counts its arithmetic
    EXPECT_EQ(k.at("tensor_flops").get<double>(), 0);  // fp32: no tensor cores
    const std::string level = k.at("memory_level");
    EXPECT_TRUE(level == "L2" || level == "HBM" || level == "mixed") << level;
    EXPECT_GT(k.at("footprint_bytes").get<double>(), 0);
    EXPECT_LE(k.at("footprint_bytes").get<double>(), k.at("global_bytes").get<double>());
    launch += k.at("launch_us").get<double>();
    launches += k.at("launches").get<double>();
    for (const char* key : {"sector_efficiency", "bank_conflicts", "occupancy", "lds_per_fma", "modelled_us", "bound"})
      EXPECT_TRUE(k.contains(key)) << key;
    EXPECT_GT(k.at("modelled_us").get<double>(), 0);
    EXPECT_GT(k.at("global_bytes").get<double>(), 0);
    const double eff = k.at("sector_efficiency");
    EXPECT_TRUE(eff > 0 && eff <= 1);
    const std::string bound = k.at("bound");
    EXPECT_TRUE(bound == "memory" || bound == "smem" || bound == "compute" || bound == "launch") << bound;
    if (k.at("name").get<std::string>().ends_with("/gemm")) {
      gemms += k.at("launches").get<std::size_t>();
      EXPECT_GT(k.at("flops").get<double>(), 0);
      EXPECT_GT(k.at("lds_per_fma").get<double>(), 0);
    }
    sum += k.at("modelled_us").get<double>();
  }
  // Forward per layer, the first layer's weight gradient, one grouped
  // (weight and data gradient) launch for every other layer.
  EXPECT_EQ(gemms, gemm_launches);
  EXPECT_NEAR(j.at("modelled_step_us").get<double>(), sum, 1e-6 * sum);
  // Replayed as a graph, each launch costs a graph node instead (cost.cpp's table: 1.3 and 2.7 us).
  EXPECT_NEAR(j.at("modelled_step_graph_us").get<double>(), sum - launch + 1.3 * launches, 1e-6 * sum);
  EXPECT_NEAR(launch, 2.7 * launches, 1e-9 * launch);
}

TEST(ProfileCli, ProfileModelACountsEveryKernelTheSameUnderAnySchedule) {
  const nlohmann::json a = run_json("--json profile --device sim --model A");
  // A is narrow: the fused step kernel, the grouped weight gradients (its one GEMM launch), the optimizer.
  expect_step(a, "A", 1);
  std::set<std::string> names;
  for (const nlohmann::json& k : a.at("kernels")) names.insert(k.at("name").get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"narrow_step/narrow_step_kernel", "linear_backward_weights/gemm",
                                          "optimizer_step"}));
  // The counts follow from the code and the launch shapes, not the thread order.
  setenv("CUMLP_SIM_SCHEDULE", "reverse", 1);
  const nlohmann::json other = run_json("--json profile --device sim --model A");
  unsetenv("CUMLP_SIM_SCHEDULE");
  EXPECT_EQ(a.at("kernels"), other.at("kernels"));
}

TEST(ProfileCli, ProfileModelBOnA100) {
  const nlohmann::json b = run_json("--json profile --device sim --model B --gpu a100");
  expect_step(b, "B", 7 + 1 + 6);
  EXPECT_EQ(b.at("gpu"), "a100");
  // The output layer's GEMM carries the loss (10 columns): one fused row, no loss kernel.
  int fused = 0, loss_kernels = 0;
  for (const nlohmann::json& k : b.at("kernels")) {
    if (k.at("name") == "linear_loss_forward/gemm") fused += k.at("shape") == "256x10x50" ? 1 : 100;
    if (k.at("name").get<std::string>().starts_with("loss_forward_backward")) ++loss_kernels;
  }
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(loss_kernels, 0);
}

// At --precision tf32 the GEMMs are the WMMA block (cuda/gemm_tf32.cuh) with
// the fp32 kernel's tile rule: A's first forward product, 100 x 100 x 784, is
// 2 x 2 tiles of 64 x 64 split 20 ways over K (blocks of 4 warps, each 2 x 2
// fragments, one MMA step per 8-wide K tile): 98 K tiles x 16 MMAs of
// 2 x 16 x 16 x 8 flops per tile of C. Its compute term is the FP32 flops of
// the epilogue and split sums at the FP32 peak plus the tensor flops at the
// TF32 dense peak (cost.cpp), per block (80 blocks, one per SM). tf32x3 issues
// 3 MMAs per product.
TEST(ProfileCli, ProfileModelATf32CountsTensorFlops) {
  const nlohmann::json a = run_json("--json profile --device sim --model A --precision tf32");
  const nlohmann::json a3 = run_json("--json profile --device sim --model A --precision tf32x3");
  EXPECT_EQ(a.at("precision"), "tf32");
  ASSERT_EQ(a.at("kernels").size(), a3.at("kernels").size());
  double sum = 0;
  std::size_t gemms = 0;
  for (std::size_t i = 0; i < a.at("kernels").size(); ++i) {
    const nlohmann::json& k = a.at("kernels")[i];
    SCOPED_TRACE(k.dump());
    const double tensor = k.at("tensor_flops");
    sum += k.at("modelled_us").get<double>();
    if (!k.at("name").get<std::string>().ends_with("/gemm_tf32")) {
      EXPECT_EQ(tensor, 0);
      continue;
    }
    ++gemms;
    EXPECT_GT(tensor, 0);
    EXPECT_GT(k.at("compute_us").get<double>(), 0);
    EXPECT_EQ(a3.at("kernels")[i].at("tensor_flops").get<double>(), 3 * tensor);
    if (k.at("name") == "linear_act_forward/gemm_tf32" && k.at("shape") == "100x100x784") {
      const double per_tile = 98.0 * 16 * 2 * 16 * 16 * 8;
      EXPECT_EQ(tensor, 4 * per_tile);
      EXPECT_EQ(k.at("blocks_per_launch"), 80);
      const double per_block_fp32 = k.at("flops").get<double>() / 80, per_block_tensor = tensor / 80;
      EXPECT_NEAR(k.at("compute_us").get<double>(), per_block_fp32 / (67e6 / 132) + per_block_tensor / (494.7e6 / 132),
                  1e-9);
    }
  }
  EXPECT_EQ(gemms, 6u);  // 3 forward (the loss fused into the last), 2 grouped backward, the first weight gradient
  EXPECT_NEAR(a.at("modelled_step_us").get<double>(), sum, 1e-6 * sum);
  EXPECT_GT(a3.at("modelled_step_us").get<double>(), a.at("modelled_step_us").get<double>());
}

TEST(ProfileCli, ProfileRefusesOtherDevicesAndUnknownNames) {
  for (const char* args : {"profile --device cpu", "profile --device sim --model E", "profile --device sim --gpu v100"}) {
    const CliRun r = run_cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace cumlp::test
