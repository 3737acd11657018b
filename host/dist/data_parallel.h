// What Network and Trainer call for data parallelism, kept out of their
// files: the start-up agreement checks across ranks and the row slice of a
// batch tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/dist.h"
#include "cumlp/network.h"

namespace cumlp {

/// FNV-1a of bytes: the fingerprint ranks compare at start-up.
uint64_t fingerprint(const void* data, std::size_t bytes, uint64_t h = 14695981039346656037ull);
inline uint64_t fingerprint(const std::string& s, uint64_t h = 14695981039346656037ull) {
  return fingerprint(s.data(), s.size(), h);
}

/// Throws Error unless every rank built the same model spec, optimizer,
/// dtype, device type and seed (naming the first rank that differs).
void check_same_network_on_every_rank(const Network& net);

/// Throws Error unless every rank holds the same parameters (a different
/// --resume file, say) and trains with the same `settings` (seed, batch,
/// epochs, dataset size: whatever the caller puts in the string).
void check_same_training_on_every_rank(const Network& net, const std::string& settings);

/// Rows [s.begin, s.end) of a tensor whose first dimension is the batch.
Tensor rows_of(const Tensor& t, Shard s);

}  // namespace cumlp
