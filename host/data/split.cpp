// Seeded split, per-epoch shuffle and batching. Every permutation is a
// Fisher-Yates walk whose draw at position i is rng::below(seed, stream, sub,
// i, i + 1): a pure function of its counters, so it is the same on every run
// and independent of how many other random numbers were drawn before.
#include <algorithm>
#include <cmath>

#include "cumlp/data.h"
#include "host/shared/error_macros.h"
#include "host/shared/rng.h"

namespace cumlp {

namespace {

void permute(std::vector<int64_t>& v, uint64_t seed, uint32_t stream, uint32_t sub) {
  for (size_t i = v.size(); i-- > 1;) {
    const uint64_t j = rng::below(seed, stream, sub, i, i + 1);
    std::swap(v[i], v[j]);
  }
}

}  // namespace

Split split_indices(int64_t n, double valid_fraction, uint64_t seed) {
  CUMLP_CHECK(n >= 1, "split_indices: n = ", n, " must be at least 1");
  CUMLP_CHECK(valid_fraction >= 0.0 && valid_fraction < 1.0, "split_indices: valid fraction ", valid_fraction,
              " is outside [0, 1)");
  const auto n_valid = static_cast<int64_t>(std::llround(valid_fraction * static_cast<double>(n)));
  CUMLP_CHECK(n_valid < n, "split_indices: valid fraction ", valid_fraction, " of ", n,
              " samples leaves no training samples");
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  permute(perm, seed, rng::kSplit, 0);
  Split s;
  s.train.assign(perm.begin(), perm.end() - n_valid);
  s.valid.assign(perm.end() - n_valid, perm.end());
  return s;
}

std::vector<int64_t> shuffled(const std::vector<int64_t>& rows, uint64_t seed, uint64_t epoch) {
  std::vector<int64_t> out = rows;
  // The RNG's sub-stream counter is 32 bits; epochs beyond that wrap.
  permute(out, seed, rng::kShuffle, static_cast<uint32_t>(epoch));
  return out;
}

Batches::Batches(std::vector<int64_t> order, int64_t batch_size) : order_(std::move(order)), batch_size_(batch_size) {
  CUMLP_CHECK(batch_size >= 1, "Batches: batch size ", batch_size, " must be at least 1");
}

int64_t Batches::size() const {
  const auto n = static_cast<int64_t>(order_.size());
  return n / batch_size_ + (n % batch_size_ != 0);  // ceil without overflowing for huge batch sizes
}

std::span<const int64_t> Batches::operator[](int64_t i) const {
  CUMLP_CHECK(i >= 0 && i < size(), "Batches: batch ", i, " is outside [0, ", size(), ")");
  const int64_t begin = i * batch_size_;
  const int64_t end = std::min(begin + batch_size_, static_cast<int64_t>(order_.size()));
  return {order_.data() + begin, static_cast<size_t>(end - begin)};
}

}  // namespace cumlp
