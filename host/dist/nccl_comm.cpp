// The nccl communicator: NCCL collectives between cuda ranks, one GPU each
// (cuda:local_rank), libnccl.so.2 loaded at run time (nccl_library.h).
//
// Bootstrap: rank 0's ncclUniqueId reaches the others over MPI under mpirun
// or srun --mpi=pmix (--dist-init env: the mpi communicator is joined first
// and kept for the job's lifetime), or through a file in a shared folder
// under srun without MPI (--dist-init file:PATH, file_rendezvous.h).
//
// The gradient sum (DeviceSum) is one in-place ncclAllReduce over the flat
// gradient buffer in device memory, with NCCL's pre-multiplied sum: each rank
// scales its mean gradient by its rows / global rows. Op by op
// (sum_on_device) it runs on this communicator's own stream, after the
// backend's stream has been synchronized, and the host waits for it before the
// optimizer launch. Stream-ordered (enqueue_sum) it runs on the caller's
// stream, the backend's side stream, inside the recorded step graph: "NCCL's
// collective, P2P and group operations all support CUDA Graph captures"
// (NCCL >= 2.9, CUDA >= 11.3; NCCL User Guide, "Using NCCL with CUDA
// Graphs"), provided every rank captures the same calls, which the executor's
// recording rule (by global batch size, the same on every rank) gives. A
// pre-multiplied sum's operator is made once per scale and kept until the
// communicator ends, so a replayed graph never refers to a destroyed one. The
// sum's order is NCCL's (ring or tree), the
// same on every rank and, for a fixed world size and topology, run to run;
// not rank order 0, 1, ... as the mpi communicator's.
//
// Bounded waits: the communicator is non-blocking; every wait polls
// ncclCommGetAsyncError and the stream until --dist-timeout, then aborts the
// communicator and throws one RankError line (NCCL does not say which peer
// is missing).
#include <cuda_runtime.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "host/dist/comm_type.h"
#include "host/dist/device_sum.h"
#include "host/dist/file_rendezvous.h"
#include "host/dist/nccl_library.h"
#include "host/shared/error_macros.h"

namespace cumlp {

namespace {

using Clock = std::chrono::steady_clock;

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) CUMLP_THROW("nccl communicator: ", what, ": ", cudaGetErrorString(e));
}

// Who this rank is and how it got rank 0's NCCL id.
struct Joined {
  int rank = 0, size = 1, local_rank = 0;
  std::shared_ptr<Communicator> mpi;  // --dist-init env: kept alive (it owns MPI's lifetime)
  std::string file;                   // --dist-init file:PATH: rank 0 removes it once all joined
  ncclUniqueId id{};
};

void choose_gpu_and_share_id(const NcclLibrary& nccl, const LaunchInfo& l, const DistOptions& o, Joined& j);

Joined bootstrap(const NcclLibrary& nccl, const LaunchInfo& l, const DistOptions& o) {
  Joined j;
  const bool by_file = o.init.rfind("file:", 0) == 0;
  if (by_file) {
    j.rank = l.rank, j.size = l.size, j.local_rank = l.local_rank;
    j.file = o.init.substr(5);
  } else {
#if defined(CUMLP_HAVE_MPI)
    j.mpi = mpi_comm_type().connect(l, o);
    j.rank = j.mpi->rank(), j.size = j.mpi->size(), j.local_rank = j.mpi->local_rank();
#else
    CUMLP_THROW("cuda ranks started by ", l.launcher, " get NCCL's id over MPI, which this build has no; use "
                "--dist-init file:PATH (a file in a folder every rank sees)");
#endif
  }
  try {
    choose_gpu_and_share_id(nccl, l, o, j);
  } catch (...) {
    if (j.mpi) j.mpi->abandon();  // the peers fail alike or time out: finalizing could wait for them
    throw;
  }
  return j;
}

void choose_gpu_and_share_id(const NcclLibrary& nccl, const LaunchInfo& l, const DistOptions& o, Joined& j) {
  const bool by_file = !j.file.empty();
  // One GPU per rank, before NCCL starts (NCCL itself refuses a shared GPU, less clearly).
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess) gpus = 0;
  CUMLP_CHECK(j.local_rank < gpus, "rank ", j.rank, " is rank ", j.local_rank, " on its node, which has ", gpus,
              " usable GPU", gpus == 1 ? "" : "s", ": two ranks on one GPU are refused (start at most one rank per GPU)");
  cuda_check(cudaSetDevice(j.local_rank), "cudaSetDevice(local rank)");
  if (j.rank == 0) {
    const ncclResult_t r = nccl.GetUniqueId(&j.id);
    CUMLP_CHECK(r == ncclSuccess, nccl.error("ncclGetUniqueId on rank 0", r));
  }
  std::vector<unsigned char> id(reinterpret_cast<unsigned char*>(&j.id),
                                reinterpret_cast<unsigned char*>(&j.id) + sizeof j.id);
  if (by_file) {
    id = rendezvous_through_file(j.file, l, rendezvous_job_key(), id, o.timeout_seconds);
  } else {
    // A broadcast through the mpi communicator's sum: rank 0 adds the id's
    // bytes, the others zeros (each byte is exact in a double).
    std::vector<double> bytes(id.size(), 0.0);
    if (j.rank == 0)
      for (std::size_t i = 0; i < id.size(); ++i) bytes[i] = id[i];
    j.mpi->sum(bytes);
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<unsigned char>(bytes[i]);
  }
  CUMLP_CHECK(id.size() == sizeof j.id, "the NCCL id has ", id.size(), " bytes, not ", sizeof j.id);
  std::memcpy(&j.id, id.data(), sizeof j.id);
}

