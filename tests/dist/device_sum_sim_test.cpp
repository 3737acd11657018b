// The recorded distributed step's stream-ordered device sum (what the nccl
// communicator's enqueue_sum does on a GPU) on the sim device, without NCCL or
// MPI: a fake 1-rank communicator enqueues each sum as a host call on the
// stream it is given (the simulator's cudaLaunchHostFunc), scaling the piece
// in place as a 1-rank pre-multiplied sum does. Checks the executor's use of
// it: one sum per layer (one for the fused narrow step) covering the whole
// gradient buffer and the loss, scaled by rows / global rows, captured into the
// recording and run at every replay, one wait per step; and, the scale being
// exactly 1, the same bits as training alone.
#include <gtest/gtest.h>

#include <deque>

#include "cuda/sim/runtime.h"
#include "cumlp/cumlp.h"
#include "host/dist/device_sum.h"
#include "tests/dist/one_rank_comm.h"

namespace cumlp {
namespace {

class FakeStreamComm final : public OneRankComm, public DeviceSum {
 public:
  void sum_on_device(void*, int64_t, DType, double) override { ++op_by_op; }
  bool can_enqueue() const override { return true; }
  void enqueue_sum(void* data, int64_t count, DType dtype, double scale, void* stream) override {
    EXPECT_EQ(dtype, DType::F32);
    calls.push_back(Call{this, static_cast<float*>(data), count, static_cast<float>(scale)});
    ASSERT_EQ(cudaLaunchHostFunc(static_cast<cudaStream_t>(stream), &FakeStreamComm::run, &calls.back()), cudaSuccess);
  }
  void wait_stream(void* stream, const char*) override {
    EXPECT_EQ(cudaStreamQuery(static_cast<cudaStream_t>(stream)), cudaSuccess);
    ++waits;
  }
  struct Call {
    FakeStreamComm* comm;
    float* data;
    int64_t count;
    float scale;
  };
  static void run(void* p) {
    const Call& c = *static_cast<const Call*>(p);
    for (int64_t i = 0; i < c.count; ++i) c.data[i] *= c.scale;
    c.comm->elements_summed += c.count;
    c.comm->scales.push_back(c.scale);
    ++c.comm->runs;
  }
  std::deque<Call> calls;  // enqueued (a recorded one runs at every replay)
  std::vector<float> scales;
  int64_t runs = 0, elements_summed = 0, waits = 0, op_by_op = 0;
};

struct Trained {
  std::vector<double> params;
  double loss_sum = 0;
};

Trained trained(const std::string& layers, const std::shared_ptr<Communicator>& comm, int steps) {
  Network net(ModelSpec::parse(layers, Activation::Tanh, -1, Activation::Identity), Optimizer::adam(0.01),
              [&] {
                NetworkOptions o{Device::parse("sim"), DType::F32, 11, 16};
                o.communicator = comm;
                return o;
              }());
  for (int s = 0; s < steps; ++s) {
    Tensor x({16, 6}, DType::F32), y({16}, DType::F32);
    for (int64_t i = 0; i < 16 * 6; ++i) x.set(i, 0.01 * static_cast<double>((i * 37 + s * 11) % 100) - 0.5);
    for (int64_t i = 0; i < 16; ++i) y.set(i, static_cast<double>((i + s) % 3));
    net.queue_train_step(x, y);
  }
  return {net.parameters().to_vector(), net.take_losses().sum};
}

TEST(StreamOrderedDeviceSum, RecordedStepsSumEveryLayerOnTheSideStreamAndTrainAsAlone) {
  const int steps = 5;
  // 6-8-3: the fused narrow step, one sum; 6-160-3: wider than 128, a sum per layer.
  for (const auto& [layers, params, sums_per_step] : {std::tuple{"6-8-3", 6 * 8 + 8 + 8 * 3 + 3, 1},
                                                      std::tuple{"6-160-3", 6 * 160 + 160 + 160 * 3 + 3, 2}}) {
    auto comm = std::make_shared<FakeStreamComm>();
    const Trained with = trained(layers, comm, steps), alone = trained(layers, nullptr, steps);
    EXPECT_EQ(comm->op_by_op, 0) << layers;
    EXPECT_EQ(comm->waits, steps) << layers;
    // Enqueued: the warm-up step's and the recording's; every step ran them.
    EXPECT_EQ(comm->calls.size(), std::size_t(2 * sums_per_step)) << layers;
    EXPECT_EQ(comm->runs, steps * sums_per_step) << layers;
    EXPECT_EQ(comm->elements_summed, steps * (params + 1)) << layers;  // every gradient and the loss, once a step
    EXPECT_EQ(comm->scales, std::vector<float>(comm->scales.size(), 1.0f)) << layers;
    EXPECT_EQ(with.params, alone.params) << layers;
    EXPECT_EQ(with.loss_sum, alone.loss_sum) << layers;
  }
}

}  // namespace
}  // namespace cumlp
