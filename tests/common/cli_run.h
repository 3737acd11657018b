// Helpers of the CLI-level tests (tests/cli, tests/train): the cumlp binary run as a child
// process (as users run it), a scratch folder per test, and the checks the
// CLI contract (SPEC §4) repeats: one JSON object on stdout with --json, one
// "error: ..." line on stderr for bad input.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cumlp/train.h"
#include "tests/common/scratch.h"

namespace cumlp::test {

inline const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";
inline const std::string kDigitsCsv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

inline bool fashion_present() {
  return std::filesystem::exists(kFashionDir + "/train-images-idx3-ubyte.gz") &&
         std::filesystem::exists(kFashionDir + "/t10k-images-idx3-ubyte.gz");
}
inline bool digits_present() { return std::filesystem::exists(kDigitsCsv); }

#define CUMLP_REQUIRE_FASHION()                                                                          \
  if (!::cumlp::test::fashion_present())                                                                 \
  GTEST_SKIP() << ::cumlp::test::kFashionDir << " absent (Debian package dataset-fashion-mnist)"
#define CUMLP_REQUIRE_DIGITS()                                                                           \
  if (!::cumlp::test::digits_present())                                                                  \
  GTEST_SKIP() << ::cumlp::test::kDigitsCsv << " absent (Debian package python3-sklearn)"

struct CliRun {
  int status = -1;  // exit code; -1 if killed by a signal
  std::string out, err;
};


/// Runs the cumlp binary with args (a shell-safe string): stdout through
/// popen, stderr through a temporary file (named per process and call, so
/// parallel ctest runs do not collide).
inline CliRun run_cli(const std::string& args) {
  static int counter = 0;
  const std::string err_path =
      ::testing::TempDir() + "cumlp_train_stderr_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  const std::string cmd = std::string("'") + CUMLP_CLI_PATH + "' " + args + " 2>'" + err_path + "'";
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = read_text(err_path);
  std::remove(err_path.c_str());
  return r;
}

/// Runs a command that must succeed and print one JSON object.
inline nlohmann::json run_json(const std::string& args) {
  const CliRun r = run_cli(args);
  EXPECT_EQ(r.status, 0) << "cumlp " << args << "\nstderr: " << r.err;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cumlp " << args << ": stdout is not one JSON object (" << e.what() << "):\n" << r.out;
  }
  EXPECT_TRUE(j.is_object()) << r.out;
  return j;
}

/// Bad input: non-zero exit, nothing on stdout, exactly one stderr line
/// starting "error:" that mentions `mention` (progress and the "training ..."
/// line may precede it: they are human text, not errors).
inline void expect_cli_error(const std::string& args, const std::string& mention) {
  SCOPED_TRACE("cumlp " + args);
  const CliRun r = run_cli(args);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, -1) << "killed by a signal (crash)";
  EXPECT_EQ(r.out, "") << "stdout must stay empty";
  std::istringstream lines(r.err);
  std::vector<std::string> errors;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("error:", 0) == 0) errors.push_back(line);
  ASSERT_EQ(errors.size(), 1u) << "stderr:\n" << r.err;
  EXPECT_NE(errors[0].find(mention), std::string::npos) << errors[0];
}

/// True if the file starts with the 8-byte PNG signature.
inline bool is_png(const std::string& path) {
  const std::string s = read_text(path);
  return s.size() > 8 && s.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}


/// The tensors a checkpoint stores for the model: parameters in the flat
/// layout (weights and biases of every Linear layer), as written.
inline std::vector<float> model_parameters(const std::string& path) {
  const Network net = load_network(path, NetworkOptions{Device::parse("cpu")});
  const Tensor p = net.parameters();
  const float* f = p.data<float>();
  return std::vector<float>(f, f + p.numel());
}

/// Bitwise equality of two float vectors (so -0 vs 0 and NaN payloads count).
inline ::testing::AssertionResult bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "first difference at [" << i << "]: " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

}  // namespace cumlp::test