// A process with no GPU is refused before NCCL is looked for.
const NcclLibrary& nccl_for_a_gpu(const LaunchInfo& l) {
  int gpus = 0;
  const cudaError_t e = cudaGetDeviceCount(&gpus);
  CUMLP_CHECK(e == cudaSuccess && gpus > 0, "rank ", l.rank, " of ", l.size, " is a cuda rank but this process sees no "
              "usable GPU (", e == cudaSuccess ? "none found" : cudaGetErrorString(e), ")");
  return nccl_library();
}

class NcclCommunicator final : public Communicator, public DeviceSum {
 public:
  NcclCommunicator(const LaunchInfo& l, const DistOptions& o)
      : nccl_(nccl_for_a_gpu(l)), timeout_(o.timeout_seconds), joined_(bootstrap(nccl_, l, o)) {
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // every call returns at once; wait() bounds the waiting
    const ncclResult_t r = nccl_.CommInitRankConfig(&comm_, joined_.size, joined_.id, joined_.rank, &config);
    if (r != ncclSuccess && r != ncclInProgress) {
      cudaStreamDestroy(stream_);
      if (joined_.mpi) joined_.mpi->abandon();
      CUMLP_THROW(nccl_.error("ncclCommInitRankConfig", r));
    }
    try {
      wait("joining the NCCL communicator", nullptr);
    } catch (...) {
      if (comm_) nccl_.CommAbort(comm_);
      cudaStreamDestroy(stream_);
      if (joined_.mpi) joined_.mpi->abandon();
      throw;
    }
    // Every rank has joined, so every rank has read the file.
    if (joined_.rank == 0 && !joined_.file.empty()) remove_rendezvous_file(joined_.file);
  }

  ~NcclCommunicator() override {
    if (comm_ && !abandoned_)
      for (const auto& [key, op] : ops_) (void)nccl_.RedOpDestroy(op, comm_);
    if (comm_ && !abandoned_ && nccl_.CommFinalize(comm_) == ncclInProgress) {
      try {
        wait("finalizing", nullptr);
      } catch (const Error&) {  // comm_ aborted already
      }
    }
    if (comm_) (abandoned_ ? nccl_.CommAbort : nccl_.CommDestroy)(comm_);
    cudaFree(scratch_);
    cudaStreamDestroy(stream_);
    if (abandoned_ && joined_.mpi) joined_.mpi->abandon();
  }

  std::string kind() const override { return "nccl"; }
  int rank() const override { return joined_.rank; }
  int size() const override { return joined_.size; }
  int local_rank() const override { return joined_.local_rank; }
  double timeout_seconds() const override { return timeout_; }
  void abandon() noexcept override { abandoned_ = true; }

  void sum(std::span<double> values) override {
    if (values.empty()) return;
    void* d = scratch(values.size_bytes());
    cuda_check(cudaMemcpyAsync(d, values.data(), values.size_bytes(), cudaMemcpyHostToDevice, stream_), "upload");
    all_reduce(d, values.size(), ncclDouble, ncclSum, stream_, "the sum of host values");
    cuda_check(cudaMemcpyAsync(values.data(), d, values.size_bytes(), cudaMemcpyDeviceToHost, stream_), "download");
    wait("the sum of host values", stream_);
  }

  void check_same(uint64_t value, const std::string& what) override {
    // An all-gather as a sum: each rank fills its own slot, the others are 0.
    std::vector<uint64_t> all(static_cast<std::size_t>(joined_.size), 0);
    all[static_cast<std::size_t>(joined_.rank)] = value;
    void* d = scratch(all.size() * sizeof(uint64_t));
    cuda_check(cudaMemcpyAsync(d, all.data(), all.size() * sizeof(uint64_t), cudaMemcpyHostToDevice, stream_),
               "upload");
    all_reduce(d, all.size(), ncclUint64, ncclSum, stream_, ("the start-up check of " + what).c_str());
    cuda_check(cudaMemcpyAsync(all.data(), d, all.size() * sizeof(uint64_t), cudaMemcpyDeviceToHost, stream_),
               "download");
    wait(("the start-up check of " + what).c_str(), stream_);
    for (int q = 1; q < joined_.size; ++q)
      if (all[static_cast<std::size_t>(q)] != all[0]) {
        abandon();
        throw RankError(detail::concat("rank ", q, "'s ", what, " differ from rank 0's; every rank must be started "
                                       "with the same arguments and files"), q, __FILE__, __LINE__);
      }
  }

