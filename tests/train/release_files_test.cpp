// Files written by an earlier release load and behave the same: the model
// and checkpoint in fixtures/ were written by cumlp 0.1.0 (`cumlp train
// --preset digits --epochs 5`, cpu, f32, seed 777). The figures below are what
// 0.1.0 itself printed for them: its test loss, and the 6th epoch's training
// loss of a 6-epoch run from scratch, which a resume from the 5-epoch
// checkpoint must reproduce exactly (same device, same bits).
#include <gtest/gtest.h>

#include <string>

#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

const std::string kFixtures = std::string(CUMLP_SOURCE_DIR) + "/tests/train/fixtures/";

TEST(ReleaseFiles, ModelOf010EvaluatesAsItDid) {
  CUMLP_REQUIRE_DIGITS();
  const nlohmann::json j =
      run_json("eval '" + kFixtures + "digits_v0.1_epoch5.model.safetensors' --preset digits --device cpu --json");
  EXPECT_EQ(j.value("test_loss", -1.0), 2.1357765197753906);
}

TEST(ReleaseFiles, CheckpointOf010ResumesAsTheUninterruptedRunWent) {
  CUMLP_REQUIRE_DIGITS();
  ScratchDir dir;
  const nlohmann::json j = run_json("train --preset digits --epochs 6 --device cpu --quiet --json --out '" +
                                    dir.path().string() + "/run' --resume '" + kFixtures +
                                    "digits_v0.1_epoch5.checkpoint.safetensors'");
  ASSERT_TRUE(j.contains("train_loss")) << j.dump();
  ASSERT_EQ(j["train_loss"].size(), 6u) << j.dump();
  EXPECT_EQ(j["train_loss"][5].get<double>(), 2.1245715618133545);
  EXPECT_EQ(j["train_loss"][4].get<double>(), 2.160294532775879);  // carried over from the file
}

}  // namespace
}  // namespace cumlp::test
