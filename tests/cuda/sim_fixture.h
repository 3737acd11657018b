// Shared by the cuda tests: the sim backend, device buffers filled from host
// vectors, and the schedules every kernel test sweeps.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

/// Every simulator schedule (forward, reverse, random, warp).
inline std::vector<sim::Schedule> schedules() { return sim::every_schedule(7); }

/// The largest errors seen per op, printed when the test program ends (the
/// figures the CUDA backend's documentation quotes).
class ErrorTable : public ::testing::Environment {
 public:
  static ErrorTable& get() {
    static ErrorTable* table = [] {
      auto* t = new ErrorTable;  // owned by gtest once registered
      ::testing::AddGlobalTestEnvironment(t);
      return t;
    }();
    return *table;
  }
  void record(const std::string& op, double abs_err, double rel_err) {
    auto& [a, r] = max_[op];
    a = std::max(a, abs_err);
    r = std::max(r, rel_err);
  }
  void TearDown() override {
    for (const auto& [op, e] : max_) std::printf("max error %-28s abs %.3g rel %.3g\n", op.c_str(), e.first, e.second);
  }

 private:
  std::map<std::string, std::pair<double, double>> max_;
};

/// close() that also records op's largest absolute and relative errors
/// (relative over elements with |ref| > 1e-3, where it means something).
template <class A>
::testing::AssertionResult close_op(const std::string& op, const std::string& what, const std::vector<A>& got,
                                    const std::vector<double>& ref, Tol tol, uint64_t seed) {
  double max_abs = 0, max_rel = 0;
  for (std::size_t i = 0; i < got.size() && i < ref.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - ref[i]);
    max_abs = std::max(max_abs, err);
    if (std::fabs(ref[i]) > 1e-3) max_rel = std::max(max_rel, err / std::fabs(ref[i]));
  }
  ErrorTable::get().record(op, max_abs, max_rel);
  return close(what, got, ref, tol, seed);
}

/// Values rounded to float, returned in double for the reference.
inline std::vector<double> rounded(uint64_t seed, uint32_t sub, int64_t n, double lo, double hi) {
  std::vector<double> v = uniform(seed, sub, n, lo, hi);
  for (double& x : v) x = static_cast<double>(static_cast<float>(x));
  return v;
}

}  // namespace cumlp::test
