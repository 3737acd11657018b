// IDX loader: round trips of raw and gzipped files the test writes, and every
// malformed header or body rejected with a message naming the file.
#include "cumlp/data.h"
#include "host/data/read.h"
#include "util.h"

namespace cumlp {
namespace {

using test::Bytes;
using test::expect_error;

class IdxTest : public test::TempDirTest {
 protected:
  // Writes images + labels under the given names and loads them.
  Dataset load(const Bytes& images, const Bytes& labels, const std::string& images_name = "img",
               const std::string& labels_name = "lab") {
    images_path_ = write(images_name, images);
    labels_path_ = write(labels_name, labels);
    return load_idx(images_path_, labels_path_);
  }
  std::string images_path_, labels_path_;
};

void expect_round_trip(const Dataset& d, uint32_t n, uint32_t rows, uint32_t cols, const Bytes& labels) {
  ASSERT_EQ(d.size(), n);
  EXPECT_EQ(d.sample_shape(), (std::vector<int64_t>{1, rows, cols}));
  EXPECT_EQ(d.features(), int64_t{rows} * cols);
  EXPECT_EQ(d.num_classes(), 10);
  EXPECT_EQ(d.storage(), Storage::u8);
  EXPECT_EQ(d.labels(), std::vector<int32_t>(labels.begin(), labels.end()));
  for (size_t i = 0; i < n; ++i)
    for (size_t p = 0; p < size_t{rows} * cols; ++p)
      ASSERT_EQ(d.u8()[i * rows * cols + p], test::pixel(i, p)) << "image " << i << " pixel " << p;
}

TEST_F(IdxTest, RawRoundTrip) {
  const Bytes labels = {3, 0, 9, 1, 7};
  const Dataset d = load(test::idx_images(5, 4, 3), test::idx_labels(labels));
  expect_round_trip(d, 5, 4, 3, labels);
  EXPECT_DOUBLE_EQ(d.scale(), 1.0 / 255.0);
  EXPECT_TRUE(d.class_names().empty());
}

TEST_F(IdxTest, GzipRoundTrip) {
  const Bytes labels = {2, 2, 5};
  expect_round_trip(load(test::gzip(test::idx_images(3, 28, 28)), test::gzip(test::idx_labels(labels)), "i.gz", "l.gz"),
                    3, 28, 28, labels);
}

TEST_F(IdxTest, GzipDetectedByContentNotName) {
  const Bytes labels = {1, 4};
  // gzipped content without .gz, raw content with .gz: both load.
  expect_round_trip(load(test::gzip(test::idx_images(2, 2, 2)), test::idx_labels(labels), "images", "labels.gz"), 2, 2,
                    2, labels);
}

TEST_F(IdxTest, ConcatenatedGzipMembers) {
  // `cat a.gz b.gz` is a valid gzip file of the two contents joined.
  const Bytes images = test::idx_images(3, 5, 5);
  const Bytes head(images.begin(), images.begin() + 20), tail(images.begin() + 20, images.end());
  Bytes gz = test::gzip(head);
  const Bytes gz_tail = test::gzip(tail);
  gz.insert(gz.end(), gz_tail.begin(), gz_tail.end());
  expect_round_trip(load(gz, test::idx_labels({7, 8, 9})), 3, 5, 5, {7, 8, 9});
}

// A small file that unpacks to more than the limit is refused while
// unpacking, before the memory is taken: 64 KiB of gzip holds 64 MiB of zeros.
TEST_F(IdxTest, GzipBombIsRefusedAtTheUnpackLimit) {
  const std::string bomb = write("bomb.gz", test::gzip(Bytes(64u << 20, 0)));
  expect_error([&] { data::read_file(bomb, 1u << 20); },
               {"bomb.gz", "unpacks to more than 1048576 bytes"});
  EXPECT_EQ(data::read_file(bomb, 64u << 20).size(), 64u << 20);  // exactly at the limit: fine
  const std::string ok = write("small.gz", test::gzip(Bytes(1000, 7)));
  EXPECT_EQ(data::read_file(ok, 1000).size(), 1000u);
}

TEST_F(IdxTest, UnscaledAndFashionNames) {
  write("img", test::idx_images(1, 2, 2));
  write("lab", test::idx_labels({9}));
  const Dataset d = load_idx((dir_ / "img").string(), (dir_ / "lab").string(), ImageSet::fashion_mnist, false);
  EXPECT_DOUBLE_EQ(d.scale(), 1.0);
  ASSERT_EQ(d.class_names().size(), 10u);
  EXPECT_EQ(d.class_names()[9], "Ankle boot");
}

TEST_F(IdxTest, MnistDirFindsRawAndGzippedNames) {
  write("train-images-idx3-ubyte.gz", test::gzip(test::idx_images(4, 3, 3)));
  write("train-labels-idx1-ubyte", test::idx_labels({0, 1, 2, 3}));
  write("t10k-images-idx3-ubyte", test::idx_images(2, 3, 3));
  write("t10k-labels-idx1-ubyte.gz", test::gzip(test::idx_labels({5, 6})));
  expect_round_trip(load_mnist_dir(dir_.string(), Part::train), 4, 3, 3, {0, 1, 2, 3});
  expect_round_trip(load_mnist_dir(dir_.string(), Part::test), 2, 3, 3, {5, 6});
}

TEST_F(IdxTest, MnistDirMissingFile) {
  write("t10k-images-idx3-ubyte", test::idx_images(2, 3, 3));
  expect_error([&] { load_mnist_dir(dir_.string(), Part::test); }, {"t10k-labels-idx1-ubyte[.gz]", "no such file"});
}

TEST_F(IdxTest, MissingFile) {
  expect_error([&] { load_idx((dir_ / "nope").string(), (dir_ / "nope2").string()); }, {"nope", "cannot open"});
}

TEST_F(IdxTest, WrongMagic) {
  expect_error([&] { load(test::idx_labels({1, 2}), test::idx_labels({1, 2})); }, {"img", "wrong IDX magic 0x801"});
  expect_error([&] { load(test::idx_images(2, 2, 2), test::idx_images(2, 2, 2)); }, {"lab", "wrong IDX magic 0x803"});
  Bytes ints = test::idx_images(1, 1, 1);
  ints[2] = 0x0C;  // int32 values: valid IDX, but not pixels
  expect_error([&] { load(ints, test::idx_labels({1})); }, {"img", "wrong IDX magic 0xc03"});
}

TEST_F(IdxTest, TruncatedHeader) {
  expect_error([&] { load(Bytes{0, 0}, test::idx_labels({1})); }, {"img", "truncated IDX header"});
  Bytes images = test::idx_images(1, 2, 2);
  images.resize(10);  // magic + 1.5 dimensions
  expect_error([&] { load(images, test::idx_labels({1})); }, {"img", "truncated IDX header (10 of 16 bytes)"});
  expect_error([&] { load(test::idx_images(1, 1, 1), Bytes{0, 0, 8, 1, 0}); }, {"lab", "truncated IDX header"});
}

TEST_F(IdxTest, TruncatedBody) {
  Bytes images = test::idx_images(3, 4, 4);
  images.pop_back();
  expect_error([&] { load(images, test::idx_labels({1, 2, 3})); }, {"img", "truncated IDX body (47 of 48 bytes)"});
  Bytes labels = test::idx_labels({1, 2, 3});
  labels.pop_back();
  expect_error([&] { load(test::idx_images(3, 4, 4), labels); }, {"lab", "truncated IDX body (2 of 3 bytes)"});
}

TEST_F(IdxTest, CountsLargerThanFileRejectedBeforeAllocating) {
  // 2^32-1 x 2^32-1 x 2^32-1 overflows 64 bits; 2^32-1 x 60000 x 1 does not but dwarfs the file.
  expect_error([&] { load(test::idx({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1, 2, 3}), test::idx_labels({1})); },
               {"img", "IDX dimensions overflow"});
  expect_error([&] { load(test::idx({0xFFFFFFFFu, 60000, 1}, {1, 2, 3}), test::idx_labels({1})); },
               {"img", "truncated IDX body"});
}

TEST_F(IdxTest, TrailingBytes) {
  Bytes images = test::idx_images(1, 2, 2);
  images.push_back(0);
  expect_error([&] { load(images, test::idx_labels({1})); }, {"img", "1 trailing bytes"});
}

TEST_F(IdxTest, ZeroItemsOrDimensions) {
  expect_error([&] { load(test::idx({0, 28, 28}, {}), test::idx_labels({})); }, {"img", "zero items"});
  expect_error([&] { load(test::idx_images(1, 2, 2), test::idx({0}, {})); }, {"lab", "zero items"});
  expect_error([&] { load(test::idx({1, 0, 28}, {}), test::idx_labels({1})); }, {"img", "dimension is zero"});
}

TEST_F(IdxTest, CountMismatch) {
  expect_error([&] { load(test::idx_images(3, 2, 2), test::idx_labels({1, 2})); }, {"lab", "2 labels for 3 images"});
}

TEST_F(IdxTest, LabelOutOfRange) {
  expect_error([&] { load(test::idx_images(3, 2, 2), test::idx_labels({1, 10, 2})); },
               {"lab", "label 10 at index 1 is outside [0, 10)"});
}

TEST_F(IdxTest, CorruptGzip) {
  Bytes gz = test::gzip(test::idx_images(4, 8, 8));
  gz[gz.size() / 2] ^= 0xFF;
  gz[gz.size() / 2 + 1] ^= 0xFF;
  expect_error([&] { load(gz, test::idx_labels({1, 2, 3, 4})); }, {"img", "corrupt gzip"});
  // The gzip magic followed by a header naming no known compression method.
  expect_error([&] { load(test::idx_images(1, 1, 1), Bytes{0x1f, 0x8b, 0x63, 0, 0, 0, 0, 0, 0, 3, 1, 2}); },
               {"lab", "corrupt gzip"});
}

TEST_F(IdxTest, TruncatedGzip) {
  Bytes gz = test::gzip(test::idx_images(4, 8, 8));
  gz.resize(gz.size() - 10);
  expect_error([&] { load(gz, test::idx_labels({1, 2, 3, 4})); }, {"img", "truncated gzip stream"});
}

}  // namespace
}  // namespace cumlp
