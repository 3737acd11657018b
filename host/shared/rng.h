// Counter-based random numbers (Philox-4x32-10, Random123), identical on the
// host and in CUDA kernels. Every random value is a pure function of
// (seed, stream, sub, index): never of the thread, the block or the order in
// which values are drawn, so init, split, shuffle and dropout are reproducible
// from one seed on every device and every launch shape.
#pragma once

#include <cstdint>

#include <Random123/philox.h>

#include "host/shared/hd.h"

namespace cumlp::rng {

/// What a random number is for; each purpose draws from its own stream.
enum Stream : uint32_t {
  kInitWeight = 1,  // sub = layer index, index = element of the weight
  kInitBias = 2,    // sub = layer index, index = element of the bias
  kSplit = 3,       // sub = 0, index = Fisher-Yates position
  kShuffle = 4,     // sub = epoch, index = Fisher-Yates position
  kDropout = 5,     // stream = kDropout | layer << 8, sub = step, index = element
  kUser = 16,       // first stream free for tests and tools
};

/// 32 random bits for (seed, stream, sub, index). One Philox call yields four
/// words; index selects word index&3 of the block index>>2, so consecutive
/// indices share a call (and a kernel thread handling four elements pays once).
CUMLP_HD uint32_t bits(uint64_t seed, uint32_t stream, uint32_t sub, uint64_t index) {
  r123::Philox4x32 gen;
  r123::Philox4x32::ctr_type ctr = {{static_cast<uint32_t>(index >> 2), static_cast<uint32_t>(index >> 34), sub, stream}};
  r123::Philox4x32::key_type key = {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
  r123::Philox4x32::ctr_type r = gen(ctr, key);
  return r.v[index & 3u];
}

/// Uniform float in [0, 1) with 24 random bits (exactly representable).
CUMLP_HD float uniform01(uint32_t b) { return static_cast<float>(b >> 8) * (1.0f / 16777216.0f); }

/// Dropout keep decision for one element: kept with probability 1 - p.
CUMLP_HD bool dropout_keep(uint64_t seed, uint32_t layer, uint32_t step, uint64_t element, float p) {
  return uniform01(bits(seed, kDropout | (layer << 8), step, element)) >= p;
}

/// Uniform integer in [0, n) from 64 random bits (multiply-shift; bias < n/2^64).
inline uint64_t below(uint64_t seed, uint32_t stream, uint32_t sub, uint64_t i, uint64_t n) {
  const uint64_t hi = bits(seed, stream, sub, 2 * i), lo = bits(seed, stream, sub, 2 * i + 1);
  const unsigned __int128 wide = static_cast<unsigned __int128>((hi << 32) | lo) * n;
  return static_cast<uint64_t>(wide >> 64);
}

}  // namespace cumlp::rng
