#include "cumlp/error.h"

#include <cstring>

namespace cumlp {

namespace {
std::string with_location(const std::string& message, const char* file, int line) {
  if (!file) return message;
  // Keep the path short: from the project's top folder on (host/..., cuda/...).
  const char* shown = file;
  for (const char* top : {"/host/", "/cuda/", "/tools/", "/include/"}) {
    if (const char* p = std::strstr(file, top)) { shown = p + 1; break; }
  }
  return message + " (" + shown + ":" + std::to_string(line) + ")";
}
}  // namespace

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(with_location(message, file, line)), message_(message) {}

Error::~Error() = default;

}  // namespace cumlp
