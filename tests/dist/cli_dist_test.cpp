// `mpirun -np N cumlp train ...` end to end: one report (rank 0's) with
// world_size, the loss curve of one process; mismatched seeds refused at
// start naming the rank; a killed rank ends the job and leaves a checkpoint
// that resumes with another number of ranks; a hung rank is named after
// --dist-timeout. Every child runs under a deadline (wait_child), so nothing
// here can hang.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "cumlp/train.h"
#include "tests/reliability/child.h"

namespace cumlp::reliability {
namespace {

const std::string kDigitsDir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

#define REQUIRE_DIGITS() \
  if (!std::filesystem::exists(kDigitsDir + "/digits.csv.gz")) GTEST_SKIP() << "python3-sklearn's digits absent"

// mpirun -np `ranks` running `cumlp <args>` through sh, each rank writing its
// pid to <pids>/pid.<rank> first (so a test can kill or stop one rank).
Child spawn_ranks(int ranks, const std::string& args, const std::string& pids) {
  // The ASan build: no leak check in the ranks (OpenMPI's unloaded components; tests/dist/CMakeLists.txt).
  ::setenv("LSAN_OPTIONS", "detect_leaks=0", 1);
  const std::string script = "echo $$ > '" + pids + "'/pid.$OMPI_COMM_WORLD_RANK; exec '" CUMLP_CLI_PATH "' " + args;
  return spawn({CUMLP_MPIEXEC, "--allow-run-as-root", "--oversubscribe", "--mca", "mpi_yield_when_idle", "1", "-np",
                std::to_string(ranks), "/bin/sh", "-c", script},
               "mpirun");
}

std::string digits_args(const std::string& run, const std::string& more) {
  return "--json train --layers 64-32-10 --dataset digits --data-dir " + kDigitsDir + " --device cpu --quiet --out " +
         run + " --optimizer adam --lr 0.01 " + more;
}

pid_t pid_of_rank(const std::string& pids, int rank) {
  const std::string text = read_text(pids + "/pid." + std::to_string(rank));
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

TEST(DistCli, TwoRanksPrintOneReportWithTheLossCurveOfOneProcess) {
  REQUIRE_DIGITS();
  ScratchDir s;
  Child two = spawn_ranks(2, digits_args(s / "two", "--epochs 5 --batch-size 100"), s.path().string());
  const Outcome o2 = wait_child(two, 120);
  ASSERT_TRUE(o2.exited && o2.code == 0) << o2.err;
  const nlohmann::json j2 = nlohmann::json::parse(o2.out);  // throws unless stdout is ONE JSON object
  const Outcome o1 = run_cumlp({"--json", "train", "--layers", "64-32-10", "--dataset", "digits", "--data-dir",
                                kDigitsDir, "--device", "cpu", "--quiet", "--out", s / "one", "--optimizer", "adam",
                                "--lr", "0.01", "--epochs", "5", "--batch-size", "100"});
  ASSERT_EQ(o1.code, 0) << o1.err;
  const nlohmann::json j1 = nlohmann::json::parse(o1.out);
  EXPECT_EQ(j2["world_size"], 2);
  EXPECT_EQ(j1["world_size"], 1);
  EXPECT_EQ(j2["communicator"], "mpi");  // cpu ranks
  EXPECT_TRUE(j1["communicator"].is_null());
  const auto a = j2["train_loss"].get<std::vector<double>>(), b = j1["train_loss"].get<std::vector<double>>();
  ASSERT_EQ(a.size(), b.size());
  // f32 on cpu: the ranks sum the rows' gradients in another order; 1e-4 relative (the bound).
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * std::abs(b[i])) << "epoch " << i + 1;
  EXPECT_TRUE(std::filesystem::exists(s / "two/report.json"));
}

TEST(DistCli, RanksWithDifferentSeedsAreRefusedAtStartNamingTheRank) {
  REQUIRE_DIGITS();
  ScratchDir s;
  Child c = spawn_ranks(2, digits_args(s / "run", "--epochs 1 --seed $((777 + OMPI_COMM_WORLD_RANK))"),
                        s.path().string());
  const Outcome o = wait_child(c, 60);
  ASSERT_FALSE(o.timed_out);
  EXPECT_NE(o.code, 0);
  EXPECT_EQ(o.out, "");
  const auto errors = o.error_lines();
  ASSERT_EQ(errors.size(), 1u) << o.err;
  EXPECT_NE(errors[0].find("rank 1's model spec, optimizer, dtype, device type or seed differ"), std::string::npos)
      << errors[0];
  EXPECT_FALSE(std::filesystem::exists(s / "run/checkpoint.safetensors"));
}

TEST(DistCli, BadDistOptionsAreRefused) {
  for (const auto& [flag, mention] : std::vector<std::pair<std::string, std::string>>{
           {"--dist-init file:/tmp/x", "bootstraps NCCL"}, {"--dist-init tcp", "--dist-init must be env or file:PATH"},
           {"--dist-timeout 0", "--dist-timeout"}}) {
    std::vector<std::string> args = {"--json", "train", "--preset", "xor", "--epochs", "1"};
    std::istringstream words(flag);
    for (std::string w; words >> w;) args.push_back(w);
    expect_one_error(run_cumlp(args, {}, 60), {mention});
  }
}

// A rank SIGKILLed mid-run: the job ends (mpirun ends the others), naming the
// rank; rank 0's last checkpoint is whole and resumes on 2 ranks.
TEST(DistFaults, KillingOneOfThreeRanksEndsTheJobAndTheCheckpointResumesOnTwo) {
  REQUIRE_DIGITS();
  ScratchDir s;
  const std::string run = s / "run", ckpt = run + "/checkpoint.safetensors";
  const std::string args = digits_args(run, "--batch-size 16 --checkpoint-seconds 0");
  Child c = spawn_ranks(3, args + " --epochs 1000", s.path().string());
  // Wait (bounded) for two finished epochs, then kill rank 1 in the middle of the next.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  int done = 0;
  while (done < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      if (std::filesystem::exists(ckpt)) done = read_checkpoint(ckpt).state->epochs_done;
    } catch (const Error&) {  // being replaced right now: read again
    }
  }
  ASSERT_GE(done, 2) << "no checkpoint of 2 epochs within 90 s";
  const pid_t victim = pid_of_rank(s.path().string(), 1);
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  const Outcome o = wait_child(c, 90);
  EXPECT_FALSE(o.timed_out) << "the other ranks did not stop";
  EXPECT_FALSE(o.exited && o.code == 0);
  EXPECT_NE(o.err.find("process rank 1 "), std::string::npos) << o.err;  // mpirun names the killed rank

