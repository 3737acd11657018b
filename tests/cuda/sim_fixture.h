// Shared by the cuda tests: the sim backend, device buffers filled from host
// vectors, and the schedules every kernel test sweeps.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "host/core/device_registry.h"
#include "cuda/sim/launch.h"
#include "host/cpu/cpu_backend.h"
#include "tests/cpu/compare.h"

namespace cumlp::test {

/// A device buffer of the backend, freed on scope exit.
class DeviceBuffer {
 public:
  DeviceBuffer(Backend& be, std::size_t bytes) : be_(be), p_(be.alloc(bytes)), bytes_(bytes) {}
  template <class T>
  DeviceBuffer(Backend& be, const std::vector<T>& host) : DeviceBuffer(be, host.size() * sizeof(T)) {
    be.upload(p_, host.data(), bytes_);
  }
  ~DeviceBuffer() { be_.release(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return p_; }
  template <class T>
  std::vector<T> read() const {
    std::vector<T> out(bytes_ / sizeof(T));
    be_.download(out.data(), p_, bytes_);
    return out;
  }

 private:
  Backend& be_;
  void* p_;
  std::size_t bytes_;
};

/// Whether two lists of outputs hold the same bits.
inline bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() ||
        (!a[i].empty() && std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0))  // empty: data() may be null
      return false;
  return true;
}

/// Every simulator schedule (forward, reverse, random, warp).
inline std::vector<sim::Schedule> schedules() { return sim::every_schedule(7); }

/// Values rounded to float, returned in double for the reference.
inline std::vector<double> rounded(uint64_t seed, uint32_t sub, int64_t n, double lo, double hi) {
  std::vector<double> v = uniform(seed, sub, n, lo, hi);
  for (double& x : v) x = static_cast<double>(static_cast<float>(x));
  return v;
}

}  // namespace cumlp::test
