// The epoch losses a run reports do not depend on when a progress display
// looked at them: the trainer peeks at the running totals mid-epoch and takes
// the epoch's total once at its end, so it stays one sum in step order. (It
// used to add up separately taken chunks, whose boundaries followed the
// clock: an f64 run could differ in the last bit between identical runs.)
#include <chrono>
#include <cstring>
#include <thread>

#include "tests/common/cli_run.h"

namespace cumlp::test {
namespace {

std::vector<double> train_losses(bool progress) {
  CsvOptions csv;
  csv.scale = 1.0 / 16;
  const Dataset digits = load_csv(kDigitsCsv, csv);
  const ModelSpec spec = ModelSpec::parse("64-32-10", Activation::ReLU, -1).loss(LossKind::CrossEntropy);
  Network net(spec, Optimizer::adam(1e-2), NetworkOptions{Device::parse("cpu", DType::F64), DType::F64, 7, 16});
  TrainConfig config;
  config.epochs = 2;
  config.batch_size = 16;
  config.seed = 7;
  int calls = 0;
  if (progress)
    config.on_progress = [&](const Progress&) {
      // Stalls past the trainer's 0.1 s reading interval at irregular batches,
      // so the mid-epoch reads fall at many different points.
      if (++calls % 13 == 5 || calls % 17 == 3) std::this_thread::sleep_for(std::chrono::milliseconds(105));
    };
  const TrainReport r = Trainer(net, config).fit(digits);
  if (progress) {
    EXPECT_GT(calls, 100) << "the progress callback ran";
  }
  return r.train_loss;
}

TEST(ProgressLosses, EpochLossesAreTheSameBitsWithAndWithoutProgressReads) {
  CUMLP_REQUIRE_DIGITS();
  const std::vector<double> quiet = train_losses(false), shown = train_losses(true);
  ASSERT_EQ(quiet.size(), shown.size());
  for (std::size_t e = 0; e < quiet.size(); ++e)
    EXPECT_EQ(std::memcmp(&quiet[e], &shown[e], sizeof(double)), 0)
        << "epoch " << e + 1 << ": " << quiet[e] << " vs " << shown[e] << " (exact equality: same steps, same order)";
}

}  // namespace
}  // namespace cumlp::test
