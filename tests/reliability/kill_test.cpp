// A process SIGKILLed at random points while writing checkpoints never leaves
// a missing or torn checkpoint: after each of 50 kills the file loads and is
// one complete version (every parameter equals its recorded epochs_done).
#include <gtest/gtest.h>

#include <random>

#include "cumlp/train.h"
#include "tests/reliability/child.h"

namespace cumlp::reliability {
namespace {

// Loads the checkpoint and returns its version; fails the test if it is torn.
int complete_version(const std::string& path) {
  Checkpoint info;
  const Network net = load_network(path, NetworkOptions{Device::parse("cpu")}, &info);
  EXPECT_TRUE(info.state);
  if (!info.state) return -1;
  const int v = info.state->epochs_done;
  EXPECT_EQ(info.state->train_loss.size(), static_cast<std::size_t>(v));
  const std::vector<double> p = net.parameters().to_vector();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] != v) {
      ADD_FAILURE() << "parameter " << i << " is " << p[i] << " in version " << v << ": a torn checkpoint";
      return -1;
    }
  return v;
}

TEST(KillDuringWrite, FiftyRandomKillsNeverTearTheCheckpoint) {
  ScratchDir s;
  const std::string ckpt = s / "checkpoint.safetensors";
  const unsigned seed = 20240611;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, 120);
  int kills_mid_run = 0, debris = 0;
  for (int k = 0; k < 50; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k) + " (seed " + std::to_string(seed) + ")");
    Child c = spawn({CHECKPOINT_WRITER_PATH, ckpt}, "writer");
    if (k == 0) {  // the first version must exist before kills can be judged (bounded wait)
      for (int i = 0; i < 3000 && !std::filesystem::exists(ckpt); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ASSERT_TRUE(std::filesystem::exists(ckpt));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(c.pid, SIGKILL);
    const Outcome o = wait_child(c, 30);
    ASSERT_EQ(o.signal, SIGKILL) << "the writer stopped by itself: " << o.err;
    ++kills_mid_run;
    ASSERT_GE(complete_version(ckpt), 1);
    // SIGKILL leaves the dead writer's temporary behind (nothing can remove
    // it); it never replaces the checkpoint. Clear it for the next round.
    for (const std::string& f : files_under(s.path()))
      if (f != ckpt) {
        ++debris;
        std::filesystem::remove(f);
      }
  }
  EXPECT_EQ(kills_mid_run, 50);
  std::printf("50 kills, %d left a temporary file behind (removed), checkpoint always complete\n", debris);
}

}  // namespace
}  // namespace cumlp::reliability
