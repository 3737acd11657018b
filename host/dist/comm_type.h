// CommType: what a communicator kind registers, beside the devices' DeviceType
// (host/shared/device_type.h). host/dist/comm_registry.cpp lists them, one
// line each; connect_ranks() joins the ranks with the first usable one.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cumlp/dist.h"

namespace cumlp {

struct CommType {
  std::string name;                  // "mpi", "nccl"
  std::string summary;               // one line for `communicator_kinds()`
  std::vector<std::string> devices;  // the device types whose ranks it serves
  /// Why it cannot be used in this build; "" when it can.
  std::function<std::string()> unavailable;
  /// Joins the ranks `launch` describes (called only when usable).
  std::function<std::shared_ptr<Communicator>(const LaunchInfo& launch, const DistOptions& options)> connect;
};

// Each communicator that is built defines its entry: host/dist/mpi_comm.cpp
// (CUMLP_MPI), host/dist/nccl_comm.cpp (CUMLP_NCCL).
CommType mpi_comm_type();
CommType nccl_comm_type();

/// Every communicator kind, in the order connect_ranks() tries them.
const std::vector<CommType>& comm_types();

/// The entry of a kind this build does not contain, with the reason.
inline CommType not_built_comm(std::string name, std::string summary, std::vector<std::string> devices,
                               std::string why) {
  CommType t;
  t.name = std::move(name);
  t.summary = std::move(summary);
  t.devices = std::move(devices);
  t.unavailable = [why = std::move(why)] { return why; };
  return t;
}

}  // namespace cumlp
