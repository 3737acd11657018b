// The cumlp binary as users run it (SPEC §4): `--json` prints exactly one
// JSON object on stdout, and bad input exits non-zero with a single line
// "error: ..." on stderr and nothing on stdout.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/common/cli_run.h"

namespace {

using cumlp::test::CliRun;
using cumlp::test::run_cli;
using cumlp::test::run_json;

// |got - want| <= tol, with the key named on failure; a missing or
// non-numeric key is a failure too.
void expect_number(const nlohmann::json& j, const std::string& key, double want, double tol) {
  ASSERT_TRUE(j.contains(key) && j[key].is_number()) << "missing number '" << key << "' in " << j.dump();
  const double got = j[key].get<double>();
  ASSERT_TRUE(std::isfinite(got)) << key;
  EXPECT_LE(std::fabs(got - want), tol) << key << ": got " << got << " expected " << want;
}

TEST(Cli, InfoJson) {
  const nlohmann::json j = run_json("--json info");
  ASSERT_TRUE(j.contains("version") && j["version"].is_string());
  EXPECT_FALSE(j["version"].get<std::string>().empty());
  ASSERT_TRUE(j.contains("cuda_compiled") && j["cuda_compiled"].is_boolean());
  ASSERT_TRUE(j.contains("devices") && j["devices"].is_array());
  ASSERT_FALSE(j["devices"].empty());
  bool has_cpu = false;
  for (const auto& d : j["devices"]) {
    ASSERT_TRUE(d.is_object() && d.contains("name") && d["name"].is_string()) << d.dump();
    has_cpu |= d["name"] == "cpu";
  }
  EXPECT_TRUE(has_cpu) << j.dump();
  // The communicator kinds, from the registry: nccl (cuda ranks), then mpi (cpu and sim ranks).
  ASSERT_TRUE(j.contains("communicators") && j["communicators"].is_array()) << j.dump();
  ASSERT_EQ(j["communicators"].size(), 2u) << j.dump();
  EXPECT_EQ(j["communicators"][0].get<std::string>().rfind("nccl: ", 0), 0u) << j.dump();
  EXPECT_EQ(j["communicators"][1].get<std::string>().rfind("mpi: ", 0), 0u) << j.dump();
}

// SPEC §2 experiment 1: the notes print 8 decimals, so 1e-8 (rounding <= 5e-9).
TEST(Cli, DemoBackpropMatchesTheNotes) {
  const nlohmann::json j = run_json("demo backprop --json");
  constexpr double tol = 1e-8;
  expect_number(j, "h1", 0.51998934, tol);
  expect_number(j, "h2", 0.52747230, tol);
  expect_number(j, "o1", 0.60944600, tol);
  expect_number(j, "o2", 0.66384491, tol);
  expect_number(j, "loss_before", 0.02397190, tol);
  expect_number(j, "loss_after", 0.02323634, tol);
  ASSERT_TRUE(j.contains("weights_after") && j["weights_after"].is_object()) << j.dump();
  const double w[8] = {0.29959556, 0.24919112, 0.39964496, 0.34928991, 0.43703857, 0.38685205, 0.69629578, 0.59624247};
  for (int i = 0; i < 8; ++i) expect_number(j["weights_after"], "W" + std::to_string(i + 1), w[i], tol);
}

void check_xor_report(const nlohmann::json& j) {
  ASSERT_TRUE(j.contains("loss") && j["loss"].is_number()) << j.dump();
  ASSERT_TRUE(j.contains("accuracy") && j["accuracy"].is_number()) << j.dump();
  ASSERT_TRUE(j.contains("predictions") && j["predictions"].is_array() && j["predictions"].size() == 4) << j.dump();
}

TEST(Cli, DemoXorSingleFails) {
  const nlohmann::json j = run_json("demo xor-single --json");
  check_xor_report(j);
  EXPECT_LE(j["accuracy"].get<double>(), 0.75) << "one linear layer cannot learn XOR";
}

TEST(Cli, DemoXorMlpLearns) {
  const nlohmann::json j = run_json("demo xor --json");
  check_xor_report(j);
  EXPECT_EQ(j["predictions"], nlohmann::json({0, 1, 1, 0})) << j.dump();
  EXPECT_EQ(j["accuracy"].get<double>(), 1.0);
}

TEST(Cli, DemoGates) {
  const nlohmann::json j = run_json("demo gates --json");
  ASSERT_TRUE(j.contains("gates") && j["gates"].is_object()) << j.dump();
  const std::pair<const char*, std::array<int, 4>> tables[] = {
      {"AND", {0, 0, 0, 1}}, {"NAND", {1, 1, 1, 0}}, {"OR", {0, 1, 1, 1}}, {"XOR", {0, 1, 1, 0}}};
  for (const auto& [name, want] : tables) {
    ASSERT_TRUE(j["gates"].contains(name)) << name;
    const auto& rows = j["gates"][name];
    ASSERT_EQ(rows.size(), 4u) << name;
    for (int i = 0; i < 4; ++i) {
      // Rows are [x1, x2, output] in the order 00, 01, 10, 11.
      EXPECT_EQ(rows[i][0].get<int>(), i / 2) << name;
      EXPECT_EQ(rows[i][1].get<int>(), i % 2) << name;
      EXPECT_EQ(rows[i][2].get<int>(), want[static_cast<std::size_t>(i)]) << name << " row " << i;
    }
  }
  ASSERT_TRUE(j.contains("perceptron")) << j.dump();
  for (const char* name : {"AND", "OR"}) {
    const auto& p = j["perceptron"][name];
    EXPECT_EQ(p["learned"], true) << name << ": " << p.dump();
    EXPECT_EQ(p["errors_per_epoch"].back().get<int>(), 0) << name;
  }
}

// Bad input: non-zero exit, exactly one line starting "error:" on stderr,
// nothing on stdout (even with --json).
void expect_only_error_line(const std::string& args, const std::string& mention) {
  SCOPED_TRACE("cumlp " + args);
  const CliRun r = run_cli(args);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out, "") << "stdout must stay empty";
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("error:", 0), 0u) << r.err;
  const std::size_t nl = r.err.find('\n');
  EXPECT_TRUE(nl == std::string::npos || nl == r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
}

TEST(Cli, BadInputIsOneErrorLine) {
  // An unknown command word is named in the message.
  expect_only_error_line("--json frobnicate", "unknown command 'frobnicate'");
  expect_only_error_line("frobnicate", "unknown command 'frobnicate'");
  expect_only_error_line("--json", "subcommand");
  expect_only_error_line("--json demo backprop --device bogus", "bogus");
  expect_only_error_line("--json demo backprop --dtype f16", "f16");
  expect_only_error_line("demo xor --dtype f16", "f16");
  expect_only_error_line("--json demo backprop --device sim", "sim");
  expect_only_error_line("--json demo nosuchdemo", "unknown command 'nosuchdemo' for 'cumlp demo'");
  expect_only_error_line("--json demo xor --steps 0", "steps");
}

}  // namespace
