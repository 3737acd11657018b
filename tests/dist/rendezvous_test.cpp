// The --dist-init file:PATH rendezvous (host/dist/file_rendezvous.h) with
// real processes: forked ranks exchange a 128-byte id (the size of an
// ncclUniqueId) through a file, a missing writer and a stale file time out
// with one clear error. No NCCL is needed: the file route is the same code on
// any machine.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "host/dist/file_rendezvous.h"

namespace cumlp {
namespace {

namespace fs = std::filesystem;

std::vector<unsigned char> fake_id(unsigned seed) {
  std::vector<unsigned char> id(128);
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<unsigned char>((i * 131 + seed * 17 + 7) % 256);
  return id;
}

LaunchInfo rank_of(int rank, int size) { return {"srun", rank, size, rank}; }

// A scratch folder per test, removed after it.
struct Scratch {
  fs::path dir;
  Scratch() {
    char tmpl[] = "/tmp/cumlp_rendezvous_XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string file() const { return (dir / "nccl-id").string(); }
};

// Runs f in a child process: its exit status is f's value, 99 on an exception
// (printed). Only async-signal-safe exits: the child never returns into gtest.
pid_t spawn(const std::function<int()>& f) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 99;
  try {
    code = f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child: %s\n", e.what());
  }
  std::fflush(stderr);
  ::_exit(code);
}

int exit_code(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Each reader exits 0 when it got `want`, 1 when it got other bytes.
pid_t reader(const std::string& path, int rank, int size, const std::string& job,
             const std::vector<unsigned char>& want) {
  return spawn([=] {
    const auto got = rendezvous_through_file(path, rank_of(rank, size), job, std::vector<unsigned char>(128, 0), 30);
    return got == want ? 0 : 1;
  });
}

TEST(FileRendezvous, FourProcessesGetRankZerosIdWhicheverStartsFirst) {
  Scratch s;
  const auto id = fake_id(1);
  std::vector<pid_t> ranks;
  for (int r = 1; r < 4; ++r) ranks.push_back(reader(s.file(), r, 4, "1234.0", id));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the readers poll before the file exists
  ranks.push_back(spawn([&] { return rendezvous_through_file(s.file(), rank_of(0, 4), "1234.0", id, 30) == id ? 0 : 1; }));
  for (pid_t p : ranks) EXPECT_EQ(exit_code(p), 0);
  // The file is whole and names the job; no temporary file is left beside it.
  std::ifstream f(s.file());
  std::string magic, job;
  std::getline(f, magic);
  std::getline(f, job);
  EXPECT_EQ(magic, "cumlp-dist-init 1");
  EXPECT_EQ(job, "job 1234.0");
  EXPECT_EQ(std::distance(fs::directory_iterator(s.dir), fs::directory_iterator()), 1);
  remove_rendezvous_file(s.file());
  EXPECT_FALSE(fs::exists(s.file()));
}

TEST(FileRendezvous, AMissingWriterTimesOutNamingThePathAndRankZero) {
  Scratch s;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    rendezvous_through_file(s.file(), rank_of(1, 2), "1234.0", fake_id(0), 0.3);
    ADD_FAILURE() << "no error";
  } catch (const RankError& e) {
    EXPECT_EQ(e.peer(), 0);
    const std::string m = e.message();
    EXPECT_NE(m.find("rank 1: no file " + s.file() + " from rank 0 within 0.3 s (--dist-timeout)"), std::string::npos)
        << m;
    EXPECT_NE(m.find("every rank sees"), std::string::npos) << m;
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));  // it did wait
}

TEST(FileRendezvous, AStaleFileOfAnEarlierJobIsNotReadAndRankZeroReplacesIt) {
  Scratch s;
  const auto old_id = fake_id(2), new_id = fake_id(3);
  rendezvous_through_file(s.file(), rank_of(0, 2), "1000.0", old_id, 1);  // an earlier run's rank 0
  // Alone with the stale file, a reader of the new job times out saying what it found.
  try {
    rendezvous_through_file(s.file(), rank_of(1, 2), "1001.0", fake_id(0), 0.3);
    ADD_FAILURE() << "the stale file was read";
  } catch (const RankError& e) {
    EXPECT_NE(e.message().find("holds a stale file of another run (job '1000.0', 2 ranks; this run is job "
                               "'1001.0', 2 ranks), and rank 0 did not replace it within 0.3 s"),
              std::string::npos)
        << e.message();
  }
  // The same job id with another world size is stale too.
  EXPECT_THROW(rendezvous_through_file(s.file(), rank_of(2, 3), "1000.0", fake_id(0), 0.2), RankError);
  // With the new run's rank 0 coming later, the reader waits past the stale file and gets the new id.
  const pid_t r1 = reader(s.file(), 1, 2, "1001.0", new_id);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(rendezvous_through_file(s.file(), rank_of(0, 2), "1001.0", new_id, 1), new_id);
  EXPECT_EQ(exit_code(r1), 0);
}

TEST(FileRendezvous, AFileThatIsNotARendezvousIsWaitedPastAndNamed) {
  Scratch s;
  std::ofstream(s.file()) << "hello\n";
  try {
    rendezvous_through_file(s.file(), rank_of(1, 2), "7.0", fake_id(0), 0.2);
    ADD_FAILURE() << "no error";
  } catch (const RankError& e) {
    EXPECT_NE(e.message().find("holds a file that is not a cumlp rendezvous file"), std::string::npos) << e.message();
  }
}

TEST(FileRendezvous, RefusesSeveralRanksWithoutAJobIdAndAnUnwritableFolder) {
  Scratch s;
  try {
    rendezvous_through_file(s.file(), rank_of(0, 2), "", fake_id(0), 1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("needs the launcher's job id"), std::string::npos) << e.message();
  }
  // One rank needs no job id: nobody else reads the file.
  EXPECT_EQ(rendezvous_through_file(s.file(), rank_of(0, 1), "", fake_id(4), 1), fake_id(4));
  try {
    rendezvous_through_file((s.dir / "no/such/folder/id").string(), rank_of(0, 1), "", fake_id(0), 1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("rank 0 cannot write"), std::string::npos) << e.message();
  }
}

TEST(FileRendezvous, JobKeyComesFromSlurmElsePmix) {
  ::setenv("SLURM_JOB_ID", "812", 1);
  ::setenv("SLURM_STEP_ID", "3", 1);
  ::setenv("PMIX_NAMESPACE", "prterun-x-1@1", 1);
  EXPECT_EQ(rendezvous_job_key(), "812.3");
  ::unsetenv("SLURM_STEP_ID");
  EXPECT_EQ(rendezvous_job_key(), "812.0");
  ::unsetenv("SLURM_JOB_ID");
  EXPECT_EQ(rendezvous_job_key(), "prterun-x-1@1");
  ::unsetenv("PMIX_NAMESPACE");
  EXPECT_EQ(rendezvous_job_key(), "");
}

}  // namespace
}  // namespace cumlp
