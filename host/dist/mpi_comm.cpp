// The mpi communicator: OpenMPI point-to-point messages with a deadline.
//
// sum() is a reduce-scatter then an all-gather, both fixed-order: rank j owns
// segment j of the buffer, receives that segment from every rank, adds the
// copies in rank order 0, 1, ... (the same order on every run, unlike
// MPI_Allreduce, whose algorithm may change the order), and sends the result
// back to every rank. Each message is posted non-blocking and polled until
// the deadline, so a rank that died or hangs is named instead of waited for.
// The C API only: OpenMPI's C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "host/dist/comm_type.h"
#include "host/shared/error_macros.h"

namespace cumlp {

namespace {

using Clock = std::chrono::steady_clock;

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(code, text, &n);
  return std::string(text, static_cast<std::size_t>(n));
}

// One message to or from a peer: its buffer and bytes.
struct Part {
  void* data = nullptr;
  std::size_t bytes = 0;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(const LaunchInfo& launch, double timeout) : timeout_(timeout) {
    int finalized = 0, initialized = 0;
    MPI_Finalized(&finalized);
    CUMLP_CHECK(!finalized, "MPI was shut down already in this process (keep one communicator for its lifetime)");
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      CUMLP_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                  "MPI_Init failed for rank ", launch.rank, " of ", launch.size);
      owns_mpi_ = true;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    if (size_ != launch.size) {
      abandon();
      CUMLP_THROW(launch.launcher, " started ", launch.size, " ranks but MPI joined ", size_,
                  (launch.launcher == "srun" ? " (launch with srun --mpi=pmix)" : ""));
    }
  }

  ~MpiCommunicator() override {
    if (abandoned_) return;  // a peer may be gone: finalizing could wait for it forever
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  std::string kind() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  double timeout_seconds() const override { return timeout_; }
  void abandon() noexcept override { abandoned_ = true; }

  void sum(std::span<double> values) override {
    const auto n = values.size();
    const auto seg = [&](int j) { return std::span<double>(values).subspan(n * j / size_, n * (j + 1) / size_ - n * j / size_); };
    const std::span<double> mine = seg(rank_);
    copies_.resize(mine.size() * static_cast<std::size_t>(size_));
    // Reduce-scatter: segment j to rank j; rank q's copy of my segment into copies_[q].
    std::vector<Part> send(size_), recv(size_);
    for (int q = 0; q < size_; ++q) {
      send[q] = {seg(q).data(), seg(q).size_bytes()};
      recv[q] = {copies_.data() + mine.size() * q, mine.size_bytes()};
    }
    exchange(send, recv, kTagScatter, "the gradient sum");
    for (std::size_t e = 0; e < mine.size(); ++e) {
      double acc = copies_[e];
      for (int q = 1; q < size_; ++q) acc += copies_[mine.size() * q + e];
      mine[e] = acc;
    }
    // All-gather: my summed segment to every rank, segment q from rank q.
    for (int q = 0; q < size_; ++q) {
      send[q] = {mine.data(), mine.size_bytes()};
      recv[q] = {seg(q).data(), seg(q).size_bytes()};
    }
    exchange(send, recv, kTagGather, "the gradient sum");
  }

  void check_same(uint64_t value, const std::string& what) override {
    std::vector<uint64_t> all(size_, value);
    std::vector<Part> send(size_, Part{&value, sizeof value}), recv(size_);
    for (int q = 0; q < size_; ++q) recv[q] = {&all[q], sizeof(uint64_t)};
    exchange(send, recv, kTagCheck, "the start-up check of " + what);
    for (int q = 1; q < size_; ++q)
      if (all[q] != all[0]) {
        abandon();
        throw RankError(detail::concat("rank ", q, "'s ", what, " differ from rank 0's; every rank must be started "
                                       "with the same arguments and files"), q, __FILE__, __LINE__);
      }
  }

 private:
  static constexpr int kTagScatter = 1, kTagGather = 2, kTagCheck = 3;

  // Sends send[q] to and receives recv[q] from every other rank q (this
  // rank's own part is copied), waiting at most timeout_ for all of them.
  void exchange(const std::vector<Part>& send, const std::vector<Part>& recv, int tag, const std::string& what) {
    if (recv[rank_].data != send[rank_].data) std::memcpy(recv[rank_].data, send[rank_].data, send[rank_].bytes);
    std::vector<MPI_Request> reqs;
    std::vector<int> peer;  // of each request
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      reqs.emplace_back();
      peer.push_back(q);
      check(MPI_Irecv(recv[q].data, static_cast<int>(recv[q].bytes), MPI_BYTE, q, tag, comm_, &reqs.back()), what);
    }
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      reqs.emplace_back();
      peer.push_back(q);
      check(MPI_Isend(send[q].data, static_cast<int>(send[q].bytes), MPI_BYTE, q, tag, comm_, &reqs.back()), what);
    }
    const auto patience = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_));
    auto deadline = Clock::now() + patience, last_poll = Clock::now();
    std::vector<int> done(reqs.size());
    int left = static_cast<int>(reqs.size());
    bool was_stopped = false;
    while (left > 0) {
      // Peers are blamed only for time this rank ran: after a gap in polling
      // (this process was stopped or starved) the wait starts again.
      if (Clock::now() - last_poll > std::chrono::seconds(1)) {
        deadline = Clock::now() + patience;
        was_stopped = true;
      }
      last_poll = Clock::now();
      int count = 0;
      check(MPI_Testsome(static_cast<int>(reqs.size()), reqs.data(), &count, done.data(), MPI_STATUSES_IGNORE), what);
      if (count != MPI_UNDEFINED) left -= count;
      if (left == 0) break;
      if (Clock::now() > deadline) {
        int missing = 0;
        for (std::size_t i = 0; i < reqs.size(); ++i)
          if (reqs[i] != MPI_REQUEST_NULL) {
            missing = peer[i];
            break;
          }
        abandon();
        if (was_stopped)  // this rank was the one not running: it names itself, its peers gave up on it
          throw RankError(detail::concat("rank ", rank_, " was stopped during ", what, "; rank ", missing,
                                         " did not wait for it"), rank_, __FILE__, __LINE__);
        throw RankError(detail::concat("rank ", missing, " did not take part in ", what, " within ", timeout_,
                                       " s (--dist-timeout): it died or hangs; rank ", rank_, " stops"),
                        missing, __FILE__, __LINE__);
      }
      // Oversubscribed ranks share cores: let the peers run.
      if (count == 0 || count == MPI_UNDEFINED) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  void check(int code, const std::string& what) {
    if (code == MPI_SUCCESS) return;
    abandon();
    throw RankError(detail::concat("MPI failed in ", what, " on rank ", rank_, ": ", mpi_error(code),
                                   " (a rank died?)"), -1, __FILE__, __LINE__);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_;
  bool owns_mpi_ = false, abandoned_ = false;
  std::vector<double> copies_;  // size_ copies of this rank's segment
};

}  // namespace

CommType mpi_comm_type() {
  CommType t;
  t.name = "mpi";
  t.summary = "MPI (OpenMPI) collectives; gradients staged through host memory";
  t.devices = {"cpu", "sim"};
  t.unavailable = [] { return std::string(); };
  t.connect = [](const LaunchInfo& launch, const DistOptions& o) -> std::shared_ptr<Communicator> {
    return std::make_shared<MpiCommunicator>(launch, o.timeout_seconds);
  };
  return t;
}

}  // namespace cumlp
