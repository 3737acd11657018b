#include "host/dist/file_rendezvous.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {

constexpr const char* kMagic = "cumlp-dist-init 1";

// What a rendezvous file holds.
struct Content {
  std::string job;
  int size = 0;
  std::vector<unsigned char> blob;
};

std::string to_hex(const std::vector<unsigned char>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

bool from_hex(const std::string& s, std::vector<unsigned char>& out) {
  if (s.size() % 2) return false;
  const auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  out.clear();
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

// Parses `text` (a whole file); false when it is not a rendezvous file.
bool parse(const std::string& text, Content& c) {
  std::istringstream in(text);
  std::string magic, key, hex;
  if (!std::getline(in, magic) || magic != kMagic) return false;
  if (!(in >> key) || key != "job" || !(in >> std::ws) || !std::getline(in, c.job)) return false;
  if (!(in >> key >> c.size) || key != "size") return false;
  if (!(in >> key >> hex) || key != "blob") return false;
  return from_hex(hex, c.blob);
}

std::string job_text(const std::string& job) { return job.empty() ? "(none)" : "'" + job + "'"; }

void publish(const std::string& path, const LaunchInfo& l, const std::string& job,
             const std::vector<unsigned char>& blob) {
  // An earlier run's file must not be read by this run's ranks (they check the job key too).
  if (std::remove(path.c_str()) != 0 && errno != ENOENT)
    CUMLP_THROW("--dist-init file:", path, ": rank 0 cannot remove the earlier file: ", std::strerror(errno));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << kMagic << "\njob " << job << "\nsize " << l.size << "\nblob " << to_hex(blob) << "\n";
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      CUMLP_THROW("--dist-init file:", path, ": rank 0 cannot write ", tmp,
                  " (the folder must exist and be writable on every node)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    CUMLP_THROW("--dist-init file:", path, ": rank 0 cannot rename ", tmp, " onto it: ", std::strerror(e));
  }
}

}  // namespace

std::string rendezvous_job_key() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job && *job) {
    const char* step = std::getenv("SLURM_STEP_ID");
    return std::string(job) + "." + (step && *step ? step : "0");
  }
  const char* ns = std::getenv("PMIX_NAMESPACE");
  return ns && *ns ? ns : "";
}

std::vector<unsigned char> rendezvous_through_file(const std::string& path, const LaunchInfo& l,
                                                   const std::string& job, const std::vector<unsigned char>& blob,
                                                   double timeout_seconds) {
  CUMLP_CHECK(!path.empty(), "--dist-init file:PATH needs a path (a file in a folder every rank sees)");
  CUMLP_CHECK(l.size == 1 || !job.empty(), "--dist-init file:", path, " with ", l.size,
              " ranks needs the launcher's job id to tell this run's file from an earlier run's: "
              "set by srun (SLURM_JOB_ID) or a PMIx launcher (PMIX_NAMESPACE)");
  CUMLP_CHECK(job.find('\n') == std::string::npos, "job id with a line break: '", job, "'");
  if (l.rank == 0) {
    publish(path, l, job, blob);
    return blob;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_seconds));
  std::string seen;  // what the last file found was, when not this run's
  for (;;) {
    std::ifstream f(path);
    if (f) {
      std::stringstream text;
      text << f.rdbuf();
      Content c;
      if (!parse(text.str(), c)) seen = "a file that is not a cumlp rendezvous file";
      else if (c.job != job || c.size != l.size)
        seen = "a stale file of another run (job " + job_text(c.job) + ", " + std::to_string(c.size) +
               " ranks; this run is job " + job_text(job) + ", " + std::to_string(l.size) + " ranks)";
      else
        return c.blob;
    }
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (seen.empty())
    throw RankError(detail::concat("rank ", l.rank, ": no file ", path, " from rank 0 within ", timeout_seconds,
                                   " s (--dist-timeout): rank 0 did not start or failed, or the folder is not one "
                                   "every rank sees (--dist-init file:PATH)"), 0, __FILE__, __LINE__);
  throw RankError(detail::concat("rank ", l.rank, ": ", path, " holds ", seen, ", and rank 0 did not replace it within ",
                                 timeout_seconds, " s (--dist-timeout): rank 0 did not start or failed"),
                  0, __FILE__, __LINE__);
}

void remove_rendezvous_file(const std::string& path) noexcept { std::remove(path.c_str()); }

}  // namespace cumlp