  const Checkpoint k = read_checkpoint(ckpt);  // whole: rank 0 alone writes, atomically
  ASSERT_TRUE(k.state);
  const int epochs = k.state->epochs_done + 1;
  std::filesystem::create_directories(s / "pids2");
  Child resumed = spawn_ranks(2, args + " --resume " + ckpt + " --epochs " + std::to_string(epochs), s / "pids2");
  const Outcome r = wait_child(resumed, 120);
  ASSERT_TRUE(r.exited && r.code == 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["epochs_run"], epochs);
  EXPECT_EQ(j["world_size"], 2);
}

// A rank that hangs (SIGSTOP): the others give up after --dist-timeout with
// one line naming it.
TEST(DistFaults, AHungRankIsNamedAfterTheTimeout) {
  REQUIRE_DIGITS();
  ScratchDir s;
  Child c = spawn_ranks(3, digits_args(s / "run", "--batch-size 16 --epochs 1000 --dist-timeout 3"),
                        s.path().string());
  pid_t victim = -1;
  for (int i = 0; i < 600 && victim <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    victim = pid_of_rank(s.path().string(), 1);
  }
  ASSERT_GT(victim, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // into training
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);
  const Outcome o = wait_child(c, 90);
  ::kill(victim, SIGKILL);  // in case the launcher left it stopped
  EXPECT_FALSE(o.timed_out) << "the other ranks did not give up";
  EXPECT_FALSE(o.exited && o.code == 0);
  const auto errors = o.error_lines();
  ASSERT_EQ(errors.size(), 1u) << o.err;
  EXPECT_NE(errors[0].find("rank 1 did not take part"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("within 3 s"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace cumlp::reliability
