// No global mutable state: two networks training on the cpu device in two
// threads at the same time end with exactly the weights and losses they get
// when trained one after the other.
#include <gtest/gtest.h>

#include <thread>

#include "cumlp/train.h"

namespace cumlp::reliability {
namespace {

Dataset table(int n, int seed) {
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 0; i < n; ++i) {
    for (int f = 0; f < 16; ++f) x.push_back(static_cast<float>(((i + seed) * 31 + f * 17) % 23) / 23.0f);
    y.push_back((i * 7 + seed) % 4);
  }
  return Dataset(std::move(x), {16}, 1.0, std::move(y), 4);
}

struct TrainRun {
  std::vector<double> params;
  TrainReport report;
};

TrainRun train(uint64_t seed, double dropout) {
  const Dataset data = table(400, static_cast<int>(seed));
  Network net(ModelSpec::input(16).linear(64).relu().dropout(dropout).linear(32).tanh().linear(4),
              Optimizer::adam(0.005), NetworkOptions{Device::parse("cpu"), DType::F32, seed, 25});
  TrainConfig c;
  c.epochs = 5;
  c.batch_size = 25;
  c.seed = seed;
  TrainRun r;
  r.report = Trainer(net, c).fit(data);
  r.params = net.parameters().to_vector();
  return r;
}

TEST(Threads, TwoNetworksTrainConcurrentlyAsTheyDoSequentially) {
  const TrainRun a = train(1, 0.1), b = train(2, 0.2);
  TrainRun ca, cb;
  std::thread ta([&] { ca = train(1, 0.1); });
  std::thread tb([&] { cb = train(2, 0.2); });
  ta.join();
  tb.join();
  EXPECT_EQ(ca.params, a.params);
  EXPECT_EQ(cb.params, b.params);
  EXPECT_EQ(ca.report.train_loss, a.report.train_loss);
  EXPECT_EQ(cb.report.valid_loss, b.report.valid_loss);
  EXPECT_NE(a.params, b.params);  // the two runs really differ
}

}  // namespace
}  // namespace cumlp::reliability
