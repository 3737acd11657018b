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
  expect_step(a, "A", 3 + 1 + 2);
  // Each forward GEMM is its own row, keyed by its shape (equal grids once shared one).
  std::set<std::string> forward;
  for (const nlohmann::json& k : a.at("kernels"))
    if (k.at("name") == "linear_act_forward/gemm") forward.insert(k.at("shape").get<std::string>());
  EXPECT_EQ(forward, (std::set<std::string>{"100x100x784", "100x100x100"}));  // the output layer: with the loss
  int fused = 0;
  for (const nlohmann::json& k : a.at("kernels"))
    if (k.at("name") == "linear_loss_forward/gemm") fused += k.at("shape") == "100x10x100" ? 1 : 100;
  EXPECT_EQ(fused, 1);
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
