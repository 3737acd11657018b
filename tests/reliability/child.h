// Child processes for the reliability tests: the cumlp binary (or a helper)
// started with fork/exec, output to files, an optional file-size limit, and a
// deadline after which it is killed, so no test can hang on a stuck child.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/scratch.h"

namespace cumlp::reliability {

using test::read_text;
using test::ScratchDir;

struct SpawnOptions {
  long file_size_limit = -1;  // RLIMIT_FSIZE in bytes (SIGXFSZ ignored, so writes fail with EFBIG), -1: none
};

struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
};

struct Outcome {
  bool exited = false;   // exited normally (else killed by a signal)
  int code = -1;         // exit status when exited
  int signal = 0;        // terminating signal when not exited
  bool timed_out = false;
  std::string out, err;
  /// The "error: ..." lines of stderr.
  std::vector<std::string> error_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("error:", 0) == 0) lines.push_back(line);
    return lines;
  }
};

inline Child spawn(const std::vector<std::string>& argv, const std::string& tag, const SpawnOptions& opt = {}) {
  static int counter = 0;
  Child c;
  const std::string base = ::testing::TempDir() + "cumlp_rel_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++) + "_" + tag;
  c.out_path = base + ".out";
  c.err_path = base + ".err";
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    if (!std::freopen(c.out_path.c_str(), "w", stdout) || !std::freopen(c.err_path.c_str(), "w", stderr)) ::_exit(126);
    if (opt.file_size_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // survives exec: an oversized write then fails with EFBIG, like a full disk
      const rlimit lim{static_cast<rlim_t>(opt.file_size_limit), static_cast<rlim_t>(opt.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return c;
}

/// Waits for the child at most timeout_s seconds, then SIGKILLs it.
inline Outcome wait_child(Child& c, double timeout_s = 120) {
  Outcome o;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      o.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  o.exited = WIFEXITED(status);
  o.code = o.exited ? WEXITSTATUS(status) : -1;
  o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  o.out = read_text(c.out_path);
  o.err = read_text(c.err_path);
  std::remove(c.out_path.c_str());
  std::remove(c.err_path.c_str());
  return o;
}

/// Runs `cumlp <args>` to completion (bounded by timeout_s).
inline Outcome run_cumlp(std::vector<std::string> args, const SpawnOptions& opt = {}, double timeout_s = 120) {
  args.insert(args.begin(), CUMLP_CLI_PATH);
  Child c = spawn(args, "cli", opt);
  return wait_child(c, timeout_s);
}

inline std::string join(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

/// Files (recursively) under dir; empty if it does not exist.
inline std::vector<std::string> files_under(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (!e.is_directory()) out.push_back(e.path().string());
  return out;
}

/// The contract for bad input (SPEC §4): a normal exit with a status in
/// [1, 127] (never a signal), nothing on stdout with --json, exactly one
/// stderr line "error: ..." that contains every string in `mentions`.
inline void expect_one_error(const Outcome& o, const std::vector<std::string>& mentions) {
  EXPECT_FALSE(o.timed_out) << "child hung";
  ASSERT_TRUE(o.exited) << "killed by signal " << o.signal << "\nstderr:\n" << o.err;
  EXPECT_GE(o.code, 1);
  EXPECT_LE(o.code, 127);
  EXPECT_EQ(o.out, "") << "stdout must stay empty with --json";
  const std::vector<std::string> lines = o.error_lines();
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << o.err;
  for (const std::string& m : mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << "'" << m << "' not in: " << lines[0];
}

}  // namespace cumlp::reliability
