// `cumlp bench --device cpu --quick --json`: one JSON object with the
// kernels (each validated against the reference, with its figures) and the
// training steps of the seed models A-D (positive figures, counters present).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace {

// stdout of the CLI with args; status receives the exit code.
std::string run_cli(const std::string& args, int& status) {
  const std::string cmd = std::string("'") + CUMLP_CLI_PATH + "' " + args + " 2>/dev/null";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  status = pclose(pipe);
  return out;
}

void expect_positive(const nlohmann::json& j, const char* key) {
  ASSERT_TRUE(j.contains(key) && j[key].is_number()) << "missing number '" << key << "' in " << j.dump();
  EXPECT_GT(j[key].get<double>(), 0) << key << " in " << j.dump();
}

class BenchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    int status = -1;
    const std::string out = run_cli("bench --device cpu --quick --json", status);
    ASSERT_EQ(status, 0) << out;
    report_ = nlohmann::json::parse(out);  // throws (and fails) unless stdout is one JSON object
  }
  static nlohmann::json report_;
};
nlohmann::json BenchCli::report_;

TEST_F(BenchCli, PeakIsMeasured) {
  ASSERT_TRUE(report_.contains("peak")) << report_.dump();
  for (const char* k : {"bandwidth_gbps", "gflops", "launch_us"}) expect_positive(report_["peak"], k);
  EXPECT_EQ(report_["device"], "cpu");
}

TEST_F(BenchCli, EveryKernelValidatedAndTimed) {
  ASSERT_TRUE(report_.contains("kernels") && report_["kernels"].is_array());
  std::set<std::string> ops;
  for (const auto& k : report_["kernels"]) {
    ASSERT_TRUE(k.contains("validated") && k["validated"].is_boolean()) << k.dump();
    EXPECT_TRUE(k["validated"].get<bool>()) << k.dump();
    for (const char* key : {"median_us", "p10_us", "p90_us", "bytes", "gbps", "percent_of_peak"}) expect_positive(k, key);
    EXPECT_LE(k["p10_us"].get<double>(), k["median_us"].get<double>());
    EXPECT_LE(k["median_us"].get<double>(), k["p90_us"].get<double>());
    const std::string name = k["name"].get<std::string>();  // the op table's row: "<op> <what>"
    ops.insert(name.substr(0, name.find(' ')));
  }
  // The ops of a training step at the seed models' shapes: the first layer's weight gradient, both
  // gradients as one op (linear_backward) for the others, the output layer with the loss fused
  // (linear_loss_forward); linear_backward_data is a small-shape row only.
  EXPECT_EQ(ops, (std::set<std::string>{"linear_act_forward", "linear_backward", "linear_backward_weight",
                                        "linear_loss_forward", "loss", "optimizer"}));
}

TEST_F(BenchCli, FourSeedModelsWithPositiveFigures) {
  ASSERT_TRUE(report_.contains("steps") && report_["steps"].is_array());
  std::set<std::string> models;
  for (const auto& s : report_["steps"]) {
    ASSERT_TRUE(s.contains("model") && s["model"].is_string()) << s.dump();
    models.insert(s["model"].get<std::string>());
    for (const char* key : {"us_per_step", "samples_per_second", "launches_per_step", "peak_memory_bytes",
                            "roofline_floor_us", "flops_per_step", "bytes_per_step"})
      expect_positive(s, key);
    // Counted, not asserted to a value: present and non-negative.
    for (const char* key : {"host_syncs_per_step", "allocations_per_step", "host_allocations_per_step"}) {
      ASSERT_TRUE(s.contains(key) && s[key].is_number()) << key << " in " << s.dump();
      EXPECT_GE(s[key].get<double>(), 0) << key;
    }
  }
  EXPECT_EQ(models, (std::set<std::string>{"A", "B", "C", "D"}));
}

TEST(BenchCliErrors, UnknownModelIsOneLineError) {
  int status = 0;
  const std::string out = run_cli("bench --device cpu --quick --models E", status);
  EXPECT_NE(status, 0);
  EXPECT_TRUE(out.empty()) << out;
}

}  // namespace
