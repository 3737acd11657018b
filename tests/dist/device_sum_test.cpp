// The gradient sum's device path (what the nccl communicator drives on a GPU)
// checked on the cpu device, whose "device memory" is host memory: a fake
// communicator of one rank that is also a DeviceSum records the scale it is
// asked to apply, so the weighting (rows / global rows), the zeroed buffer of
// a rank without rows, the loss's weighting and the executor's use of a
// 1-rank communicator are tested without NCCL or a GPU.
#include <gtest/gtest.h>

#include <random>

#include "cumlp/cumlp.h"
#include "host/core/device_registry.h"
#include "host/dist/device_sum.h"
#include "tests/dist/one_rank_comm.h"
#include "host/dist/gradient_sum.h"

namespace cumlp {
namespace {

// One rank: the sum over the ranks of scale * data is scale * data.
class FakeDeviceComm final : public OneRankComm, public DeviceSum {
 public:
  void sum_on_device(void* data, int64_t count, DType dtype, double scale) override {
    last_scale = scale;
    seen.assign(static_cast<std::size_t>(count), 0);
    for (int64_t i = 0; i < count; ++i) {
      double& s = seen[static_cast<std::size_t>(i)];
      if (dtype == DType::F64) s = static_cast<double*>(data)[i], static_cast<double*>(data)[i] *= scale;
      else s = static_cast<float*>(data)[i], static_cast<float*>(data)[i] *= static_cast<float>(scale);
    }
    ++device_sums;
  }
  double last_scale = -1;
  std::vector<double> seen;  // the buffer as handed over
  int device_sums = 0;
};

TEST(DeviceGradientSum, ScalesByRowsOverGlobalRowsAndWeightsTheLoss) {
  FakeDeviceComm comm;
  auto backend = make_backend(Device::parse("cpu"));
  const std::vector<double> g = {1.5, -2.0, 4.0};
  void* grads = backend->alloc(g.size() * sizeof(double));
  backend->upload(grads, g.data(), g.size() * sizeof(double));
  GradientSum sum(comm, *backend, DType::F64, 3);
  const double loss = sum.reduce(grads, 0.7, 3, 7);
  EXPECT_EQ(comm.device_sums, 1);
  EXPECT_EQ(comm.host_sums, 1);  // the loss
  EXPECT_DOUBLE_EQ(comm.last_scale, 3.0 / 7.0);
  EXPECT_EQ(comm.seen, g);  // the gradients were handed over in place, not staged
  EXPECT_DOUBLE_EQ(loss, 0.7 * 3 / 7);
  std::vector<double> out(3);
  backend->download(out.data(), grads, out.size() * sizeof(double));
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_DOUBLE_EQ(out[i], g[i] * (3.0 / 7.0));
  // A rank without rows sends zeros whatever its buffer holds, and no loss.
  EXPECT_EQ(sum.reduce(grads, 123.0, 0, 7), 0.0);
  EXPECT_EQ(comm.last_scale, 0.0);
  EXPECT_EQ(comm.seen, std::vector<double>(3, 0.0));
  backend->release(grads);
}

// A network given a 1-rank communicator takes the distributed step (shard,
// gradient sum, update): with a scale of exactly 1 it trains as alone, bit for bit.
std::vector<double> trained(const std::shared_ptr<Communicator>& comm) {
  ModelSpec spec = ModelSpec::parse("6-8-3", Activation::Tanh, -1, Activation::Identity);
  NetworkOptions o{Device::parse("cpu"), DType::F64, 11, 16};
  o.communicator = comm;
  Network net(spec, Optimizer::adam(0.01), o);
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int s = 0; s < 5; ++s) {
    Tensor x({16, 6}, DType::F64), y({16}, DType::F64);
    for (int64_t i = 0; i < 16 * 6; ++i) x.set(i, u(gen));
    for (int64_t i = 0; i < 16; ++i) y.set(i, static_cast<double>(gen() % 3));
    net.train_step(x, y);
  }
  return net.parameters().to_vector();
}

TEST(DeviceGradientSum, ANetworkWithAOneRankCommunicatorTrainsAsAlone) {
  auto comm = std::make_shared<FakeDeviceComm>();
  const std::vector<double> with = trained(comm), alone = trained(nullptr);
  EXPECT_EQ(comm->device_sums, 5);  // one all-reduce per step
  EXPECT_EQ(comm->last_scale, 1.0);
  EXPECT_EQ(with, alone);
}

}  // namespace
}  // namespace cumlp
