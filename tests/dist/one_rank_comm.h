// The base of the dist tests' fake communicators: one rank, whose host sum is
// the values themselves (counted) and whose start-up checks pass.
#pragma once

#include <span>
#include <string>

#include "cumlp/dist.h"

namespace cumlp {

class OneRankComm : public Communicator {
 public:
  std::string kind() const override { return "fake"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  double timeout_seconds() const override { return 1; }
  void sum(std::span<double>) override { ++host_sums; }
  void check_same(uint64_t, const std::string&) override {}
  void abandon() noexcept override {}
  int host_sums = 0;
};

}  // namespace cumlp
