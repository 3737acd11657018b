#include "host/io/atomic_file.h"

#include "cumlp/files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "host/shared/error_macros.h"

namespace cumlp::io {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& step, int err) {
  // system_category().message is the strerror text, without strerror's shared buffer.
  CUMLP_THROW("cannot write '", path, "': ", step, ": ", std::system_category().message(err));
}

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Temporaries "<target>.tmp.<pid>" left by a writer that was killed (SIGKILL,
// power loss) before it could remove its own: removed by the next write of the
// same target. A pid that is alive (another process writing now) is left alone.
void remove_stale_temporaries(const std::string& target) {
  const std::string folder = folder_of(target);
  const std::string prefix = target.substr(target.find_last_of('/') + 1) + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (!std::all_of(pid_text.begin(), pid_text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        pid_text.size() > 9)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(it->path(), ec);
  }
}

// Owns the temporary file until commit(); destroying it uncommitted removes the
// temporary, which is what keeps failed writes from leaving debris behind.
class TempFile {
 public:
  explicit TempFile(const std::string& target)
      : target_(target), tmp_(target + ".tmp." + std::to_string(::getpid())) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) fail(target_, "cannot create temporary '" + tmp_ + "'", errno);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }

  void write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      // Bounded chunks: Linux writes at most ~2 GiB per call anyway.
      const ssize_t n = ::write(fd_, bytes.data(), std::min<std::size_t>(bytes.size(), std::size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      // A zero-byte write of a non-empty buffer means the device took nothing: treat it as full.
      if (n <= 0) fail(target_, "write to '" + tmp_ + "' failed", n < 0 ? errno : ENOSPC);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }

  void commit() {
    // Data must be on disk before the rename publishes it, or a crash could leave
    // the new name pointing at an empty file.
    if (::fsync(fd_) != 0) fail(target_, "fsync of '" + tmp_ + "' failed", errno);
    const int fd = fd_;
    fd_ = -1;
    // close can report delayed write errors (e.g. on network file systems).
    if (::close(fd) != 0) fail(target_, "close of '" + tmp_ + "' failed", errno);
    if (::rename(tmp_.c_str(), target_.c_str()) != 0) fail(target_, "rename from '" + tmp_ + "' failed", errno);
    committed_ = true;
    // The rename itself lives in the folder; sync it so the new name survives a crash.
    const std::string folder = folder_of(target_);
    const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) fail(target_, "file replaced, but opening folder '" + folder + "' to sync it failed", errno);
    const int rc = ::fsync(dir);
    const int err = errno;
    ::close(dir);
    if (rc != 0) fail(target_, "file replaced, but fsync of folder '" + folder + "' failed", err);
  }

 private:
  std::string target_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  CUMLP_CHECK(!path.empty(), "cannot write a file with an empty path");
  remove_stale_temporaries(path);
  TempFile tmp(path);
  produce([&tmp](std::span<const std::byte> bytes) { tmp.write(bytes); });
  tmp.commit();
}

void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  write_file_atomically(path, [bytes](const ByteSink& sink) { sink(bytes); });
}

}  // namespace cumlp::io

// The public entry point (include/cumlp/files.h).
namespace cumlp {
void write_file_atomically(const std::string& path, std::string_view contents) {
  io::write_file_atomically(path, std::as_bytes(std::span<const char>(contents.data(), contents.size())));
}
}  // namespace cumlp
