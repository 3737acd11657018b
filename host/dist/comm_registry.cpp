#include "host/dist/comm_type.h"

namespace cumlp {

const std::vector<CommType>& comm_types() {
  // One line per communicator kind, as device_registry.cpp lists the devices.
  // connect_ranks() takes the first kind that serves the ranks' device type.
  static const std::vector<CommType> types = {
#if defined(CUMLP_HAVE_NCCL)
      nccl_comm_type(),
#else
      not_built_comm("nccl", "NCCL collectives on the GPU (libnccl.so.2 loaded at run time)", {"cuda"},
                     "this build has no NCCL support (it needs the CUDA backend and nccl.h at build time: "
                     "reconfigure with CUMLP_CUDA=ON and NCCL's headers installed)"),
#endif
#if defined(CUMLP_HAVE_MPI)
      mpi_comm_type(),
#else
      not_built_comm("mpi", "MPI (OpenMPI) collectives; gradients staged through host memory", {"cpu", "sim"},
                     "this build has no MPI (install libopenmpi-dev, e.g. by tools/setup.sh, and reconfigure)"),
#endif
  };
  return types;
}

std::vector<std::string> communicator_kinds() {
  std::vector<std::string> out;
  for (const CommType& t : comm_types()) {
    std::string devices;
    for (const std::string& d : t.devices) devices += (devices.empty() ? "" : ", ") + d;
    const std::string why = t.unavailable();
    out.push_back(t.name + ": " + t.summary + "; for " + devices + " ranks" +
                  (why.empty() ? "" : " (unavailable: " + why + ")"));
  }
  return out;
}

}  // namespace cumlp
