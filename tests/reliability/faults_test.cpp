// Numerical and I/O faults: a diverging run stops naming the epoch and batch
// and keeps the last good checkpoint (which --resume with a lower --lr then
// continues); non-finite weights never reach a checkpoint; a checkpoint write
// that fails (file-size limit, like a full disk) gives one error line and
// keeps the previous files.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "cumlp/error.h"
#include "cumlp/train.h"
#include "tests/reliability/child.h"
#include "tests/reliability/data_files.h"

namespace cumlp::reliability {
namespace {

const std::string kDigits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

// `cumlp --json train` of a custom model on digits (the real table when
// installed, else a synthetic one) into `run`, checkpointing every epoch.
std::vector<std::string> digits_args(const ScratchDir& s, const std::string& run) {
  std::string data_dir = s / "data";
  std::filesystem::create_directories(data_dir);
  if (std::filesystem::exists(kDigits))
    std::filesystem::copy_file(kDigits, data_dir + "/digits.csv.gz", std::filesystem::copy_options::skip_existing);
  else
    write_bytes(data_dir + "/digits.csv.gz", digits_csv(300));
  return {"--json", "train", "--layers", "64-32-10", "--dataset", "digits", "--data-dir", data_dir, "--out", run,
          "--device", "cpu", "--checkpoint-seconds", "0", "--quiet", "--optimizer", "sgd", "--batch-size", "32",
          // tanh + MSE: the output layer is linear in bounded features, so a
          // too-large step grows the loss geometrically until float overflows
          // (ReLU would just die and CE stay finite).
          "--activation", "tanh", "--loss", "mse"};
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

TEST(Divergence, HugeLrStopsNamingEpochAndBatchKeepsCheckpointAndLowerLrResumes) {
  ScratchDir s;
  const std::string run = s / "run", ckpt = run + "/checkpoint.safetensors";
  const auto args = digits_args(s, run);
  // Two sane epochs leave a good checkpoint.
  const Outcome good = run_cumlp(with(args, {"--lr", "0.01", "--epochs", "2"}));
  ASSERT_EQ(good.code, 0) << good.err;
  const std::string before = read_text(ckpt);
  const std::string model_before = read_text(run + "/model.safetensors");
  const std::vector<std::string> files_before = files_under(run);

  // Continuing with lr 1e6 overflows float32 within a few steps of epoch 3.
  const Outcome bad = run_cumlp(with(args, {"--resume", ckpt, "--lr", "1e6", "--epochs", "6"}));
  expect_one_error(bad, {"epoch 3, batch ", "not finite", "last good checkpoint '" + ckpt + "' is kept"});
  EXPECT_EQ(read_text(ckpt), before) << "the diverged run must not touch the last good checkpoint";
  EXPECT_EQ(read_text(run + "/model.safetensors"), model_before);
  EXPECT_EQ(files_under(run), files_before) << "no new or temporary files";

  // The same checkpoint with a small lr trains on to the end.
  const Outcome ok = run_cumlp(with(args, {"--resume", ckpt, "--lr", "0.001", "--epochs", "4"}));
  ASSERT_EQ(ok.code, 0) << ok.err;
  const nlohmann::json j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j["epochs_run"].get<int>(), 4);
  for (const auto& l : j["train_loss"]) EXPECT_TRUE(std::isfinite(l.get<double>()));
}

TEST(Divergence, NonFiniteWeightWithFiniteLossIsNeverCheckpointed) {
  // A hidden ReLU unit with bias -inf is dead: the loss stays finite, its
  // gradient is 0, so the -inf survives every step. The epoch-end check
  // must refuse to save it and name the epoch and batch.
  ScratchDir s;
  const std::string ckpt = s / "ckpt.safetensors";
  write_bytes(ckpt, "previous checkpoint");
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 0; i < 40; ++i) {
    for (int f = 0; f < 4; ++f) x.push_back(static_cast<float>((i * 3 + f) % 5));
    y.push_back(i % 2);
  }
  const Dataset data(std::move(x), {4}, 1.0, std::move(y), 2);
  Network net(ModelSpec::input(4).linear(8).relu().linear(2), Optimizer::adam(0.01),
              NetworkOptions{Device::parse("cpu"), DType::F32, 1, 10});
  Tensor b = net.bias(0);
  b.set(0, -std::numeric_limits<double>::infinity());
  net.set_bias(0, b);
  TrainConfig c;
  c.epochs = 3;
  c.batch_size = 10;
  c.valid_fraction = 0;
  c.checkpoint = ckpt;
  c.checkpoint_seconds = 0;
  try {
    Trainer(net, c).fit(data);
    FAIL() << "training with an infinite weight succeeded";
  } catch (const cumlp::Error& e) {
    const std::string m = e.message();
    EXPECT_NE(m.find("epoch 1, batch 4: parameter "), std::string::npos) << m;
    EXPECT_NE(m.find("is not finite"), std::string::npos) << m;
    EXPECT_NE(m.find("last good checkpoint"), std::string::npos) << m;
  }
  EXPECT_EQ(read_text(ckpt), "previous checkpoint");
}

TEST(DiskFull, FailedCheckpointWriteKeepsPreviousFilesAndSaysWhy) {
  ScratchDir s;
  const std::string run = s / "run", ckpt = run + "/checkpoint.safetensors";
  const auto args = digits_args(s, run);
  const Outcome good = run_cumlp(with(args, {"--lr", "0.01", "--epochs", "1"}));
  ASSERT_EQ(good.code, 0) << good.err;
  const std::string before = read_text(ckpt), model_before = read_text(run + "/model.safetensors");
  ASSERT_GT(before.size(), 4096u);

  // Files may not grow past 4 KiB: the next checkpoint cannot be written.
  SpawnOptions limited;
  limited.file_size_limit = 4096;
  const Outcome o = run_cumlp(with(args, {"--resume", ckpt, "--lr", "0.01", "--epochs", "3"}), limited);
  expect_one_error(o, {"cannot write '" + ckpt + "'", "File too large"});
  EXPECT_EQ(read_text(ckpt), before);
  EXPECT_EQ(read_text(run + "/model.safetensors"), model_before);
  for (const std::string& f : files_under(run)) EXPECT_EQ(f.find(".tmp."), std::string::npos) << "debris: " << f;
}

TEST(DiskFull, UnwritableRunFolderIsOneErrorLine) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
  ScratchDir s;
  const std::string run = s / "run";
  std::filesystem::create_directories(run);
  std::filesystem::permissions(run, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  expect_one_error(run_cumlp(with(digits_args(s, run), {"--epochs", "1"})), {run + "/checkpoint.safetensors"});
}

}  // namespace
}  // namespace cumlp::reliability
