// File helpers the library uses for its own outputs, offered to programs too.
#pragma once

#include <string>
#include <string_view>

#include "cumlp/export.h"

namespace cumlp {

/// Replaces `path` with `contents` atomically: written to a temporary file in
/// the same folder, flushed to disk, then renamed over `path`. On failure
/// (no space, read-only folder, missing folder) the previous file is left
/// intact, no temporary remains, and Error names the path and the OS reason.
CUMLP_API void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace cumlp
