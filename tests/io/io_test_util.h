// Small helpers shared by the io tests: a scratch folder per test and whole-file I/O.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cumlp/error.h"

namespace cumlp::io::test {

// A fresh folder removed at the end of the test; named after the test so leftovers are traceable.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("cumlp-io-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

  // Names of everything in the folder, sorted (to spot leftover temporaries).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write test file " << path;
}

// Runs `write` in a forked child after `restrict` (which returns false if it could
// not apply its restriction) and returns the cumlp::Error message `write` threw, or
// a description of what happened instead. A child process, so that resource limits
// and dropped privileges do not touch the test runner.
inline constexpr const char* kCouldNotRestrict = "could not restrict the child";

inline std::string error_in_child(const std::function<bool()>& restrict, const std::function<void()>& write) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    std::string message = "no exception";
    if (!restrict()) {
      message = kCouldNotRestrict;
    } else {
      try {
        write();
      } catch (const cumlp::Error& e) {
        message = e.what();
      } catch (...) {
        message = "an exception other than cumlp::Error";
      }
    }
    [[maybe_unused]] const ssize_t n = ::write(fds[1], message.data(), message.size());
    ::_exit(0);  // skip atexit handlers and gtest's teardown in the child
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return "child died: " + message;
  return message;
}

// `write` with files capped at `max_file_bytes` and SIGXFSZ ignored, so writes
// fail with EFBIG the way they fail with ENOSPC on a full disk.
inline std::string error_with_file_size_limit(rlim_t max_file_bytes, const std::function<void()>& write) {
  return error_in_child(
      [max_file_bytes] {
        const rlimit limit{max_file_bytes, max_file_bytes};
        return ::signal(SIGXFSZ, SIG_IGN) != SIG_ERR && ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
      },
      write);
}

// `write` unable to create files in `folder`: as root (which ignores permissions)
// by becoming user nobody, who cannot write to the root-owned folder; otherwise by
// making the folder read-only for the duration. nullopt where root cannot drop
// privileges (some containers), so the caller can skip.
inline std::optional<std::string> error_in_read_only_folder(const std::filesystem::path& folder,
                                                            const std::function<void()>& write) {
  std::string message;
  if (::geteuid() == 0) {
    message = error_in_child([] { return ::setgid(65534) == 0 && ::setuid(65534) == 0; }, write);
  } else {
    std::filesystem::permissions(folder, std::filesystem::perms::owner_write, std::filesystem::perm_options::remove);
    message = error_in_child([] { return true; }, write);
    std::filesystem::permissions(folder, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  }
  if (message == kCouldNotRestrict) return std::nullopt;
  return message;
}

}  // namespace cumlp::io::test
