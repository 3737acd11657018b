// The runs that used to train something other than what was asked, with exit
// status 0: now each is refused with one error line naming the option and both
// values, or takes effect and says so in the report.
#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

class FlagRules : public ::testing::Test {
 protected:
  // A 2-epoch digits run to resume from (64-32-16-10, Adam, f32).
  static void SetUpTestSuite() {
    if (!digits_present()) return;
    dir = new ScratchDir;
    run_json("--json train --preset digits --device cpu --quiet --epochs 2 --out '" + (*dir / "digits") + "'");
  }
  static void TearDownTestSuite() { delete dir; }
  static std::string checkpoint() { return *dir / "digits/checkpoint.safetensors"; }

  // `cumlp --json train ARGS` must be refused naming every `mentions`, writing nothing.
  static void refused(const std::string& args, const std::vector<std::string>& mentions) {
    const std::string out = *dir / "refused";
    expect_cli_error("--json train --device cpu --quiet " + args + " --out '" + out + "'", mentions.front());
    const CliRun r = run_cli("--json train --device cpu --quiet " + args + " --out '" + out + "'");
    for (const std::string& m : mentions) EXPECT_NE(r.err.find(m), std::string::npos) << m << " in " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out + "/model.safetensors"));
    EXPECT_FALSE(std::filesystem::exists(out + "/report.json"));
  }
  static ScratchDir* dir;
};
ScratchDir* FlagRules::dir = nullptr;

TEST_F(FlagRules, APresetFixesItsModelAndDataSet) {
  CUMLP_REQUIRE_DIGITS();
  refused("--preset digits --dataset fashion", {"--dataset", "digits"});
  refused("--preset digits --activation tanh", {"--activation", "--layers"});
  refused("--preset digits --loss mse", {"--loss", "cross-entropy"});
}

TEST_F(FlagRules, ResumeKeepsWhatTheCheckpointFixes) {
  CUMLP_REQUIRE_DIGITS();
  const std::string resume = " --resume '" + checkpoint() + "'";
  refused("--layers 64-50-10 --dataset digits" + resume, {"--layers 64-50-10", "64-32-16-10"});
  refused("--preset digits --optimizer sgd --lr 0.5" + resume, {"--optimizer sgd", "adam"});
  refused("--preset digits --dtype f64" + resume, {"--dtype f64", "f32"});
  refused("--preset fashion-small" + resume, {"--preset fashion-small", "digits"});
  refused("--preset digits --batch-size 32" + resume, {"--batch-size 32", "full training split"});
  refused("--preset digits --epochs 1" + resume, {"--epochs 1", "2 epochs"});
}

TEST_F(FlagRules, ResumeTakesWhatMayChangeAndReportsIt) {
  CUMLP_REQUIRE_DIGITS();
  // The recipe repeated (equal to the checkpoint's) plus a new epoch count and learning rate.
  const nlohmann::json j = run_json("--json train --preset digits --optimizer adam --dtype f32 --device cpu --quiet "
                                    "--epochs 4 --lr 0.01 --resume '" + checkpoint() + "' --out '" + (*dir / "more") + "'");
  EXPECT_EQ(j["resumed_from"], checkpoint());
  EXPECT_EQ(j["resumed_after_epoch"], 2);
  EXPECT_EQ(j["epochs_run"], 4);
  EXPECT_EQ(j["train_loss"].size(), 4u);
  EXPECT_EQ(j["optimizer"], "adam(lr=0.01)");
  EXPECT_EQ(j["dataset"], "digits");
  EXPECT_EQ(j["model_spec"], "64-32(relu)-16(relu)-10 cross-entropy");
}

TEST_F(FlagRules, BceOnClassLabelsIsOneHotAndSaysSo) {
  CUMLP_REQUIRE_DIGITS();
  // One sigmoid output per class, each trained towards 0/1: a multi-label model that learns the digits.
  const nlohmann::json j = run_json("--json train --layers 64-32-10 --dataset digits --loss bce --epochs 30 "
                                    "--device cpu --quiet --out '" + (*dir / "bce") + "'");
  EXPECT_EQ(j["targets"], "one-hot");
  EXPECT_EQ(j["model_spec"], "64-32(relu)-10(sigmoid) bce");
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.5) << "ten 0/1 outputs learn the ten classes";
  // One output cannot hold ten classes; cross-entropy needs one output per class.
  refused("--layers 64-8-1 --dataset digits --loss bce", {"one-hot", "one output per class (10)"});
  refused("--layers 64-8-1 --dataset digits", {"cross-entropy", "at least 2"});
  refused("--layers 64-8-4 --dataset digits", {"10 classes", "4 outputs"});
}

}  // namespace
}  // namespace cumlp::test
