// Helpers for the data tests: a per-test temporary folder, file writers in
// the real formats, and an expectation on cumlp::Error messages.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cumlp/error.h"

namespace cumlp::test {

using Bytes = std::vector<uint8_t>;

/// A fresh folder per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("cumlp-data-" + std::to_string(getpid()) + "-" + info->test_suite_name() + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Write bytes to dir/name and return the full path.
  std::string write(const std::string& name, const Bytes& bytes) const {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path.string();
  }
  std::string write(const std::string& name, const std::string& text) const {
    return write(name, Bytes(text.begin(), text.end()));
  }

  std::filesystem::path dir_;
};

/// bytes as a gzip file (deflate, gzip wrapper), as `gzip` would write it.
inline Bytes gzip(const Bytes& bytes) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, bytes.size()) + 32);
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
inline Bytes gzip(const std::string& text) { return gzip(Bytes(text.begin(), text.end())); }

inline void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

/// An IDX file of unsigned bytes with the given dimensions and body.
inline Bytes idx(const std::vector<uint32_t>& dims, const Bytes& body) {
  Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

/// Pixel value of image i at position p in the test images: distinct per image.
inline uint8_t pixel(size_t i, size_t p) { return static_cast<uint8_t>((i * 37 + p * 11) % 256); }

/// An IDX image file of n rows x cols images filled with pixel(i, p).
inline Bytes idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  Bytes body(size_t{n} * rows * cols);
  for (size_t i = 0; i < n; ++i)
    for (size_t p = 0; p < size_t{rows} * cols; ++p) body[i * rows * cols + p] = pixel(i, p);
  return idx({n, rows, cols}, body);
}

inline Bytes idx_labels(const Bytes& labels) { return idx({static_cast<uint32_t>(labels.size())}, labels); }

/// Expect fn to throw cumlp::Error whose message contains every one of parts.
inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no cumlp::Error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const cumlp::Error& e) {
    const std::string msg = e.message();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    for (const std::string& part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "message '" << msg << "' lacks '" << part << "'";
  }
}

}  // namespace cumlp::test
