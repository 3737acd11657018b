#include "host/core/device_registry.h"

#include "host/shared/error_macros.h"

namespace cumlp {

// Each device folder defines its entry (host/cpu/cpu_device.cpp, cuda/backend.cu).
DeviceType cpu_device_type();
DeviceType sim_device_type();
DeviceType cuda_device_type();

const std::vector<DeviceType>& device_types() {
  // One line per device type. To add a device: a folder with its Backend and
  // a function returning its DeviceType, and one line here.
  static const std::vector<DeviceType> types = {
      cpu_device_type(),
#if defined(CUMLP_HAVE_SIM)
      sim_device_type(),
#else
      not_built_device("sim", "the CUDA kernels run on the CPU by the SIMT simulator", false,
                       "this build has no SIMT simulator (configure with CUMLP_SIM=ON)"),
#endif
#if defined(CUMLP_HAVE_CUDA)
      cuda_device_type(),
#else
      not_built_device("cuda", "an NVIDIA GPU (cuda = cuda:0)", true,
                       "this build has no CUDA support (configure with nvcc present, CUMLP_CUDA=ON)"),
#endif
  };
  return types;
}

const DeviceType* find_device_type(const std::string& name) {
  for (const DeviceType& t : device_types())
    if (t.name == name) return &t;
  return nullptr;
}

std::unique_ptr<Backend> make_backend(const Device& d) {
  const DeviceType* t = find_device_type(d.type);
  CUMLP_CHECK(t, "unknown device type '", d.type, "' (expected ", device_choices(), ")");
  CUMLP_CHECK(t->indexed || d.index == 0, "device ", d.type, " has no instance ", d.index);
  const std::string why = t->unavailable(d.index);
  CUMLP_CHECK(why.empty(), "device ", d.name(), ": ", why);
  return t->make(d.index);
}

}  // namespace cumlp
