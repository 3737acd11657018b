// The real datasets installed on these machines (Debian dataset-fashion-mnist
// and python3-sklearn); skipped, with the reason, where they are absent.
#include <algorithm>
#include <filesystem>

#include "cumlp/data.h"
#include "util.h"

namespace cumlp {
namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";
const std::string kDigits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

void expect_labels_0_to_9(const Dataset& d) {
  const auto [lo, hi] = std::minmax_element(d.labels().begin(), d.labels().end());
  EXPECT_EQ(*lo, 0);
  EXPECT_EQ(*hi, 9);
}

TEST(RealData, FashionMnist) {
  if (!std::filesystem::exists(kFashionDir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << kFashionDir << " absent (Debian package dataset-fashion-mnist)";
  const Dataset train = load_mnist_dir(kFashionDir, Part::train, ImageSet::fashion_mnist);
  const Dataset test = load_mnist_dir(kFashionDir, Part::test, ImageSet::fashion_mnist);
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.sample_shape(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(train.features(), 784);
  expect_labels_0_to_9(train);
  expect_labels_0_to_9(test);
  EXPECT_EQ(train.class_names()[9], "Ankle boot");
  // Obtained independently with
  //   python3 -c "import gzip; d=gzip.open('train-labels-idx1-ubyte.gz').read(); print(list(d[8:13]))"
  // -> [9, 0, 0, 3, 0] (test set: [9, 2, 1, 1, 6]); and the pixel sum of the first train image with
  //   python3 -c "import gzip; d=gzip.open('train-images-idx3-ubyte.gz').read(); print(sum(d[16:16+784]))"
  // -> 76247.
  EXPECT_EQ(std::vector<int32_t>(train.labels().begin(), train.labels().begin() + 5), (std::vector<int32_t>{9, 0, 0, 3, 0}));
  EXPECT_EQ(std::vector<int32_t>(test.labels().begin(), test.labels().begin() + 5), (std::vector<int32_t>{9, 2, 1, 1, 6}));
  int64_t sum = 0;
  for (int p = 0; p < 784; ++p) sum += train.u8()[p];
  EXPECT_EQ(sum, 76247);
}

TEST(RealData, SklearnDigitsCsv) {
  if (!std::filesystem::exists(kDigits)) GTEST_SKIP() << kDigits << " absent (Debian package python3-sklearn)";
  const Dataset d = load_csv(kDigits);
  EXPECT_EQ(d.size(), 1797);
  EXPECT_EQ(d.features(), 64);
  EXPECT_EQ(d.num_classes(), 10);
  expect_labels_0_to_9(d);
  EXPECT_EQ(*std::max_element(d.f32().begin(), d.f32().end()), 16.0f);
  // First row, read with zcat digits.csv.gz | head -1: "0,0,5,13,9,1,0,0,...", label 0.
  EXPECT_EQ(d.labels()[0], 0);
  EXPECT_EQ(d.f32()[2], 5.0f);
  EXPECT_EQ(d.f32()[3], 13.0f);
}

}  // namespace
}  // namespace cumlp
