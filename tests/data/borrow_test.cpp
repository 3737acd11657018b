// Borrowed samples: a Dataset over the caller's memory (no copy), kept alive
// by its owner through Dataset copies and an uploaded network, released when
// the last user lets go; on cpu the network trains from that memory in place.
#include <cmath>
#include <memory>
#include <vector>

#include "cumlp/data.h"
#include "cumlp/network.h"
#include "util.h"

namespace cumlp {
namespace {

using test::expect_error;

// The caller's buffer; `released` is set when its owner's deleter runs.
struct Buffer {
  std::vector<float> values;
  bool* released;
};

std::shared_ptr<const void> owner_of(Buffer* b) {
  return std::shared_ptr<const void>(b, [](const void* p) {
    auto* buffer = static_cast<Buffer*>(const_cast<void*>(p));
    *buffer->released = true;
    delete buffer;
  });
}

TEST(BorrowedDataset, ReadsTheCallersMemoryUntilTheLastOwnerGoes) {
  bool released = false;
  auto* buffer = new Buffer{{0, 1, 2, 3, 4, 5}, &released};
  const float* memory = buffer->values.data();
  std::vector<float> row(2);
  {
    Dataset copy;
    {
      const Dataset d(std::span<const float>(buffer->values), owner_of(buffer), {2}, 0.5, {0, 1, 1}, 2, {}, "b");
      EXPECT_EQ(d.f32().data(), memory);  // no copy
      EXPECT_EQ(d.storage(), Storage::f32);
      EXPECT_TRUE(d.u8().empty());
      buffer->values[2] = 10;  // the owner's change is seen by the next gather
      const int64_t one = 1;
      d.gather(&one, 1, row.data());
      EXPECT_EQ(row, (std::vector<float>{5, 1.5f}));
      copy = d;
    }
    EXPECT_FALSE(released);  // the copy shares the samples
    EXPECT_EQ(copy.f32().data(), memory);
    const Dataset sub = copy.subset({2});  // a subset owns its own copy
    EXPECT_NE(sub.f32().data(), memory);
  }
  EXPECT_TRUE(released);
}

TEST(BorrowedDataset, ChecksLikeTheOwningConstructor) {
  const std::vector<uint8_t> bytes{1, 2, 3};
  const auto none = [](const void*) {};
  expect_error([&] { Dataset(std::span<const uint8_t>(bytes), nullptr, {1}, 1.0, {0, 0, 0}, 1); }, {"need an owner"});
  expect_error([&] { Dataset(std::span<const uint8_t>(bytes), std::shared_ptr<const void>(&bytes, none), {2}, 1.0,
                             {0}, 1); },
               {"3 values do not make 1 samples of 2"});
  const std::vector<float> nan{1, std::nanf("")};
  expect_error([&] { Dataset(std::span<const float>(nan), std::shared_ptr<const void>(&nan, none), {1}, 1.0,
                             {0, 0}, 1); },
               {"is not finite"});
  std::vector<float> inf(10000, 1.0f);  // the check scans blocks of 4096: the second block's value is named
  inf[5000] = -INFINITY;
  expect_error([&] { Dataset(std::span<const float>(inf), std::shared_ptr<const void>(&inf, none), {1}, 1.0,
                             std::vector<int32_t>(10000), 1, {}, "big"); },
               {"big: value -inf at index 5000 is not finite"});
}

// On cpu, backend memory is host memory: the network gathers batches from the
// borrowed samples in place (no sample bytes allocated, the owner held until
// the next upload) and trains exactly as from an owned copy.
TEST(BorrowedDataset, CpuNetworkTrainsFromTheBorrowedSamplesInPlace) {
  constexpr int64_t kRows = 64, kFeatures = 8;
  bool released = false;
  auto* buffer = new Buffer{std::vector<float>(kRows * kFeatures), &released};
  std::vector<int32_t> labels(kRows);
  for (int64_t i = 0; i < kRows * kFeatures; ++i) buffer->values[i] = static_cast<float>((i * 37) % 11) / 11.0f;
  for (int64_t i = 0; i < kRows; ++i) labels[i] = static_cast<int32_t>(i % 3);
  const Dataset owned_copy(buffer->values, {kFeatures}, 1.0, labels, 3);
  const ModelSpec spec = ModelSpec::parse("8-16-3", Activation::ReLU, -1);
  const NetworkOptions o{Device::parse("cpu"), DType::F32, 5, 16};
  Network a(spec, Optimizer::adam(0.01), o), b(spec, Optimizer::adam(0.01), o);
  {
    const Dataset borrowed(std::span<const float>(buffer->values), owner_of(buffer), {kFeatures}, 1.0, labels, 3);
    const int64_t before = a.device_bytes();
    a.upload_dataset(borrowed);
    EXPECT_EQ(a.device_bytes() - before, kRows * static_cast<int64_t>(sizeof(int32_t)));  // the labels alone
  }
  EXPECT_FALSE(released);  // the network holds the samples
  b.upload_dataset(owned_copy);
  for (int s = 0; s < 4; ++s) {
    std::vector<int64_t> rows(16);
    for (int64_t i = 0; i < 16; ++i) rows[i] = (s * 16 + i * 5) % kRows;
    a.queue_train_step(rows);
    b.queue_train_step(rows);
  }
  EXPECT_EQ(a.take_losses().sum, b.take_losses().sum);
  EXPECT_EQ(a.parameters().to_vector(), b.parameters().to_vector());
  a.upload_dataset(owned_copy);  // replaces the borrowed samples
  EXPECT_TRUE(released);
}

}  // namespace
}  // namespace cumlp
