// Internal error helpers: every check throws cumlp::Error with file:line.
#pragma once

#include <sstream>
#include <string>

#include "cumlp/error.h"

namespace cumlp::detail {

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace cumlp::detail

/// Throw cumlp::Error built from the streamed arguments, tagged with file:line.
#define CUMLP_THROW(...) throw ::cumlp::Error(::cumlp::detail::concat(__VA_ARGS__), __FILE__, __LINE__)

/// Throw cumlp::Error with the streamed message unless cond holds.
#define CUMLP_CHECK(cond, ...) \
  do {                         \
    if (!(cond)) CUMLP_THROW(__VA_ARGS__); \
  } while (0)
