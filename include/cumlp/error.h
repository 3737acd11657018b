// cumlp::Error — the one exception type the library throws.
//
// Every failure the library detects (bad shapes, bad hyper-parameters, malformed
// files, unavailable devices, CUDA errors, non-finite losses) is reported by
// throwing cumlp::Error. what() is one line: "<message> (<file>:<line>)" where
// file:line is the place in the library that detected the problem. The library
// never calls exit() or abort() on bad input.
#pragma once

#include <stdexcept>
#include <string>

#include "cumlp/export.h"

namespace cumlp {

class CUMLP_API Error : public std::runtime_error {
 public:
  /// message: what was wrong and where (a file name, a flag, a layer index).
  /// file, line: the library source location that detected it (may be null/0).
  Error(const std::string& message, const char* file = nullptr, int line = 0);
  ~Error() override;

  /// The message without the source location.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

}  // namespace cumlp
