// The parts of data parallelism that need no second process: the split of a
// global batch, the registry of communicator kinds, launch detection and the
// refusals of connect_ranks().
#include <gtest/gtest.h>

#include <cstdlib>

#include "cumlp/dist.h"
#include "host/dist/data_parallel.h"
#if defined(CUMLP_HAVE_NCCL)
#include <cuda_runtime.h>

#include "host/dist/nccl_library.h"
#endif

namespace cumlp {
namespace {

TEST(Shard, RanksTakeFloorOrCeilRowsCoveringTheBatchInOrder) {
  for (int size : {1, 2, 3, 4, 7})
    for (int64_t rows : {0, 1, 3, 9, 37, 1437}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const Shard s = shard_of(rows, r, size);
        EXPECT_EQ(s.begin, next) << rows << " rows, rank " << r << " of " << size;
        EXPECT_TRUE(s.rows() == rows / size || s.rows() == (rows + size - 1) / size) << s.rows();
        next = s.end;
      }
      EXPECT_EQ(next, rows);
    }
  EXPECT_EQ(shard_of(1437, 3, 4).rows(), 360);  // 359.25: three ranks of 359, one of 360
  EXPECT_THROW(shard_of(10, 2, 2), Error);
}

TEST(Shard, RowsOfCopiesTheRowsOfABatchTensor) {
  const Tensor t = Tensor::from({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7}, DType::F64);
  const Tensor mid = rows_of(t, {1, 3});
  EXPECT_EQ(mid.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(mid.to_vector(), (std::vector<double>{2, 3, 4, 5}));
  EXPECT_EQ(rows_of(t, {2, 2}).numel(), 0);
  EXPECT_THROW(rows_of(t, {3, 5}), Error);
}

TEST(Communicators, RegistryListsNcclForCudaAndMpiForCpuAndSimWithReasons) {
  const std::vector<std::string> kinds = communicator_kinds();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].rfind("nccl: ", 0), 0u) << kinds[0];
  EXPECT_NE(kinds[0].find("for cuda ranks"), std::string::npos) << kinds[0];
#if defined(CUMLP_HAVE_NCCL)
  EXPECT_EQ(kinds[0].find("unavailable"), std::string::npos) << kinds[0];
#else
  EXPECT_NE(kinds[0].find("this build has no NCCL support"), std::string::npos) << kinds[0];
#endif
  EXPECT_EQ(kinds[1].rfind("mpi: ", 0), 0u) << kinds[1];
  EXPECT_NE(kinds[1].find("for cpu, sim ranks"), std::string::npos) << kinds[1];
#if defined(CUMLP_HAVE_MPI)
  EXPECT_EQ(kinds[1].find("unavailable"), std::string::npos) << kinds[1];
#else
  EXPECT_NE(kinds[1].find("this build has no MPI"), std::string::npos) << kinds[1];
#endif
}

TEST(Launch, AloneIsRankZeroOfOneAndConnectsToNothing) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) ::unsetenv(v);
  const LaunchInfo l = detect_launch();
  EXPECT_EQ(l.launcher, "");
  EXPECT_EQ(l.size, 1);
  EXPECT_EQ(connect_ranks(), nullptr);
  ::setenv("SLURM_NTASKS", "1", 1);  // srun -n 1: one rank, nothing to join
  ::setenv("SLURM_PROCID", "0", 1);
  EXPECT_EQ(detect_launch().launcher, "srun");
  EXPECT_EQ(connect_ranks(), nullptr);
  ::setenv("LOCAL_RANK", "3", 1);  // the local rank when the launcher gives none (SLURM_LOCALID unset)
  EXPECT_EQ(detect_launch().local_rank, 3);
  ::setenv("SLURM_LOCALID", "1", 1);
  EXPECT_EQ(detect_launch().local_rank, 1);
  ::unsetenv("SLURM_LOCALID");
  ::unsetenv("LOCAL_RANK");
  ::unsetenv("SLURM_NTASKS");
  ::unsetenv("SLURM_PROCID");
}

// The message of the Error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

TEST(Launch, BadOptionsAreRefused) {
  EXPECT_THROW(connect_ranks({"env", 0}), Error);
  EXPECT_THROW(connect_ranks({"env", -1}), Error);
  EXPECT_THROW(connect_ranks({"tcp://x", 60}), Error);
  // file: starts NCCL, for cuda ranks only: cpu and sim ranks are refused, even alone.
  for (const char* device : {"", "cpu", "sim"}) {
    const std::string m = error_of([&] { connect_ranks({"file:/shared/id", 60, device}); });
    EXPECT_NE(m.find("bootstraps NCCL, which serves cuda ranks only"), std::string::npos) << device << ": " << m;
    EXPECT_NE(m.find("join over MPI: launch with mpirun or srun --mpi=pmix"), std::string::npos) << m;
  }
  EXPECT_NE(error_of([] { connect_ranks({"file:", 60, "cuda"}); }).find("needs a path"), std::string::npos);
#if !defined(CUMLP_HAVE_NCCL)
  // A build without NCCL cannot join cuda ranks, and says why.
  const std::string m = error_of([] { connect_ranks({"file:/tmp/cumlp-no-nccl-id", 60, "cuda"}); });
  EXPECT_NE(m.find("cannot join ranks; nccl: this build has no NCCL support"), std::string::npos) << m;
#endif
}

#if defined(CUMLP_HAVE_NCCL)
// What a cuda rank meets before NCCL runs, on any machine: the library loaded
// at run time (every function found by name), its absence named, and a
// process without a GPU refused before NCCL is looked for.
TEST(Nccl, TheLibraryLoadsAtRunTimeWithEveryFunctionOrIsNamedWhenMissing) {
  std::string m = error_of([] { load_nccl_library("libnccl-missing.so.2"); });
  EXPECT_NE(m.find("cuda ranks need NCCL: cannot load libnccl-missing.so.2"), std::string::npos) << m;
  EXPECT_NE(m.find("LD_LIBRARY_PATH"), std::string::npos) << m;
  m = error_of([] { load_nccl_library("libz.so.1"); });  // a library that is not NCCL
  EXPECT_NE(m.find("libz.so.1 has no ncclGetVersion"), std::string::npos) << m;
  NcclLibrary lib;
  try {
    lib = load_nccl_library("libnccl.so.2");
  } catch (const Error& e) {
    GTEST_SKIP() << "no libnccl.so.2 on this machine: " << e.message();
  }
  EXPECT_GE(lib.version, kNcclMinVersion);
  EXPECT_NE(lib.AllReduce, nullptr);
  EXPECT_NE(lib.RedOpCreatePreMulSum, nullptr);
  EXPECT_NE(lib.error("probe", ncclInvalidArgument).find("probe: invalid argument"), std::string::npos)
      << lib.error("probe", ncclInvalidArgument);
}

TEST(Nccl, ACudaRankWithoutAGpuIsRefusedBeforeNccl) {
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) == cudaSuccess && gpus > 0) GTEST_SKIP() << "this machine has a GPU";
  // Alone: file: joins even one rank (srun -n 1 would set SLURM_NTASKS=1 alike).
  const std::string m = error_of([] { connect_ranks({"file:/tmp/cumlp-unit-nccl-id", 5, "cuda"}); });
  EXPECT_NE(m.find("rank 0 of 1 is a cuda rank but this process sees no usable GPU"), std::string::npos) << m;
}
#endif

}  // namespace
}  // namespace cumlp
