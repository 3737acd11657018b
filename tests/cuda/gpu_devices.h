// The devices a tests/cuda case runs on: every device of the GPU backend,
// `sim` always and `cuda` where this build and machine have a usable GPU.
// Elsewhere the cuda instances are skipped with the registry's reason, so
// ctest lists them as skipped ("no GPU found ..."), never silently absent.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "cumlp/device.h"
#include "cumlp/error.h"

namespace cumlp::test {

/// "" when `name` (a --device value) can run here, else why not: Device::parse's own reason.
inline std::string device_unusable(const std::string& name) {
  try {
    (void)Device::parse(name);
    return "";
  } catch (const Error& e) {
    return e.message();
  }
}

/// Skips the running test, with the reason, unless the device can run here.
#define CUMLP_SKIP_UNLESS_USABLE(device)                                                  \
  do {                                                                                     \
    if (const std::string cumlp_why_ = ::cumlp::test::device_unusable(device);              \
        !cumlp_why_.empty())                                                               \
      GTEST_SKIP() << "device " << (device) << " not usable here: " << cumlp_why_;         \
  } while (0)

/// A parameterised suite over device names whose SetUp skips unusable ones.
class OnDevice : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { CUMLP_SKIP_UNLESS_USABLE(GetParam()); }
  std::string device() const { return GetParam(); }
};

/// Test-name suffix: the device name without ':'.
inline std::string device_label(const ::testing::TestParamInfo<const char*>& info) {
  std::string s = info.param;
  for (char& c : s)
    if (c == ':') c = '_';
  return s;
}

}  // namespace cumlp::test
