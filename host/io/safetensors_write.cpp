// Writer side of host/io/safetensors.h, plus the dtype table both sides share.
#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "host/io/atomic_file.h"
#include "host/io/safetensors.h"

namespace cumlp::io {

std::size_t dtype_size(StDType dtype) {
  switch (dtype) {
    case StDType::F32: return 4;
    case StDType::F64: return 8;
    case StDType::I32: return 4;
    case StDType::I64: return 8;
    case StDType::U8: return 1;
  }
  CUMLP_THROW("invalid StDType value ", static_cast<int>(dtype));
}

std::string_view dtype_name(StDType dtype) {
  switch (dtype) {
    case StDType::F32: return "F32";
    case StDType::F64: return "F64";
    case StDType::I32: return "I32";
    case StDType::I64: return "I64";
    case StDType::U8: return "U8";
  }
  CUMLP_THROW("invalid StDType value ", static_cast<int>(dtype));
}

namespace {

// Byte count implied by shape and dtype, or throws if a dimension is negative or
// the product overflows.
std::uint64_t expected_bytes(const std::string& path, const TensorView& t) {
  std::uint64_t n = dtype_size(t.dtype);
  for (const std::int64_t d : t.shape) {
    CUMLP_CHECK(d >= 0, "cannot write '", path, "': tensor '", t.name, "' has negative dimension ", d);
    CUMLP_CHECK(!__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n), "cannot write '", path,
                "': tensor '", t.name, "' is too large (shape product overflows)");
  }
  return n;
}

// The padded JSON header; validates every tensor first so no file is touched for bad input.
std::string make_header(const std::string& path, const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> seen;
  std::uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    CUMLP_CHECK(!t.name.empty(), "cannot write '", path, "': a tensor has an empty name");
    CUMLP_CHECK(t.name != "__metadata__", "cannot write '", path, "': '__metadata__' is reserved, not a tensor name");
    CUMLP_CHECK(seen.insert(t.name).second, "cannot write '", path, "': duplicate tensor name '", t.name, "'");
    const std::uint64_t n = expected_bytes(path, t);
    CUMLP_CHECK(t.bytes.size() == n, "cannot write '", path, "': tensor '", t.name, "' has ", t.bytes.size(),
                " bytes but its shape and dtype ", dtype_name(t.dtype), " need ", n);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    CUMLP_THROW("cannot write '", path, "': a tensor name or metadata string is not valid UTF-8");
  }
  // The format pads with spaces so the buffer starts 8-byte aligned after the length field.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = make_header(path, tensors, metadata);
  std::array<std::byte, 8> length{};
  const std::uint64_t n = header.size();
  std::memcpy(length.data(), &n, sizeof n);  // little-endian host, asserted in the header
  write_file_atomically(path, [&](const ByteSink& sink) {
    sink(length);
    sink(std::as_bytes(std::span(header)));
    for (const TensorView& t : tensors) sink(t.bytes);
  });
}

}  // namespace cumlp::io
