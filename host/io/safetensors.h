// Reading and writing .safetensors checkpoints (https://github.com/huggingface/safetensors):
// 8-byte little-endian header length N, N bytes of JSON (space-padded to a multiple
// of 8), then the tensors' bytes, contiguous, with data_offsets relative to the
// start of that buffer. Files written here open with Python's `safetensors`, and
// files from it read here. This module has its own dtype enum so that it depends
// on nothing but the bytes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "host/shared/error_macros.h"

namespace cumlp::io {

// Tensors are stored little-endian and copied as-is, so a big-endian host would
// need byte swapping that nothing here does.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

enum class StDType { F32, F64, I32, I64, U8 };

/// Bytes per element.
std::size_t dtype_size(StDType dtype);
/// The name used in the file's JSON header ("F32", ...).
std::string_view dtype_name(StDType dtype);

template <class T> constexpr bool is_st_element = false;
template <> inline constexpr bool is_st_element<float> = true;
template <> inline constexpr bool is_st_element<double> = true;
template <> inline constexpr bool is_st_element<std::int32_t> = true;
template <> inline constexpr bool is_st_element<std::int64_t> = true;
template <> inline constexpr bool is_st_element<std::uint8_t> = true;

/// The dtype whose elements are T.
template <class T>
  requires is_st_element<T>
constexpr StDType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return StDType::F32;
  else if constexpr (std::is_same_v<T, double>) return StDType::F64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return StDType::I32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return StDType::I64;
  else return StDType::U8;
}

/// A tensor to write: the caller keeps `bytes` alive during write_safetensors.
struct TensorView {
  std::string name;
  StDType dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;  // product(shape) * dtype_size(dtype) bytes, row-major
};

/// View over typed values; the dtype follows from T.
template <class T>
  requires is_st_element<T>
TensorView tensor_view(std::string name, std::vector<std::int64_t> shape, std::span<const T> values) {
  return {std::move(name), dtype_of<T>(), std::move(shape), std::as_bytes(values)};
}

/// Writes the tensors, in the given order, and the metadata to `path`, atomically
/// (see write_file_atomically). Throws cumlp::Error for an empty, duplicate or
/// reserved ("__metadata__") name, a negative dimension, a byte count that does
/// not match the shape, invalid UTF-8, or any I/O failure.
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata);

/// A tensor read from a file; owns its bytes.
struct StTensor {
  StDType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;

  std::int64_t numel() const { return static_cast<std::int64_t>(bytes.size() / dtype_size(dtype)); }

  /// The elements as T; throws cumlp::Error if T is not the stored dtype.
  template <class T>
    requires is_st_element<T>
  std::vector<T> to_vector() const {
    CUMLP_CHECK(dtype == dtype_of<T>(), "tensor holds ", dtype_name(dtype), ", not ", dtype_name(dtype_of<T>()));
    std::vector<T> out(bytes.size() / sizeof(T));
    // memcpy, not a cast: the byte vector makes no alignment promise for T.
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
};

struct SafetensorsFile {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::map<std::string, StTensor> tensors;

  /// The named tensor; throws cumlp::Error naming the file if it is absent.
  const StTensor& at(const std::string& name) const;
};

/// Reads and fully validates `path` before trusting any size in it. Throws
/// cumlp::Error naming the file and the defect: too short, absurd or overlong
/// header length, invalid JSON, duplicate keys, missing or ill-typed fields,
/// unknown dtype, offsets out of range or inconsistent with shape and dtype,
/// overlapping tensors, gaps or unused bytes in the buffer, non-string metadata.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace cumlp::io