  void sum_on_device(void* data, int64_t count, DType dtype, double scale) override {
    if (count == 0) return;
    all_reduce(data, static_cast<std::size_t>(count), type_of(dtype), pre_mul_sum(scale, dtype), stream_,
               "the gradient sum");
    wait("the gradient sum", stream_);
  }

  bool can_enqueue() const override { return true; }
  void enqueue_sum(void* data, int64_t count, DType dtype, double scale, void* stream) override {
    if (count == 0) return;
    all_reduce(data, static_cast<std::size_t>(count), type_of(dtype), pre_mul_sum(scale, dtype),
               static_cast<cudaStream_t>(stream), "the gradient sum");
    wait("issuing the gradient sum", nullptr);  // a non-blocking communicator may still be issuing it
  }
  void wait_stream(void* stream, const char* what) override { wait(what, static_cast<cudaStream_t>(stream)); }

 private:
  void* scratch(std::size_t bytes) {
    cuda_check(cudaSetDevice(joined_.local_rank), "cudaSetDevice(local rank)");  // the copies run on this GPU
    if (bytes > scratch_bytes_) {
      cudaFree(scratch_);
      scratch_ = nullptr;
      cuda_check(cudaMalloc(&scratch_, bytes), "cudaMalloc of the host-sum scratch");
      scratch_bytes_ = bytes;
    }
    return scratch_;
  }

  static ncclDataType_t type_of(DType dtype) { return dtype == DType::F64 ? ncclDouble : ncclFloat; }

  // NCCL's pre-multiplied sum by `scale` (host-immediate: the value is read
  // now), made once per scale and dtype and kept until the communicator ends.
  ncclRedOp_t pre_mul_sum(double scale, DType dtype) {
    const auto key = std::make_pair(scale, dtype == DType::F64);
    if (const auto it = ops_.find(key); it != ops_.end()) return it->second;
    float scale_f = static_cast<float>(scale);
    void* scalar = dtype == DType::F64 ? static_cast<void*>(&scale) : static_cast<void*>(&scale_f);
    ncclRedOp_t op;
    const ncclResult_t r = nccl_.RedOpCreatePreMulSum(&op, scalar, type_of(dtype), ncclScalarHostImmediate, comm_);
    if (r != ncclSuccess) fail(nccl_.error("ncclRedOpCreatePreMulSum", r));
    return ops_[key] = op;
  }

  void all_reduce(void* data, std::size_t count, ncclDataType_t type, ncclRedOp_t op, cudaStream_t stream,
                  const char* what) {
    const ncclResult_t r = nccl_.AllReduce(data, data, count, type, op, comm_, stream);
    if (r != ncclSuccess && r != ncclInProgress) fail(nccl_.error((std::string("ncclAllReduce in ") + what).c_str(), r));
  }

  [[noreturn]] void fail(const std::string& message) {
    abandon();
    throw RankError(detail::concat(message, " on rank ", joined_.rank, " (a rank died?)"), -1, __FILE__, __LINE__);
  }

  // Polls NCCL's state (and, unless null, `stream`'s work) until both are
  // done, at most timeout_; past it the communicator is aborted.
  void wait(const char* what, cudaStream_t stream) {
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_));
    for (;;) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t r = nccl_.CommGetAsyncError(comm_, &state);
      if (r != ncclSuccess) state = r;
      if (state != ncclSuccess && state != ncclInProgress) fail(nccl_.error(what, state));
      const cudaError_t q = stream ? cudaStreamQuery(stream) : cudaSuccess;
      if (q != cudaSuccess && q != cudaErrorNotReady) fail(std::string(what) + ": " + cudaGetErrorString(q));
      if (state == ncclSuccess && q == cudaSuccess) return;
      if (Clock::now() > deadline) {
        abandon();
        nccl_.CommAbort(comm_);  // frees the GPU from NCCL kernels waiting for the missing peer
        comm_ = nullptr;
        throw RankError(detail::concat(what, " did not complete within ", timeout_, " s (--dist-timeout): a rank "
                                       "died or hangs (NCCL does not say which); rank ", joined_.rank, " stops"),
                        -1, __FILE__, __LINE__);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  const NcclLibrary& nccl_;
  double timeout_;
  Joined joined_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* scratch_ = nullptr;  // device memory for sum() and check_same()
  std::size_t scratch_bytes_ = 0;
  bool abandoned_ = false;
  std::map<std::pair<double, bool>, ncclRedOp_t> ops_;  // pre_mul_sum's, by (scale, f64)
};

}  // namespace

CommType nccl_comm_type() {
  CommType t;
  t.name = "nccl";
  t.summary = "NCCL collectives on the GPU (libnccl.so.2 loaded at run time); the gradients stay in device memory";
  t.devices = {"cuda"};
  t.unavailable = [] { return std::string(); };
  t.connect = [](const LaunchInfo& launch, const DistOptions& o) -> std::shared_ptr<Communicator> {
    return std::make_shared<NcclCommunicator>(launch, o);
  };
  return t;
}

}  // namespace cumlp
