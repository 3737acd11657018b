// Bad input to train/eval/predict (SPEC §4): each case exits non-zero with
// exactly one "error:" line on stderr naming the flag or file, prints nothing
// on stdout in --json mode, and leaves no model.safetensors or report.json in
// the run folder (a half-finished run must not look like a finished one).
#include <filesystem>
#include <fstream>

#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

class TrainCliErrors : public ::testing::Test {
 protected:
  // `cumlp --json train ARGS --out <scratch>/run` must fail naming `mention`.
  void expect_train_error(const std::string& args, const std::string& mention) {
    const std::string run = dir_ / "run";
    std::filesystem::remove_all(run);
    const std::string device = args.find("--device") == std::string::npos ? "--device cpu " : "";
    expect_cli_error("--json train --quiet " + device + args + " --out '" + run + "'", mention);
    EXPECT_FALSE(std::filesystem::exists(run + "/model.safetensors")) << args;
    EXPECT_FALSE(std::filesystem::exists(run + "/report.json")) << args;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  ScratchDir dir_;
};

TEST_F(TrainCliErrors, BadRecipes) {
  expect_train_error("--preset nope", "unknown preset 'nope'");
  expect_train_error("--preset digits --lr 0", "--lr");
  expect_train_error("--preset digits --lr -1", "--lr");
  expect_train_error("--preset digits --batch-size 0", "--batch-size");
  expect_train_error("--preset digits --epochs 0", "--epochs");
  expect_train_error("--preset digits --dropout 1.5", "--dropout");
  expect_train_error("--preset digits --layers 64-10", "not both");
  expect_train_error("--preset digits --device bogus", "bogus");
  // A model that does not fit the data is refused before anything is written.
  expect_train_error("--layers 64-10 --dataset xor", "features");
}

TEST_F(TrainCliErrors, MalformedLayerSpec) {
  CUMLP_REQUIRE_FASHION();
  expect_train_error("--layers 784--10 --dataset fashion", "784--10");
}

TEST_F(TrainCliErrors, BadResumeFiles) {
  CUMLP_REQUIRE_DIGITS();
  const std::string missing = dir_ / "missing.safetensors";
  expect_train_error("--preset digits --resume '" + missing + "'", missing);
  const std::string garbage = write("garbage.safetensors", "this is not a safetensors file at all\n");
  expect_train_error("--preset digits --resume '" + garbage + "'", garbage);
}

TEST_F(TrainCliErrors, EvalAndPredictOfBadFiles) {
  CUMLP_REQUIRE_DIGITS();
  const std::string not_model = write("notes.txt", "hello\n");
  expect_cli_error("--json eval '" + not_model + "' --device cpu", not_model);
  expect_cli_error("--json predict '" + not_model + "' '" + not_model + "' --device cpu", not_model);

  // A real digits model, and a CSV whose rows are one value short.
  const std::string run = dir_ / "digits";
  run_json("--json train --preset digits --epochs 2 --quiet --device cpu --out '" + run + "'");
  std::string row;
  for (int i = 0; i < 63; ++i) {
    if (i) row += ",";
    row += std::to_string(i % 17);
  }
  const std::string csv = write("short.csv", row + "\n" + row + "\n");
  expect_cli_error("--json predict '" + run + "/model.safetensors' '" + csv + "' --device cpu", csv);
  // A ragged CSV names the file too.
  const std::string ragged = write("ragged.csv", row + ",1\n" + row + "\n");
  expect_cli_error("--json predict '" + run + "/model.safetensors' '" + ragged + "' --device cpu", ragged);
}

}  // namespace
}  // namespace cumlp::test
