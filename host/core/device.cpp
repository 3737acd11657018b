// Device names, parsing, `auto` and the device list, all over the registry
// (host/core/device_registry.cpp): nothing here knows a particular device.
#include "cumlp/device.h"

#include <algorithm>
#include <cstdlib>

#include "host/core/device_registry.h"
#include "host/shared/error_macros.h"

namespace cumlp {

std::string Device::name() const {
  const DeviceType* t = find_device_type(type);
  return t && !t->indexed ? type : type + ":" + std::to_string(index);
}

std::string device_choices() {
  std::string s = "auto";
  for (const DeviceType& t : device_types()) s += ", " + t.name + (t.indexed ? ", " + t.name + ":N" : "");
  return s;
}

void check_precision(const Device& device, DType dtype, Precision precision) {
  if (precision == Precision::FP32) return;
  const DeviceType* t = find_device_type(device.type);
  CUMLP_CHECK(t && t->tensor_gemm, "precision ", precision_name(precision),
              " needs a cuda or sim device (a tensor-core GEMM); device ", device.name(), " computes in fp32 only");
  CUMLP_CHECK(dtype == DType::F32, "precision ", precision_name(precision),
              " needs dtype f32 (it rounds fp32 GEMM operands), got ", dtype_name(dtype));
}

Device Device::best(DType dtype) {
  const DeviceType* pick = nullptr;
  int pick_index = 0;
  for (const DeviceType& t : device_types()) {
    if (t.auto_rank <= 0 || !t.supports(dtype) || (pick && t.auto_rank <= pick->auto_rank)) continue;
    for (int i = 0, n = std::max(1, t.count()); i < n; ++i)
      if (t.unavailable(i).empty()) {
        pick = &t;
        pick_index = i;
        break;
      }
  }
  CUMLP_CHECK(pick, "device 'auto': no usable device computes in ", dtype_name(dtype));
  return Device{pick->name, pick_index};
}

Device Device::parse(const std::string& text, DType dtype) {
  if (text == "auto") return best(dtype);
  const std::size_t colon = text.find(':');
  Device d{text.substr(0, colon), 0};
  const DeviceType* t = find_device_type(d.type);
  CUMLP_CHECK(t, "unknown device '", text, "' (expected ", device_choices(), ")");
  if (colon != std::string::npos) {
    const std::string idx = text.substr(colon + 1);
    CUMLP_CHECK(t->indexed, "device '", text, "': ", t->name, " takes no index");
    CUMLP_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos && idx.size() < 4,
                "device '", text, "': the index must be a number");
    d.index = std::atoi(idx.c_str());
  }
  const std::string why = t->unavailable(d.index);
  CUMLP_CHECK(why.empty(), "device '", text, "': ", why);
  return d;
}

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  for (const DeviceType& t : device_types()) {
    for (int i = 0, n = std::max(1, t.count()); i < n; ++i) {
      DeviceInfo info;
      info.name = Device{t.name, i}.name();
      info.description = t.summary;
      info.why_not = t.unavailable(i);
      info.available = info.why_not.empty();
      if (info.available) info.description = t.describe(i, &info.memory_gb);
      for (DType dt : t.dtypes) info.dtypes.push_back(dtype_name(dt));
      out.push_back(info);
    }
  }
  return out;
}

}  // namespace cumlp
