// The device registry: names, parsing, `auto` by dtype and the device list
// come from the registered types, with reasons for what cannot run here.
#include <gtest/gtest.h>

#include "cumlp/device.h"
#include "cumlp/error.h"
#include "host/core/device_registry.h"

namespace cumlp {
namespace {

TEST(DeviceRegistry, EveryTypeIsNamedParsedAndListed) {
  const std::string choices = device_choices();
  std::vector<std::string> listed;
  for (const DeviceInfo& d : list_devices()) listed.push_back(d.name);
  for (const DeviceType& t : device_types()) {
    EXPECT_NE(choices.find(t.name), std::string::npos) << t.name;
    EXPECT_NE(std::find(listed.begin(), listed.end(), t.indexed ? t.name + ":0" : t.name), listed.end()) << t.name;
    ASSERT_TRUE(t.unavailable) << t.name;
    if (!t.unavailable(0).empty()) {
      EXPECT_THROW(Device::parse(t.name), Error) << t.name;
      continue;
    }
    const Device d = Device::parse(t.name);
    EXPECT_EQ(d.type, t.name);
    EXPECT_EQ(d.index, 0);
    auto backend = make_backend(d);
    ASSERT_NE(backend, nullptr);
    for (DType dt : t.dtypes) EXPECT_TRUE(backend->supports(dt)) << t.name << " " << dtype_name(dt);
  }
  EXPECT_EQ(choices.rfind("auto", 0), 0u);
}

TEST(DeviceRegistry, AutoPicksAUsableDeviceThatComputesInTheDtype) {
  for (DType dt : {DType::F32, DType::F64}) {
    const Device d = Device::best(dt);
    const DeviceType* t = find_device_type(d.type);
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->supports(dt)) << d.name() << " for " << dtype_name(dt);
    EXPECT_TRUE(t->unavailable(d.index).empty());
    EXPECT_EQ(Device::parse("auto", dt), d);
  }
  // Only the cpu computes in f64: auto never hands f64 work to a GPU.
  EXPECT_EQ(Device::best(DType::F64).name(), "cpu");
}

TEST(DeviceRegistry, BadNamesSayWhatIsAccepted) {
  try {
    Device::parse("tpu");
    FAIL() << "tpu parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown device 'tpu' (expected " + device_choices() + ")"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Device::parse("cpu:1"), Error);   // not an indexed type
  EXPECT_THROW(Device::parse("cuda:x"), Error);  // not a number
  EXPECT_THROW(make_backend(Device{"tpu", 0}), Error);
  EXPECT_THROW(make_backend(Device{"cpu", 1}), Error);
}

}  // namespace
}  // namespace cumlp
