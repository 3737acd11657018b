// How this process was started (detect_launch), joining the ranks
// (connect_ranks) and the split of a global batch (shard_of).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "cumlp/dist.h"
#include "host/dist/comm_type.h"
#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
// The integer value of environment variable `name`, or `fallback` when unset or not a number.
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return *end == '\0' && x >= 0 && x < (1L << 30) ? static_cast<int>(x) : fallback;
}
bool env_set(const char* name) { return std::getenv(name) != nullptr; }
}  // namespace

Communicator::~Communicator() = default;

RankError::RankError(const std::string& message, int peer, const char* file, int line)
    : Error(message, file, line), peer_(peer) {}
RankError::~RankError() = default;

Device device_for_rank(const Device& device, const Communicator& comm) {
  if (device.type != "cuda") return device;
  int count = 0;  // the usable GPUs of this node
  for (const DeviceInfo& d : list_devices())
    if (d.name.rfind("cuda:", 0) == 0 && d.available) ++count;
  CUMLP_CHECK(comm.local_rank() < count, "rank ", comm.rank(), " is rank ", comm.local_rank(),
              " on its node, which has ", count, " usable GPU", count == 1 ? "" : "s",
              ": two ranks on one GPU are refused (start at most one rank per GPU)");
  Device d = device;
  d.index = comm.local_rank();
  return d;
}

LaunchInfo detect_launch() {
  LaunchInfo l;
  if (env_set("OMPI_COMM_WORLD_SIZE")) {  // OpenMPI's mpirun
    l.launcher = "mpirun";
    l.size = env_int("OMPI_COMM_WORLD_SIZE", 1);
    l.rank = env_int("OMPI_COMM_WORLD_RANK", 0);
    l.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  } else if (env_set("PMI_SIZE")) {  // MPICH/Hydra and other PMI launchers
    l.launcher = "pmi";
    l.size = env_int("PMI_SIZE", 1);
    l.rank = env_int("PMI_RANK", 0);
    l.local_rank = env_int("MPI_LOCALRANKID", env_int("PMI_LOCAL_RANK", env_int("LOCAL_RANK", 0)));
  } else if (env_set("SLURM_NTASKS") && env_set("SLURM_PROCID")) {  // srun (with or without --mpi=pmix)
    l.launcher = "srun";
    l.size = env_int("SLURM_NTASKS", 1);
    l.rank = env_int("SLURM_PROCID", 0);
    l.local_rank = env_int("SLURM_LOCALID", env_int("LOCAL_RANK", 0));
  }
  return l;
}

std::shared_ptr<Communicator> connect_ranks(const DistOptions& o) {
  CUMLP_CHECK(std::isfinite(o.timeout_seconds) && o.timeout_seconds > 0, "--dist-timeout must be > 0 seconds, got ",
              o.timeout_seconds);
  const bool by_file = o.init.rfind("file:", 0) == 0;
  CUMLP_CHECK(o.init == "env" || by_file, "--dist-init must be env or file:PATH, got '", o.init, "'");
  const std::string device = o.device.empty() ? "cpu" : o.device;
  if (by_file) {
    CUMLP_CHECK(o.init.size() > 5, "--dist-init file:PATH needs a path (a file in a folder every rank sees)");
    CUMLP_CHECK(device == "cuda", "--dist-init ", o.init, " bootstraps NCCL, which serves cuda ranks only; ",
                device, " ranks join over MPI: launch with mpirun or srun --mpi=pmix and --dist-init env");
  }
  const LaunchInfo l = detect_launch();
  // Alone there is nothing to join, except that file: asks for NCCL by name
  // (a communicator of one rank: how one GPU exercises the NCCL path).
  if (l.size <= 1 && !by_file) return nullptr;
  CUMLP_CHECK(l.rank < l.size, l.launcher, " says rank ", l.rank, " of ", l.size, " ranks");
  std::string why_not;
  for (const CommType& t : comm_types()) {
    if (std::find(t.devices.begin(), t.devices.end(), device) == t.devices.end()) continue;
    const std::string why = t.unavailable();
    if (why.empty()) return t.connect(l, o);
    why_not += "; " + t.name + ": " + why;
  }
  CUMLP_THROW("started ", l.launcher.empty() ? std::string("alone") : "by " + l.launcher, " as rank ", l.rank,
              " of ", l.size, ", but this build cannot join ranks", why_not.empty() ? "; no communicator serves " +
              device + " ranks" : why_not, "; refusing to train ", l.size, " separate models");
}

Shard shard_of(int64_t rows, int rank, int size) {
  CUMLP_CHECK(size >= 1 && rank >= 0 && rank < size && rows >= 0, "shard_of: rank ", rank, " of ", size, ", ", rows,
              " rows");
  return {rows * rank / size, rows * (rank + 1) / size};
}

}  // namespace cumlp
