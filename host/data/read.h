// Internal helpers shared by the dataset loaders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cumlp::data {

/// The whole content of path, gunzipped when it starts with the gzip magic
/// (1f 8b), whatever the file is called. Throws cumlp::Error naming the file
/// if it cannot be read or the gzip stream is corrupt or truncated, or if it
/// would unpack to more than max_unpacked bytes (a "gzip bomb": deflate packs
/// up to ~1000:1); the default is half of this machine's physical memory.
std::vector<uint8_t> read_file(const std::string& path, std::size_t max_unpacked = 0);

/// Throws cumlp::Error "<where>: label L at index i is outside [0, num_classes)"
/// for the first label out of range.
void check_labels(const std::vector<int32_t>& labels, int num_classes, const std::string& where);

}  // namespace cumlp::data
