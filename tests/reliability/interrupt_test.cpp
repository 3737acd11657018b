// Interruptions: SIGINT/SIGTERM stop `cumlp train` after the current batch
// with a checkpoint, a one-line message and status 128 + signal; --resume
// finishes the run. In the library, a stop at an epoch boundary resumes
// bit for bit as if never interrupted; a stop inside an epoch re-runs it.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "cumlp/train.h"
#include "tests/reliability/child.h"
#include "tests/reliability/data_files.h"

namespace cumlp::reliability {
namespace {

// Starts a long run (1000 epochs of 2000 synthetic MNIST images, batch 10),
// waits until it has trained a little (its checkpoint exists: saved every
// epoch), sends `sig`, and checks the contract.
void interrupt_and_resume(int sig, int expected_status, const char* signal_name) {
  ScratchDir s;
  std::filesystem::create_directories(s / "data");
  write_mnist_dir(s / "data", 2000);
  const std::string run = s / "run", ckpt = run + "/checkpoint.safetensors";
  std::vector<std::string> args = {CUMLP_CLI_PATH, "--json", "train", "--preset", "mnist-small", "--data-dir",
                                   s / "data", "--batch-size", "10", "--out", run, "--device", "cpu",
                                   "--checkpoint-seconds", "0", "--quiet"};
  std::vector<std::string> first = args;
  first.insert(first.end(), {"--epochs", "1000"});
  Child c = spawn(first, "interrupt");
  // Bounded wait for the first epoch's checkpoint (mid-run, far from the end).
  for (int i = 0; i < 6000 && !std::filesystem::exists(ckpt); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(ckpt)) << "no checkpoint after 60 s";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(c.pid, sig);
  const Outcome o = wait_child(c, 120);
  ASSERT_FALSE(o.timed_out);
  ASSERT_TRUE(o.exited) << "killed by signal " << o.signal << ": the handler must let the step finish";
  EXPECT_EQ(o.code, expected_status);
  EXPECT_EQ(o.out, "");
  const std::vector<std::string> lines = o.error_lines();
  ASSERT_EQ(lines.size(), 1u) << o.err;
  EXPECT_NE(lines[0].find(std::string("interrupted by ") + signal_name), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(ckpt), std::string::npos) << lines[0];
  std::smatch m;
  ASSERT_TRUE(std::regex_search(lines[0], m, std::regex("epochs done: (\\d+)"))) << lines[0];
  const int done = std::stoi(m[1]);

  // The checkpoint is complete, finite and records the epochs the message says.
  const Checkpoint info = read_checkpoint(ckpt);
  ASSERT_TRUE(info.state);
  EXPECT_EQ(info.state->epochs_done, done);
  EXPECT_GE(done, 1);
  const Network net = load_network(ckpt, NetworkOptions{Device::parse("cpu")});
  for (double v : net.parameters().to_vector()) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TRUE(files_under(run).size() == 1) << "only the checkpoint: no temporary, no model of a half run";

  // --resume runs the remaining epoch(s) and completes normally.
  std::vector<std::string> resume(args.begin() + 1, args.end());
  resume.insert(resume.end(), {"--resume", ckpt, "--epochs", std::to_string(done + 1)});
  const Outcome r = run_cumlp(resume);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["epochs_run"].get<int>(), done + 1);
  EXPECT_EQ(j["train_loss"].size(), static_cast<std::size_t>(done + 1));
}

TEST(Interrupt, SigintSavesCheckpointExits130AndResumes) { interrupt_and_resume(SIGINT, 130, "SIGINT"); }
TEST(Interrupt, SigtermSavesCheckpointExits143AndResumes) { interrupt_and_resume(SIGTERM, 143, "SIGTERM"); }

// ---- library level: should_stop

Dataset blobs(int n) {
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 0; i < n; ++i) {
    const int c = i % 3;
    for (int f = 0; f < 8; ++f) x.push_back(static_cast<float>(((i * 13 + f * 7) % 11) / 11.0 + (f % 3 == c ? 1 : 0)));
    y.push_back(c);
  }
  return Dataset(std::move(x), {8}, 1.0, std::move(y), 3);
}

Network small_net() {
  return Network(ModelSpec::input(8).linear(16).relu().linear(3), Optimizer::adam(0.01),
                 NetworkOptions{Device::parse("cpu"), DType::F32, 5, 10});
}

TrainConfig config(const std::string& ckpt, int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch_size = 10;
  c.valid_fraction = 0.2;
  c.checkpoint = ckpt;
  c.checkpoint_seconds = 1e9;  // only the saves under test
  return c;
}

TEST(Interrupt, StopAtEpochBoundaryResumesBitForBit) {
  ScratchDir s;
  const Dataset data = blobs(100);  // 80 train rows: 8 batches per epoch
  Network straight = small_net();
  Trainer(straight, config(s / "straight.safetensors", 4)).fit(data);

  Network first = small_net();
  TrainConfig c = config(s / "ckpt.safetensors", 4);
  int batches = 0;
  c.should_stop = [&] { return ++batches == 16; };  // the last batch of epoch 2
  const TrainReport r = Trainer(first, c).fit(data);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.interrupted_epoch, 2);
  EXPECT_EQ(r.interrupted_batch, 8);
  EXPECT_EQ(r.epochs_run, 2);

  Checkpoint info;
  Network resumed = load_network(s / "ckpt.safetensors", NetworkOptions{Device::parse("cpu")}, &info);
  ASSERT_TRUE(info.state);
  EXPECT_EQ(info.state->epochs_done, 2);
  Trainer t(resumed, config(s / "ckpt.safetensors", 4));
  t.resume_from(*info.state);
  const TrainReport rr = t.fit(data);
  EXPECT_EQ(rr.epochs_run, 4);
  EXPECT_EQ(resumed.parameters().to_vector(), straight.parameters().to_vector());
}

TEST(Interrupt, StopInsideAnEpochSavesItAsNotDone) {
  ScratchDir s;
  const Dataset data = blobs(100);
  Network net = small_net();
  TrainConfig c = config(s / "ckpt.safetensors", 4);
  int batches = 0;
  c.should_stop = [&] { return ++batches == 11; };  // batch 3 of epoch 2
  const TrainReport r = Trainer(net, c).fit(data);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.interrupted_epoch, 2);
  EXPECT_EQ(r.interrupted_batch, 3);
  EXPECT_EQ(r.epochs_run, 1);
  Checkpoint info;
  Network resumed = load_network(s / "ckpt.safetensors", NetworkOptions{Device::parse("cpu")}, &info);
  ASSERT_TRUE(info.state);
  EXPECT_EQ(info.state->epochs_done, 1) << "the interrupted epoch is re-run on resume";
  EXPECT_EQ(resumed.step_count(), 11) << "but the weights of its first batches are kept";
  EXPECT_EQ(resumed.parameters().to_vector(), net.parameters().to_vector());
  Trainer t(resumed, config(s / "ckpt.safetensors", 3));
  t.resume_from(*info.state);
  EXPECT_EQ(t.fit(data).epochs_run, 3);
}

}  // namespace
}  // namespace cumlp::reliability
