// SPEC §2 experiment 7 (sklearn's 8x8 digits) through the cumlp binary, and
// the rest of the workflow on it because a whole run takes under a second:
// reproducibility, resume, eval, predict, plots, early stopping.
#include <cmath>
#include <fstream>

#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

// `cumlp --json train --preset digits --device cpu --quiet --out DIR` + extra.
nlohmann::json train_digits(const std::string& dir, const std::string& extra = "") {
  return run_json("--json train --preset digits --device cpu --quiet --out '" + dir + "' " + extra);
}

std::vector<double> losses(const nlohmann::json& j) { return j.at("train_loss").get<std::vector<double>>(); }

// The notes' recipe: 64-32-16-10 ReLU, cross-entropy, Adam defaults, full
// batch of the 1437 training rows, 100 epochs; they print loss 0.205 at epoch 90.
TEST(DigitsCli, PresetRunsTheNotesRecipe) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  const nlohmann::json j = train_digits(dir.path().string());
  EXPECT_EQ(j["model_spec"], "64-32(relu)-16(relu)-10 cross-entropy");
  EXPECT_EQ(j["optimizer"], "adam(lr=0.001)");
  EXPECT_EQ(j["train_rows"], 1437) << "sklearn's train_test_split(test_size=0.2) of 1797 rows";
  const std::vector<double> loss = losses(j);
  ASSERT_EQ(loss.size(), 100u);
  EXPECT_EQ(j["epochs_run"], 100);
  // Full batch: one step per epoch, so the epoch loss is that step's loss.
  // Observed 0.2488 at epoch 90 (seed 777); the notes' 0.205 comes from
  // PyTorch's own init and split. 0.5 bounds "trained", not a digit-exact match.
  const double at90 = loss[89];
  std::cout << "digits: train loss at epoch 90 = " << at90 << ", test accuracy " << j["test_accuracy"] << "\n";
  ASSERT_TRUE(std::isfinite(at90));
  EXPECT_LT(at90, 0.5);
  EXPECT_LT(at90, loss[0]);
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.85);
}

// One seed fixes init, split and shuffles: the same seed twice gives the same
// losses and the same weights bit for bit; another seed does not.
TEST(DigitsCli, SameSeedSameRunOtherSeedOtherRun) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir a, b, c;
  const nlohmann::json ja = train_digits(a.path().string());
  const nlohmann::json jb = train_digits(b.path().string());
  const nlohmann::json jc = train_digits(c.path().string(), "--seed 5");
  EXPECT_EQ(losses(ja), losses(jb));  // exact: same seed, same deterministic CPU code
  EXPECT_EQ(ja["test_loss"], jb["test_loss"]);
  EXPECT_TRUE(bitwise_equal(model_parameters(a / "model.safetensors"), model_parameters(b / "model.safetensors")));
  EXPECT_EQ(read_text(a / "model.safetensors"), read_text(b / "model.safetensors")) << "the files differ";

  EXPECT_NE(losses(ja), losses(jc));
  EXPECT_FALSE(bitwise_equal(model_parameters(a / "model.safetensors"), model_parameters(c / "model.safetensors")));
}

// Stopping after 40 epochs and resuming from the checkpoint gives what one
// uninterrupted 100-epoch run gives, bit for bit (parameters, Adam moments
// and step count all travel in the checkpoint).
TEST(DigitsCli, ResumeEqualsAnUninterruptedRun) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir a, b, c;
  train_digits(a.path().string(), "--epochs 40");
  // A resumed run goes on to the epochs it recorded (40) unless --epochs says otherwise.
  const nlohmann::json jb =
      train_digits(b.path().string(), "--epochs 100 --resume '" + (a / "checkpoint.safetensors") + "'");
  const nlohmann::json jc = train_digits(c.path().string());
  EXPECT_EQ(jb["epochs_run"], 100);
  EXPECT_EQ(losses(jb), losses(jc));  // exact, as above
  EXPECT_EQ(jb["test_accuracy"], jc["test_accuracy"]);
  EXPECT_TRUE(bitwise_equal(model_parameters(b / "model.safetensors"), model_parameters(c / "model.safetensors")));
}

// A resumed run keeps the seed it began with (split, shuffles): resuming a
// --seed 5 run without repeating --seed equals the uninterrupted --seed 5
// run, and a contradicting --seed is refused.
TEST(DigitsCli, ResumeKeepsTheRunsSeed) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir a, b, c;
  train_digits(a.path().string(), "--seed 5 --epochs 30");
  const std::string ckpt = a / "checkpoint.safetensors";
  const nlohmann::json jb = train_digits(b.path().string(), "--epochs 50 --resume '" + ckpt + "'");
  const nlohmann::json jc = train_digits(c.path().string(), "--epochs 50 --seed 5");
  EXPECT_EQ(losses(jb), losses(jc));  // exact, as above
  EXPECT_TRUE(bitwise_equal(model_parameters(b / "model.safetensors"), model_parameters(c / "model.safetensors")));
  expect_cli_error("--json train --preset digits --quiet --seed 6 --resume '" + ckpt + "' --out '" + (b / "x") + "'",
                   "--seed");
}

void expect_probabilities(const nlohmann::json& list, const char* name) {
  ASSERT_EQ(list.size(), 10u) << name;
  for (const auto& v : list) {
    EXPECT_GE(v.get<double>(), 0.0) << name;
    EXPECT_LE(v.get<double>(), 1.0) << name;
  }
}

