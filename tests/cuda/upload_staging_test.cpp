// Host-to-device uploads on the GPU backend go through two pinned staging
// buffers used in turn (batches), or directly (over 16 MiB): whatever the
// path, the device gets the bytes the caller had at the call, even when the
// caller reuses its buffer at once, and buffers that grow keep that promise.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "host/core/device_registry.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

class GpuUploads : public OnDevice {};

TEST_P(GpuUploads, KeepTheCallersBytesThroughTheStagingBuffers) {
  auto be = make_backend(Device::parse(device()));
  const std::size_t sizes[] = {3, 1000, 10, 5000, 7, 1, (std::size_t{17} << 20) / sizeof(float)};
  std::vector<void*> dst;
  std::vector<std::vector<float>> want;
  std::vector<float> host;
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    host.assign(sizes[i], 0.0f);
    for (std::size_t e = 0; e < host.size(); ++e) host[e] = static_cast<float>(i * 10000 + e % 9973);
    dst.push_back(be->alloc(host.size() * sizeof(float)));
    be->upload(dst.back(), host.data(), host.size() * sizeof(float));
    want.push_back(host);
    std::fill(host.begin(), host.end(), -1.0f);  // the caller reuses its buffer at once
  }
  for (std::size_t i = 0; i < dst.size(); ++i) {
    std::vector<float> got(want[i].size());
    be->download(got.data(), dst[i], got.size() * sizeof(float));
    EXPECT_EQ(got, want[i]) << "upload " << i << " of " << want[i].size() << " floats";
    be->release(dst[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuUploads, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
