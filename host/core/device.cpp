#include "cumlp/device.h"

#include <cstdlib>
#include <fstream>

#include "cuda/backend.h"
#include "host/shared/error_macros.h"

namespace cumlp {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "host CPU";
}

// Why a device kind cannot be used in this build/on this machine ("" if it can).
std::string unavailable(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::CPU: return "";
    case DeviceKind::Sim:
#if defined(CUMLP_HAVE_SIM)
      return "";
#else
      return "this build has no SIMT simulator (configure with CUMLP_SIM=ON)";
#endif
    case DeviceKind::CUDA:
#if defined(CUMLP_HAVE_CUDA)
      return cuda_unavailable_reason(0);
#else
      return "this build has no CUDA support (configure with nvcc present, CUMLP_CUDA=ON)";
#endif
  }
  return "unknown device";
}

}  // namespace

std::string Device::name() const {
  switch (kind) {
    case DeviceKind::CPU: return "cpu";
    case DeviceKind::Sim: return "sim";
    case DeviceKind::CUDA: return "cuda:" + std::to_string(index);
  }
  return "?";
}

Device Device::best() {
  Device d;
  if (unavailable(DeviceKind::CUDA).empty()) d.kind = DeviceKind::CUDA;
  return d;
}

Device Device::parse(const std::string& text) {
  if (text == "auto") return best();
  Device d;
  if (text == "cpu") {
    d.kind = DeviceKind::CPU;
  } else if (text == "sim") {
    d.kind = DeviceKind::Sim;
  } else if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    d.kind = DeviceKind::CUDA;
    if (text.size() > 5) {
      const std::string idx = text.substr(5);
      CUMLP_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos && idx.size() < 4,
                  "device '", text, "': GPU index must be a number");
      d.index = std::atoi(idx.c_str());
    }
  } else {
    CUMLP_THROW("unknown device '", text, "' (expected auto, cpu, sim, cuda, cuda:N)");
  }
  const std::string why = unavailable(d.kind);
  CUMLP_CHECK(why.empty(), "device '", text, "': ", why);
  return d;
}

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  for (DeviceKind k : {DeviceKind::CPU, DeviceKind::Sim, DeviceKind::CUDA}) {
    DeviceInfo info;
    info.name = Device{k, 0}.name();
    info.description = k == DeviceKind::CPU ? cpu_model() : k == DeviceKind::Sim ? "SIMT simulator" : "NVIDIA GPU";
    info.why_not = unavailable(k);
    info.available = info.why_not.empty();
#if defined(CUMLP_HAVE_CUDA)
    if (k == DeviceKind::CUDA && info.available) info.description = cuda_device_name(0, &info.memory_gb);
#endif
    out.push_back(info);
  }
  return out;
}

}  // namespace cumlp
