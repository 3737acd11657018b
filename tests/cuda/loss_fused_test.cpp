// The loss fused into the output layer's GEMM (Backend::linear_loss_forward,
// cuda/linear.cu) against the two ops it replaces: linear_act_forward then
// loss_forward_backward. y, dz, the loss and the StepRecord's sum must be the
// same bits, under every simulator schedule, for each loss kind, with and
// without split-K, for batches of 1 to 256 rows; the fused op is one launch.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cumlp/model.h"
#include "sim_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

class LossFused : public OnDevice {};

std::vector<sim::Schedule> sweep(const std::string& device) {
  return device == "sim" ? schedules() : std::vector<sim::Schedule>{sim::Schedule{}};
}

struct Case {
  LossKind kind;
  int32_t act;  // the output activation; softmax: the loss normalises the logits
  int64_t N;
};

// One run: y, dz, loss, the record's loss_sum (as two floats' bits), and the launches.
struct Outputs {
  std::vector<std::vector<float>> out;
  int64_t launches = 0;
};

Outputs run_op(Backend& be, const Case& c, int64_t M, int64_t K, bool fused) {
  const auto x = cast<float>(rounded(11, 1, M * K, -1, 1)), w = cast<float>(rounded(11, 2, c.N * K, -0.5, 0.5));
  const auto b = cast<float>(rounded(11, 3, c.N, -0.5, 0.5));
  const auto t = cast<float>(rounded(11, 4, M * c.N, 0.05, 0.95));
  const std::vector<int32_t> cls = classes(11, 5, M, static_cast<int32_t>(c.N));
  const bool ce = c.kind == LossKind::CrossEntropy;
  DeviceBuffer dx(be, x), dw(be, w), db(be, b), dt(be, t), dc(be, cls);
  DeviceBuffer dy(be, M * c.N * 4), dz(be, M * c.N * 4), loss(be, 4), rec(be, sizeof(StepRecord));
  StepRecord r0;
  r0.loss_sum = 0.25;  // something to add to
  be.upload(rec.get(), &r0, sizeof r0);
  Epilogue ep;
  ep.act = c.act;
  ep.softmax_in_loss = c.act == ops::kSoftmax;
  LossArgs la{static_cast<int32_t>(c.kind), M, c.N, c.act, 0, true};
  la.normalise = ep.softmax_in_loss;
  la.record = static_cast<StepRecord*>(rec.get());
  const void* target = ce ? dc.get() : dt.get();
  const int64_t before = be.launches();
  if (fused) {
    EXPECT_TRUE(be.fuses_loss_into_output(c.N, ep));
    be.linear_loss_forward(DType::F32, M, c.N, K, dx.get(), dw.get(), db.get(), ep, dy.get(), la, target, dz.get(),
                           loss.get());
  } else {
    be.linear_act_forward(DType::F32, M, c.N, K, dx.get(), dw.get(), db.get(), ep, dy.get(), nullptr);
    be.loss_forward_backward(DType::F32, la, dy.get(), target, dz.get(), loss.get());
  }
  Outputs out;
  out.launches = be.launches() - before;
  StepRecord r;
  be.download(&r, rec.get(), sizeof r);
  std::vector<float> sum(2);
  std::memcpy(sum.data(), &r.loss_sum, sizeof r.loss_sum);
  sum.push_back(static_cast<float>(r.losses));
  out.out = {dy.read<float>(), dz.read<float>(), loss.read<float>(), sum};
  return out;
}

TEST_P(LossFused, EqualsTheSeparateLossLaunchBitForBit) {
  auto be = make_backend(Device::parse(device()));
  const Case cases[] = {{LossKind::CrossEntropy, ops::kIdentity, 10},
                        {LossKind::MSE, ops::kSoftmax, 10},
                        {LossKind::BCE, ops::kSigmoid, 7},
                        {LossKind::HalfSSE, ops::kIdentity, 32}};
  const int64_t Ks[] = {8, 300};  // 300: the GEMM splits K (few tiles), the loss in each tile's last split block
  for (const sim::Schedule& sch : sweep(device())) {
    sim::ScheduleScope scope(sch);
    for (const Case& c : cases)
      for (int64_t M : {1, 7, 100, 256})
        for (int64_t K : Ks) {
          const Outputs sep = run_op(*be, c, M, K, false), fus = run_op(*be, c, M, K, true);
          const std::string what = "kind " + std::to_string(static_cast<int>(c.kind)) + " M " + std::to_string(M) +
                                   " N " + std::to_string(c.N) + " K " + std::to_string(K) + " schedule " +
                                   std::string(sim::order_name(sch.order));
          const char* names[] = {"y", "dz", "loss", "record"};
          using Outs = std::vector<std::vector<float>>;
          for (int k = 0; k < 4; ++k) EXPECT_TRUE(same_bits(Outs{sep.out[k]}, Outs{fus.out[k]})) << what << " " << names[k];
          EXPECT_EQ(fus.launches, 1) << what;
          EXPECT_EQ(sep.launches, 2) << what;
        }
  }
}

TEST_P(LossFused, WiderOutputsAndDropoutKeepTheSeparateLaunch) {
  auto be = make_backend(Device::parse(device()));
  Epilogue ep;
  EXPECT_TRUE(be->fuses_loss_into_output(32, ep));
  EXPECT_FALSE(be->fuses_loss_into_output(33, ep));
  ep.dropout_p = 0.5;
  EXPECT_FALSE(be->fuses_loss_into_output(10, ep));
  ep.dropout_p = 0;
  ep.act = ops::kSoftmax;  // a softmax output fuses only when the loss normalises its logits
  EXPECT_FALSE(be->fuses_loss_into_output(10, ep));
  ep.softmax_in_loss = true;
  EXPECT_TRUE(be->fuses_loss_into_output(10, ep));
  // A shape it does not fuse: the two launches.
  DeviceBuffer x(*be, 4 * 40), w(*be, 4 * 40 * 40), y(*be, 4 * 40), z(*be, 4 * 40), t(*be, 4 * 40), l(*be, 4);
  Epilogue plain;
  LossArgs la{static_cast<int32_t>(LossKind::MSE), 1, 40, ops::kIdentity, 0, true};
  const int64_t before = be->launches();
  be->linear_loss_forward(DType::F32, 1, 40, 40, x.get(), w.get(), nullptr, plain, y.get(), la, t.get(), z.get(),
                          l.get());
  EXPECT_EQ(be->launches() - before, 2);
}

INSTANTIATE_TEST_SUITE_P(Devices, LossFused, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
