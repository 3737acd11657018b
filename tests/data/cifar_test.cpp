// CIFAR-10 loader: binary batches the test writes, single files, folders and
// malformed sizes and labels.
#include "cumlp/data.h"
#include "util.h"

namespace cumlp {
namespace {

using test::Bytes;
using test::expect_error;

// A batch file of records with the given labels; record i's pixels are pixel(first + i, p).
Bytes batch(const Bytes& labels, size_t first = 0) {
  Bytes b;
  for (size_t i = 0; i < labels.size(); ++i) {
    b.push_back(labels[i]);
    for (size_t p = 0; p < 3072; ++p) b.push_back(test::pixel(first + i, p));
  }
  return b;
}

class CifarTest : public test::TempDirTest {};

void expect_samples(const Dataset& d, const Bytes& labels) {
  ASSERT_EQ(d.size(), static_cast<int64_t>(labels.size()));
  EXPECT_EQ(d.sample_shape(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(d.labels(), std::vector<int32_t>(labels.begin(), labels.end()));
  EXPECT_EQ(d.class_names(), cifar10_class_names());
  for (size_t i = 0; i < labels.size(); ++i)
    for (size_t p = 0; p < 3072; ++p) ASSERT_EQ(d.u8()[i * 3072 + p], test::pixel(i, p)) << i << " " << p;
}

TEST_F(CifarTest, FilesConcatenateInOrder) {
  const std::string a = write("a.bin", batch({6, 9, 0}));
  const std::string b = write("b.bin", test::gzip(batch({3, 1}, 3)));
  const Dataset d = load_cifar10({a, b});
  expect_samples(d, {6, 9, 0, 3, 1});
  EXPECT_DOUBLE_EQ(d.scale(), 1.0 / 255.0);
  // Channel planes stay CHW: the first R, G and B values of sample 0.
  const int64_t row = 0;
  std::vector<float> x(3072);
  d.gather(&row, 1, x.data());
  EXPECT_FLOAT_EQ(x[1024], test::pixel(0, 1024) / 255.0f);
  EXPECT_FLOAT_EQ(load_cifar10({a}, false).scale(), 1.0);
}

TEST_F(CifarTest, DirectoryAndBatchesBinSubfolder) {
  for (int i = 1; i <= 5; ++i)
    write("cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin", batch({static_cast<uint8_t>(i)}, i - 1));
  write("cifar-10-batches-bin/test_batch.bin", batch({8, 7}));
  expect_samples(load_cifar10_dir(dir_.string(), Part::train), {1, 2, 3, 4, 5});
  expect_samples(load_cifar10_dir((dir_ / "cifar-10-batches-bin").string(), Part::test), {8, 7});
}

TEST_F(CifarTest, MissingBatch) {
  write("data_batch_1.bin", batch({1}));
  expect_error([&] { load_cifar10_dir(dir_.string(), Part::train); }, {"data_batch_2.bin", "no such file"});
  expect_error([&] { load_cifar10({}); }, {"no files"});
}

TEST_F(CifarTest, SizeNotMultipleOfRecord) {
  Bytes b = batch({1, 2});
  b.pop_back();
  const std::string path = write("short.bin", b);
  expect_error([&] { load_cifar10({path}); }, {path, "size 6145 is not a multiple of the 3073-byte"});
}

TEST_F(CifarTest, EmptyFile) {
  const std::string path = write("empty.bin", Bytes{});
  expect_error([&] { load_cifar10({path}); }, {path, "empty CIFAR-10 file"});
}

TEST_F(CifarTest, LabelOutOfRange) {
  const std::string good = write("good.bin", batch({1}));
  const std::string bad = write("bad.bin", batch({4, 200}));
  expect_error([&] { load_cifar10({good, bad}); }, {bad, "label 200 at index 1 is outside [0, 10)"});
}

TEST_F(CifarTest, CorruptGzip) {
  Bytes gz = test::gzip(batch({1, 2, 3}));
  gz.resize(gz.size() / 2);
  const std::string path = write("batch.bin.gz", gz);
  expect_error([&] { load_cifar10({path}); }, {path, "truncated gzip stream"});
}

}  // namespace
}  // namespace cumlp
