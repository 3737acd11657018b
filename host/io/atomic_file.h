// Atomic file replacement: readers of `path` see either the old file or the
// complete new one, never a torn write, even if the process dies or the disk fills.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace cumlp::io {

/// Receives the new file's bytes, in order, in as many pieces as the producer likes.
using ByteSink = std::function<void(std::span<const std::byte>)>;

/// Writes the bytes `produce` hands to its sink to path + ".tmp.<pid>" in the same
/// folder, fsyncs it, renames it over `path` and fsyncs the folder. On any failure
/// (including an exception from `produce`) the temporary is removed, the previous
/// file at `path` is left untouched and cumlp::Error is thrown naming `path` and the
/// OS reason. Streaming through a sink lets large checkpoints skip a second copy.
/// The temporary's name is per process, so two threads of one process must not
/// write the same path at the same time.
void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce);

/// Same, for contents already in memory.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes);

}  // namespace cumlp::io
