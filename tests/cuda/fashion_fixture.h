// A device-parameterised test suite with Fashion-MNIST's training images
// loaded once per suite (skipped, with the loader's reason, where the data set
// is not installed), and the batches the end-to-end GPU tests train on.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cumlp/data.h"
#include "cumlp/tensor.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {

class OnFashionMnist : public OnDevice {
 protected:
  static void SetUpTestSuite() {
    try {
      data_ = new Dataset(load_mnist_dir("/usr/share/datasets/fashion-mnist", Part::train, ImageSet::fashion_mnist));
    } catch (const Error& e) {
      skip_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    OnDevice::SetUp();
    if (IsSkipped()) return;
    if (!data_) GTEST_SKIP() << "no Fashion-MNIST: " << skip_;
  }
  /// Batch s of `rows` consecutive samples (the first batches of the file):
  /// the pixels scaled to [0, 1] and the class labels.
  static std::pair<Tensor, Tensor> batch(int s, int64_t rows) {
    std::vector<int64_t> idx(static_cast<std::size_t>(rows));
    for (int64_t i = 0; i < rows; ++i) idx[static_cast<std::size_t>(i)] = s * rows + i;
    Tensor x({rows, data_->features()}), t({rows});
    data_->gather(idx.data(), rows, x.data<float>());
    std::vector<int32_t> labels(static_cast<std::size_t>(rows));
    data_->gather_labels(idx.data(), rows, labels.data());
    for (int64_t i = 0; i < rows; ++i) t.set(i, labels[static_cast<std::size_t>(i)]);
    return {x, t};
  }
  static inline Dataset* data_ = nullptr;
  static inline std::string skip_;
};

}  // namespace cumlp::test
