// Split, shuffle and batches: partitions, permutations, determinism by
// (seed, epoch), and batch coverage including the partial last batch.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cumlp/data.h"
#include "util.h"

namespace cumlp {
namespace {

using test::expect_error;

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Split, IsAPartitionWith80_20Sizes) {
  for (int64_t n : {1, 2, 5, 1797, 60000}) {
    const Split s = split_indices(n, 0.2, 777);
    const auto n_valid = static_cast<int64_t>(std::llround(0.2 * n));
    EXPECT_EQ(static_cast<int64_t>(s.valid.size()), n_valid) << n;
    EXPECT_EQ(static_cast<int64_t>(s.train.size()), n - n_valid) << n;
    std::vector<int64_t> all = s.train;
    all.insert(all.end(), s.valid.begin(), s.valid.end());
    EXPECT_EQ(sorted(all), iota(n)) << n;
  }
  EXPECT_EQ(split_indices(60000, 0.2, 777).valid.size(), 12000u);
}

TEST(Split, SameSeedSameSplitDifferentSeedDifferent) {
  const Split a = split_indices(1000, 0.2, 777), b = split_indices(1000, 0.2, 777), c = split_indices(1000, 0.2, 778);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_NE(a.valid, c.valid);
  EXPECT_NE(sorted(a.valid), sorted(c.valid));
  EXPECT_NE(a.train, iota(800)) << "split did not permute";
}

TEST(Split, FractionEdgesAndErrors) {
  EXPECT_TRUE(split_indices(10, 0.0, 1).valid.empty());
  EXPECT_EQ(split_indices(10, 0.5, 1).valid.size(), 5u);
  expect_error([] { split_indices(0, 0.2, 1); }, {"n = 0"});
  expect_error([] { split_indices(10, 1.0, 1); }, {"valid fraction 1 is outside [0, 1)"});
  expect_error([] { split_indices(10, -0.1, 1); }, {"outside [0, 1)"});
  expect_error([] { split_indices(10, NAN, 1); }, {"outside [0, 1)"});
  expect_error([] { split_indices(1, 0.6, 1); }, {"leaves no training samples"});
}

TEST(Shuffle, PermutationsThatDifferByEpochAndRepeatBySeed) {
  const std::vector<int64_t> rows = split_indices(500, 0.2, 777).train;
  const auto e0 = shuffled(rows, 777, 0), e1 = shuffled(rows, 777, 1);
  EXPECT_EQ(sorted(e0), sorted(rows));
  EXPECT_EQ(sorted(e1), sorted(rows));
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, rows);
  EXPECT_EQ(e0, shuffled(rows, 777, 0));
  EXPECT_NE(e0, shuffled(rows, 778, 0));
  EXPECT_TRUE(shuffled({}, 1, 0).empty());
  EXPECT_EQ(shuffled({42}, 1, 0), std::vector<int64_t>{42});
}

TEST(Shuffle, EveryPositionReachable) {
  // Over many epochs, element 0 of a 4-permutation lands in every slot: no off-by-one in Fisher-Yates.
  std::vector<int> seen(4);
  for (uint64_t epoch = 0; epoch < 200; ++epoch) {
    const auto p = shuffled({0, 1, 2, 3}, 5, epoch);
    ++seen[std::find(p.begin(), p.end(), 0) - p.begin()];
  }
  for (int count : seen) EXPECT_GT(count, 20);
}

// Every index of order appears exactly once, in order, in batches of batch_size but the last.
void expect_cover(const std::vector<int64_t>& order, int64_t batch_size, int64_t want_batches, int64_t want_last) {
  const Batches batches(order, batch_size);
  EXPECT_EQ(batches.size(), want_batches);
  std::vector<int64_t> seen;
  int64_t count = 0;
  for (std::span<const int64_t> b : batches) {
    ++count;
    EXPECT_EQ(static_cast<int64_t>(b.size()), count == want_batches ? want_last : batch_size);
    seen.insert(seen.end(), b.begin(), b.end());
  }
  EXPECT_EQ(count, want_batches);
  EXPECT_EQ(seen, order);
}

TEST(Batches, MiniFullAndStochasticCoverEveryIndexOnce) {
  const std::vector<int64_t> order = shuffled(iota(10), 777, 3);
  expect_cover(order, 4, 3, 2);    // mini-batch, partial last batch kept
  expect_cover(order, 5, 2, 5);    // exact multiple
  expect_cover(order, 10, 1, 10);  // full batch
  expect_cover(order, 1 << 30, 1, 10);
  expect_cover(order, 1, 10, 1);  // stochastic
  expect_cover({}, 3, 0, 0);
}

TEST(Batches, Errors) {
  expect_error([] { Batches({1, 2}, 0); }, {"batch size 0 must be at least 1"});
  const Batches b({1, 2, 3}, 2);
  expect_error([&] { b[2]; }, {"batch 2 is outside [0, 2)"});
}

}  // namespace
}  // namespace cumlp
