#include "host/dist/comm_type.h"

namespace cumlp {

// Each communicator defines its entry (host/dist/mpi_comm.cpp).
CommType mpi_comm_type();

const std::vector<CommType>& comm_types() {
  // One line per communicator kind, as device_registry.cpp lists the devices.
  static const std::vector<CommType> types = {
#if defined(CUMLP_HAVE_MPI)
      mpi_comm_type(),
#else
      not_built_comm("mpi", "MPI (OpenMPI) collectives; gradients staged through host memory", {"cpu", "sim", "cuda"},
                     "this build has no MPI (install libopenmpi-dev, e.g. by tools/setup.sh, and reconfigure)"),
#endif
      not_built_comm("nccl", "NCCL collectives on the GPU, inside the recorded step", {"cuda"},
                     "not implemented in this version: cuda ranks use the mpi communicator"),
  };
  return types;
}

std::vector<std::string> communicator_kinds() {
  std::vector<std::string> out;
  for (const CommType& t : comm_types()) {
    const std::string why = t.unavailable();
    out.push_back(t.name + ": " + t.summary + (why.empty() ? "" : " (unavailable: " + why + ")"));
  }
  return out;
}

}  // namespace cumlp
