#include "host/plot/atomic_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "host/check.h"

namespace cumlp::plot_detail {

AtomicOutput::AtomicOutput(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  CUMLP_CHECK(!path_.empty(), "picture path is empty");
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicOutput::commit() {
  std::error_code ec;
  const auto size = std::filesystem::file_size(tmp_, ec);
  CUMLP_CHECK(!ec && size > 0, "writing ", path_, ": no picture was produced");
  CUMLP_CHECK(std::rename(tmp_.c_str(), path_.c_str()) == 0, "cannot rename ", tmp_, " to ", path_,
              ": ", std::strerror(errno));
  committed_ = true;
}

}  // namespace cumlp::plot_detail