// `cumlp eval MODEL` finds the dataset (and the seed of the digits test
// split) in the model and reproduces the training report's test metrics
// exactly: same rows, same weights, same single batch.
TEST(DigitsCli, EvalReproducesTheTrainReport) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  for (const std::string seed : {"777", "5"}) {
    SCOPED_TRACE("--seed " + seed);
    const std::string run = dir / ("seed" + seed);
    const nlohmann::json t = train_digits(run, "--seed " + seed);
    const nlohmann::json e =
        run_json("--json eval '" + run + "/model.safetensors' --device cpu --confusion-png '" + run + "/c.png'");
    EXPECT_EQ(e["test_loss"], t["test_loss"]);
    EXPECT_EQ(e["test_accuracy"], t["test_accuracy"]);
    EXPECT_EQ(e["confusion"], t["confusion"]);
    EXPECT_EQ(e["rows"], 360);
    ASSERT_EQ(e["confusion"].size(), 10u);
    int64_t total = 0;
    for (const auto& row : e["confusion"]) {
      ASSERT_EQ(row.size(), 10u);
      for (const auto& v : row) total += v.get<int64_t>();
    }
    EXPECT_EQ(total, 360);
    expect_probabilities(e["precision"], "precision");
    expect_probabilities(e["recall"], "recall");
    expect_probabilities(e["f1"], "f1");
    EXPECT_TRUE(is_png(run + "/c.png"));
  }
}

// `cumlp predict MODEL rows.csv`: one class per row, the library's own
// prediction for the same rows (and the same outputs, bit for bit).
TEST(DigitsCli, PredictMatchesTheLibrary) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  train_digits(dir.path().string(), "--epochs 20");
  const Dataset digits = load_csv(kDigitsCsv);
  const std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 1796};
  {
    std::ofstream csv(dir / "rows.csv");
    for (int64_t r : rows)
      for (int64_t f = 0; f < 64; ++f) csv << digits.f32()[static_cast<std::size_t>(r * 64 + f)] << (f < 63 ? "," : "\n");
  }
  const std::string model = dir / "model.safetensors";
  const CliRun human = run_cli("predict '" + model + "' '" + (dir / "rows.csv") + "' --device cpu");
  ASSERT_EQ(human.status, 0) << human.err;
  const nlohmann::json j = run_json("--json predict '" + model + "' '" + (dir / "rows.csv") + "' --device cpu");

  Network net = load_network(model, NetworkOptions{Device::parse("cpu")});
  const auto n = static_cast<int64_t>(rows.size());
  Tensor x({n, 64});
  digits.gather(rows.data(), n, x.data<float>());
  const std::vector<int32_t> want = net.predict_classes(x);
  const Tensor y = net.forward(x);
  std::string lines;
  for (int32_t c : want) lines += std::to_string(c) + "\n";
  EXPECT_EQ(human.out, lines) << "one class per line on stdout";
  ASSERT_EQ(j["predictions"].size(), rows.size());
  EXPECT_EQ(j["predictions"].get<std::vector<int32_t>>(), want);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < 10; ++c)
      EXPECT_EQ(static_cast<float>(j["outputs"][r][c].get<double>()), y.data<float>()[r * 10 + c]) << r << "," << c;
}

// The three `cumlp plot` pictures.
TEST(DigitsCli, PlotCommandsWritePngs) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  train_digits(dir.path().string(), "--epochs 5");
  run_json("--json plot activations --out '" + (dir / "act.png") + "'");
  EXPECT_TRUE(is_png(dir / "act.png"));
  run_json("--json plot loss '" + (dir / "report.json") + "' --out '" + (dir / "loss2.png") + "'");
  EXPECT_TRUE(is_png(dir / "loss2.png"));
  if (!fashion_present()) GTEST_SKIP() << kFashionDir << " absent: plot samples not run";
  run_json("--json plot samples --preset fashion-small --out '" + (dir / "samples.png") + "'");
  EXPECT_TRUE(is_png(dir / "samples.png"));
}

// Early stopping through the CLI: a wide net on the ~1150 digits training
// rows overfits within a few dozen epochs; the report then shows the stop
// and the restored best epoch (the last minimum of valid_loss).
TEST(DigitsCli, EarlyStoppingThroughTheCli) {
  CUMLP_REQUIRE_DIGITS();
  const ScratchDir dir;
  const nlohmann::json j = run_json("--json train --layers 64-256-256-10 --dataset digits --device cpu --quiet "
                                    "--epochs 300 --batch-size 32 --lr 0.01 --valid-fraction 0.2 --patience 2 --out '" +
                                    dir.path().string() + "'");
  ASSERT_EQ(j["stopped_early"], true) << j.dump();
  const auto valid = j["valid_loss"].get<std::vector<double>>();
  const int run = j["epochs_run"], best = j["best_epoch"];
  ASSERT_EQ(valid.size(), static_cast<std::size_t>(run));
  EXPECT_EQ(run, best + 2);
  std::size_t last_min = 0;
  for (std::size_t e = 1; e < valid.size(); ++e)
    if (valid[e] <= valid[last_min]) last_min = e;
  EXPECT_EQ(best, static_cast<int>(last_min) + 1);
  std::cout << "digits 64-256-256-10 stopped after " << run << " epochs, best " << best << "\n";
}

}  // namespace
}  // namespace cumlp::test
