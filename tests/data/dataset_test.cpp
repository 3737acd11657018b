// Dataset: gather of scaled, flattened rows in float and double, labels,
// one-hot and explicit targets, subsets, the XOR table and constructor checks.
#include <algorithm>
#include <cmath>

#include "cumlp/data.h"
#include "util.h"

namespace cumlp {
namespace {

using test::expect_error;

Dataset pixels() {
  // 3 samples of shape {1,2,2}: sample i holds 10i .. 10i+3; labels 2,0,1.
  return Dataset(std::vector<uint8_t>{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 255}, {1, 2, 2}, 1.0 / 255.0,
                 {2, 0, 1}, 3, {}, "pixels");
}

TEST(Dataset, GatherFlattensAndScalesInFloatAndDouble) {
  const Dataset d = pixels();
  EXPECT_EQ(d.features(), 4);
  const int64_t rows[] = {2, 0, 2};
  std::vector<float> f(12);
  std::vector<double> g(12);
  d.gather(rows, 3, f.data());
  d.gather(rows, 3, g.data());
  const double want[] = {20, 21, 22, 255, 0, 1, 2, 3, 20, 21, 22, 255};
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(f[i], static_cast<float>(want[i] / 255.0)) << i;  // p/255 correctly rounded, as ToTensor
    EXPECT_NEAR(g[i], want[i] / 255.0, 1e-15) << i;
  }
  EXPECT_EQ(f[3], 1.0f);
}

TEST(Dataset, GatherLabelsAndOneHotTargets) {
  const Dataset d = pixels();
  const int64_t rows[] = {1, 0};
  int32_t labels[2];
  d.gather_labels(rows, 2, labels);
  EXPECT_EQ(labels[0], 0);
  EXPECT_EQ(labels[1], 2);
  EXPECT_EQ(d.target_width(), 3);
  std::vector<float> t(6);
  d.gather_targets(rows, 2, t.data());
  EXPECT_EQ(t, (std::vector<float>{1, 0, 0, 0, 0, 1}));
}

TEST(Dataset, RowsOutOfRangeRejected) {
  const Dataset d = pixels();
  std::vector<float> out(4);
  const int64_t bad[] = {3};
  expect_error([&] { d.gather(bad, 1, out.data()); }, {"pixels", "row 3 is outside [0, 3)"});
  const int64_t negative[] = {-1};
  int32_t label;
  expect_error([&] { d.gather_labels(negative, 1, &label); }, {"row -1"});
  expect_error([&] { d.subset({0, 7}); }, {"row 7"});
}

TEST(Dataset, XorTableHasFloatTargets) {
  const Dataset x = xor_table();
  ASSERT_EQ(x.size(), 4);
  EXPECT_EQ(x.features(), 2);
  EXPECT_EQ(x.labels(), (std::vector<int32_t>{0, 1, 1, 0}));
  EXPECT_EQ(x.target_width(), 1);
  const int64_t rows[] = {0, 1, 2, 3};
  std::vector<double> in(8), target(4);
  x.gather(rows, 4, in.data());
  x.gather_targets(rows, 4, target.data());
  EXPECT_EQ(in, (std::vector<double>{0, 0, 0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(target, (std::vector<double>{0, 1, 1, 0}));
}

TEST(Dataset, SubsetKeepsRowsInOrder) {
  Dataset d = pixels();
  d.set_targets({0.5f, 1.5f, 2.5f}, 1);
  const Dataset s = d.subset({2, 1});
  ASSERT_EQ(s.size(), 2);
  EXPECT_TRUE(std::ranges::equal(s.u8(), std::vector<uint8_t>{20, 21, 22, 255, 10, 11, 12, 13}));
  EXPECT_EQ(s.labels(), (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(s.sample_shape(), d.sample_shape());
  EXPECT_EQ(s.scale(), d.scale());
  const int64_t rows[] = {0, 1};
  float t[2];
  s.gather_targets(rows, 2, t);
  EXPECT_EQ(t[0], 2.5f);
  EXPECT_EQ(t[1], 1.5f);
}

TEST(Dataset, ConstructorValidates) {
  expect_error([] { Dataset(std::vector<uint8_t>(5), {2, 2}, 1.0, {0}, 2, {}, "d"); },
               {"d", "5 values do not make 1 samples of 4"});
  expect_error([] { Dataset(std::vector<uint8_t>(4), {2, 0}, 1.0, {0}, 2, {}, "d"); }, {"sample dimension 0"});
  expect_error([] { Dataset(std::vector<uint8_t>(4), {4}, 1.0, {2}, 2, {}, "d"); },
               {"label 2 at index 0 is outside [0, 2)"});
  expect_error([] { Dataset(std::vector<float>{1.0f, NAN}, {2}, 1.0, {0}, 1, {}, "d"); }, {"not finite"});
  expect_error([] { Dataset(std::vector<uint8_t>(4), {4}, 1.0, {0}, 2, {"one"}, "d"); }, {"1 class names for 2"});
  Dataset d = pixels();
  expect_error([&] { d.set_targets({1, 2}, 1); }, {"2 targets do not make 3 rows of 1"});
}

}  // namespace
}  // namespace cumlp
