// The cpu device's registration (host/core/device_registry.cpp lists it).
#include <fstream>

#include "host/cpu/cpu_backend.h"
#include "host/shared/device_type.h"

namespace cumlp {

namespace {
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "host CPU";
}
}  // namespace

DeviceType cpu_device_type() {
  DeviceType t;
  t.name = "cpu";
  t.summary = "the CPU backend (OpenBLAS GEMM, AVX2 tiles), f32 and f64";
  t.auto_rank = 1;
  t.dtypes = {DType::F32, DType::F64};
  t.unavailable = [](int) { return std::string(); };
  t.describe = [](int, double*) { return cpu_model(); };
  t.make = [](int) { return make_cpu_backend(); };
  return t;
}

}  // namespace cumlp
