// The `--dist-init file:PATH` rendezvous: rank 0 publishes a small blob (the
// NCCL unique id) in a file of a folder every rank sees, the other ranks poll
// for it. Used where no MPI starts the ranks (srun without --mpi=pmix); kept
// apart from NCCL so it is tested with plain processes on any machine.
//
// The file is text: a magic line, the job key, the world size and the blob in
// hex. It is written to PATH.tmp.<pid> and renamed onto PATH, so a reader sees
// either no file or a whole one.
//
// Stale files: a file left by an earlier run (a crash, or the previous job in
// the same folder) must not be read as this run's. Rank 0 removes PATH before
// it writes, and a reader accepts only a file whose job key and world size are
// its own; any other file is taken for a stale one and waited past (rank 0 is
// about to replace it) until the timeout, whose error then names what was
// found. The job key is the launcher's id of the job: SLURM_JOB_ID.SLURM_STEP_ID
// under srun, else PMIX_NAMESPACE; with several ranks and neither set the
// route is refused (two runs could not be told apart). Rank 0 removes the file
// again once every rank has joined (remove_rendezvous_file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/dist.h"

namespace cumlp {

/// The job key of this launch from the environment (see above); "" when the
/// launcher gives none.
std::string rendezvous_job_key();

/// Rank 0 (launch.rank == 0) writes `blob` to `path` and returns it; every
/// other rank waits up to timeout_seconds for rank 0's file of this job and
/// returns its blob. Throws Error naming the path, the rank and what went
/// wrong: no file (rank 0 did not start, or PATH is not in a shared folder),
/// a stale file of another job or world size, a malformed file, or an I/O error.
std::vector<unsigned char> rendezvous_through_file(const std::string& path, const LaunchInfo& launch,
                                                   const std::string& job_key, const std::vector<unsigned char>& blob,
                                                   double timeout_seconds);

/// Rank 0's tidy-up once every rank has read the file; never throws.
void remove_rendezvous_file(const std::string& path) noexcept;

}  // namespace cumlp
