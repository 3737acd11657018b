// `cumlp train` under mpirun or srun: the data-parallel options, joining the
// ranks, and who speaks for the job (rank 0 prints and writes; another rank
// prints only an error rank 0 cannot report: its own, or rank 0's failure).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli.h"
#include "cumlp/dist.h"

namespace cumlp::cli {

inline void add_dist_options(CLI::App& cmd, std::string& init, double& timeout) {
  cmd.add_option("--dist-init", init,
                 "How ranks find each other under mpirun/srun: env (the launcher's environment; cuda ranks get "
                 "NCCL's id over MPI); file:PATH (cuda ranks only: NCCL's id through a file in a folder every rank "
                 "sees, for srun without MPI; joins even a single process)")
      ->capture_default_str();
  cmd.add_option("--dist-timeout", timeout,
                 "Seconds a rank waits for the others before it stops, naming the rank that died or hangs (with "
                 "several ranks; reported either way)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

/// The communicator of this launch (null alone) for ranks training on
/// `device` (a --device value; cuda ranks join with nccl); ranks other than 0 go silent.
inline std::shared_ptr<Communicator> join_ranks(const std::string& init, double timeout, const std::string& device,
                                                DType dtype, Output& out) {
  // Ranks other than 0 stay silent even when joining fails (each would print
  // the same refusal); when rank 0 is the one missing (say, no --dist-init
  // file from it), rank 1 alone speaks for it.
  const int rank = detect_launch().rank;
  out.silent = rank != 0;
  try {
    return connect_ranks({init, timeout, Device::parse(device, dtype).type});
  } catch (const RankError& e) {
    if (rank == 1 && e.peer() == 0) std::fprintf(stderr, "error: %s\n", e.what());
    throw;
  }
}

/// Rank 0, or a process alone: prints progress and writes the run folder.
inline bool is_writer(const std::shared_ptr<Communicator>& comm) { return !comm || comm->rank() == 0; }

/// " x 4 ranks (mpi)" after the device name, or "" alone.
inline std::string ranks_text(const std::shared_ptr<Communicator>& comm) {
  if (!comm) return "";
  return " x " + std::to_string(comm->size()) + " ranks (" + comm->kind() + ")";
}

/// Runs the command; an error on a rank other than 0 is printed there only
/// when rank 0 cannot say it and the launcher is not ending the job
/// (`ended()`: a SIGTERM arrived): this rank's own error, or, on rank 1
/// alone, one that names rank 0 (dead or hung).
template <class F, class Ended>
void run_as_rank(const std::shared_ptr<Communicator>& comm, Ended&& ended, F&& command) {
  try {
    command();
  } catch (const RankError& e) {
    if (comm && comm->rank() == 1 && e.peer() == 0) {
      // mpirun ends a failed job by resuming its ranks and terminating them
      // (SIGCONT, then SIGTERM): a rank that was itself stopped wakes with an
      // expired deadline and would blame rank 0. Give the launcher's SIGTERM a
      // moment before speaking for rank 0.
      for (int i = 0; i < 20 && !ended(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!ended()) std::fprintf(stderr, "error: %s\n", e.what());
    }
    throw;
  } catch (const Error& e) {
    if (!is_writer(comm) && !ended()) std::fprintf(stderr, "error: rank %d: %s\n", comm->rank(), e.what());
    throw;
  }
}

}  // namespace cumlp::cli
