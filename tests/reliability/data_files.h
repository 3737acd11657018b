// Small synthetic dataset files for the reliability tests: valid MNIST-style
// IDX folders, CIFAR-10 batches and digits-style CSV tables that train in a
// fraction of a second, which the tests then damage one defect at a time.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace cumlp::reliability {

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

/// IDX image file: n images of rows x cols unsigned bytes (a deterministic pattern).
inline std::string idx_images(uint32_t n, uint32_t rows = 28, uint32_t cols = 28) {
  std::string s = be32(0x803) + be32(n) + be32(rows) + be32(cols);
  for (uint64_t i = 0; i < uint64_t{n} * rows * cols; ++i) s.push_back(static_cast<char>((i * 37) % 256));
  return s;
}

/// IDX label file: n labels 0..9 cycling.
inline std::string idx_labels(uint32_t n) {
  std::string s = be32(0x801) + be32(n);
  for (uint32_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i % 10));
  return s;
}

/// A folder with the four MNIST files (train: n, test: n / 4).
inline void write_mnist_dir(const std::string& dir, uint32_t n = 200) {
  write_bytes(dir + "/train-images-idx3-ubyte", idx_images(n));
  write_bytes(dir + "/train-labels-idx1-ubyte", idx_labels(n));
  write_bytes(dir + "/t10k-images-idx3-ubyte", idx_images(n / 4));
  write_bytes(dir + "/t10k-labels-idx1-ubyte", idx_labels(n / 4));
}

/// CIFAR-10 binary batch of n records.
inline std::string cifar_batch(int n) {
  std::string s;
  for (int r = 0; r < n; ++r) {
    s.push_back(static_cast<char>(r % 10));
    for (int p = 0; p < 3072; ++p) s.push_back(static_cast<char>((r * 31 + p) % 256));
  }
  return s;
}

inline void write_cifar_dir(const std::string& dir, int per_batch = 10) {
  for (int i = 1; i <= 5; ++i) write_bytes(dir + "/data_batch_" + std::to_string(i) + ".bin", cifar_batch(per_batch));
  write_bytes(dir + "/test_batch.bin", cifar_batch(per_batch));
}

/// A digits-like table: n rows of 64 features in 0..16 and a label 0..9 last.
inline std::string digits_csv(int n) {
  std::string s;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < 64; ++c) s += std::to_string((r * 7 + c * 3) % 17) + ",";
    s += std::to_string(r % 10) + "\n";
  }
  return s;
}

}  // namespace cumlp::reliability
