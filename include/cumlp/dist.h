// Data-parallel training across processes: a communicator joins the ranks
// that mpirun (or srun --mpi=pmix) started, and a Network given one in
// NetworkOptions::communicator trains on the global batch split across them.
//
//   auto comm = cumlp::connect_ranks({.timeout_seconds = 60, .device = "cpu"});  // null when launched alone
//   cumlp::Network net(spec, opt, {.device = dev, .seed = 777, .communicator = comm});
//   net.train_step(x, y);  // x, y: the GLOBAL batch; this rank computes its rows only
//
// Each rank computes the gradient of its shard of the batch; the shards'
// gradients are summed, weighted by their rows, in a fixed order so a fixed
// world size gives the same bits run to run, and every rank applies the same
// update. Communicators register beside the devices
// (host/dist/comm_registry.cpp): `nccl` serves cuda ranks (NCCL, loaded at
// run time; the gradients stay on the GPU), `mpi` serves cpu and sim ranks
// (gradients staged through host memory, summed in rank order).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/error.h"
#include "cumlp/export.h"

namespace cumlp {

/// How this process was launched: by mpirun/srun as one of several ranks, or alone.
struct LaunchInfo {
  std::string launcher;  ///< "mpirun" (OMPI_COMM_WORLD_*), "pmi" (PMI_*/PMIX_*), "srun" (SLURM_*), "" alone
  int rank = 0;          ///< this process's rank in [0, size)
  int size = 1;          ///< number of ranks
  int local_rank = 0;    ///< rank on this node (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, else LOCAL_RANK): cuda:local_rank
};

/// Reads the launcher's environment; {"" , 0, 1, 0} for a process started alone.
CUMLP_API LaunchInfo detect_launch();

/// What a collective throws when another rank failed, hung or disagrees.
class CUMLP_API RankError : public Error {
 public:
  RankError(const std::string& message, int peer, const char* file = nullptr, int line = 0);
  ~RankError() override;
  /// The rank the message names (the one that did not answer or differs); -1 when unknown.
  int peer() const noexcept { return peer_; }

 private:
  int peer_;
};

/// The ranks of one data-parallel job. Every call is collective: all ranks
/// make it in the same order. A peer that does not take part within
/// timeout_seconds() (dead or hung) makes the call throw Error naming it.
class CUMLP_API Communicator {
 public:
  virtual ~Communicator();
  /// The registered kind ("mpi", "nccl").
  virtual std::string kind() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Rank among the ranks on this node.
  virtual int local_rank() const = 0;
  /// Seconds a collective waits for a peer before it throws.
  virtual double timeout_seconds() const = 0;
  /// Element-wise sum over the ranks, in place, in a fixed order (mpi: rank
  /// order 0, 1, ...; nccl: NCCL's ring or tree, fixed for a world size and
  /// topology) so every rank gets the same bits and a run repeats bit for bit.
  virtual void sum(std::span<double> values) = 0;
  /// Throws Error unless every rank passes the same value, naming `what` and
  /// the first rank whose value differs from rank 0's.
  virtual void check_same(uint64_t value, const std::string& what) = 0;
  /// Marks the job failed: the communicator then shuts down without waiting
  /// for the other ranks (they time out or are ended by the launcher).
  virtual void abandon() noexcept = 0;
};

struct DistOptions {
  /// "env": join the ranks the launcher's environment describes (cuda ranks:
  /// rank 0's NCCL id travels over MPI). "file:PATH": cuda ranks only, NCCL
  /// bootstrapped through a file in a folder every rank sees (srun without
  /// MPI); rank 0 writes PATH, the others wait for it (host/dist/file_rendezvous.h).
  std::string init = "env";
  double timeout_seconds = 60;  ///< > 0: how long a collective waits for a peer
  /// The device type the ranks train on: "cuda" joins with nccl; "cpu",
  /// "sim" or "" (not said) with mpi.
  std::string device = "";
};

/// Joins the ranks of this launch with the communicator kind that serves
/// options.device. Returns null when the process runs alone (no launcher, or
/// a launcher with one rank), except with init "file:PATH", which asks for
/// NCCL by name and joins even one rank. Throws Error when launched as
/// several ranks but this build cannot join them ("would train N separate
/// models"), on an invalid option (file: for cpu/sim ranks), when a cuda
/// rank has no GPU of its own or no loadable libnccl.so.2, or when the ranks
/// cannot connect within timeout_seconds.
CUMLP_API std::shared_ptr<Communicator> connect_ranks(const DistOptions& options = {});

/// The communicator kinds this library knows, with a one-line summary and, for
/// those it cannot use, why (e.g. "mpi: this build has no MPI ...").
CUMLP_API std::vector<std::string> communicator_kinds();

/// Rows [begin, end) of a global batch of `rows` that rank `rank` of `size`
/// computes: floor or ceil(rows / size) each, in rank order.
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t rows() const { return end - begin; }
};
CUMLP_API Shard shard_of(int64_t rows, int rank, int size);

/// The device rank `comm.rank()` trains on: for an indexed type (cuda) the
/// instance local_rank() of this node, so rank i of a node uses cuda:i; other
/// types unchanged. Throws Error when the node has fewer GPUs than ranks (two
/// ranks on one GPU are refused).
CUMLP_API Device device_for_rank(const Device& device, const Communicator& comm);

}  // namespace cumlp
