// The parts of data parallelism that need no second process: the split of a
// global batch, the registry of communicator kinds, launch detection and the
// refusals of connect_ranks().
#include <gtest/gtest.h>

#include <cstdlib>

#include "cumlp/dist.h"
#include "host/dist/data_parallel.h"

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

TEST(Communicators, RegistryListsMpiAndNcclWithReasons) {
  const std::vector<std::string> kinds = communicator_kinds();
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].rfind("mpi: ", 0), 0u) << kinds[0];
#if defined(CUMLP_HAVE_MPI)
  EXPECT_EQ(kinds[0].find("unavailable"), std::string::npos) << kinds[0];
#else
  EXPECT_NE(kinds[0].find("this build has no MPI"), std::string::npos) << kinds[0];
#endif
  EXPECT_NE(kinds[1].find("nccl: "), std::string::npos);
  EXPECT_NE(kinds[1].find("not implemented"), std::string::npos) << kinds[1];
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
  ::unsetenv("SLURM_NTASKS");
  ::unsetenv("SLURM_PROCID");
}

TEST(Launch, BadOptionsAreRefused) {
  EXPECT_THROW(connect_ranks({"env", 0}), Error);
  EXPECT_THROW(connect_ranks({"env", -1}), Error);
  EXPECT_THROW(connect_ranks({"tcp://x", 60}), Error);
  try {
    connect_ranks({"file:/shared/id", 60});
    ADD_FAILURE() << "file: accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("NCCL"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace cumlp
