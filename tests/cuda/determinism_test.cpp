// On every device of the GPU backend (sim; cuda where usable): dropout masks
// equal the CPU backend's bit for bit, and every op gives the same bits on
// every run (and, on sim, under every simulator schedule: fixed-order sums,
// no atomics, RNG keyed by element index).
#include <gtest/gtest.h>

#include <cstring>

#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "sim_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 99;

// Forward with dropout after a sigmoid (outputs never 0, so a zero in y_drop
// is exactly a dropped element) and after a softmax; input gradient with
// dropout: the zero pattern and the kept values against the CPU device.
class GpuDropout : public OnDevice {};
class GpuDeterminism : public OnDevice {};
class GpuBackend : public OnDevice {};

TEST_P(GpuDropout, MasksEqualTheCpuBackend) {
  auto sim = make_backend(Device::parse(device())), cpu = make_cpu_backend();
  const int64_t M = 37, N = 45, K = 19;
  const auto x = cast<float>(rounded(kSeed, 1, M * K, -1, 1)), w = cast<float>(rounded(kSeed, 2, N * K, -1, 1));
  for (int32_t act : {ops::kSigmoid, ops::kSoftmax})
    for (double p : {0.1, 0.5, 0.9}) {
      const Epilogue ep{act, 0, p, kSeed, 3, 11};
      DeviceBuffer dx(*sim, x), dw(*sim, w), dy(*sim, M * N * 4), dyd(*sim, M * N * 4);
      sim->linear_act_forward(DType::F32, M, N, K, dx.get(), dw.get(), nullptr, ep, dy.get(), dyd.get());
      std::vector<float> cy(M * N), cyd(M * N);
      cpu->linear_act_forward(DType::F32, M, N, K, x.data(), w.data(), nullptr, ep, cy.data(), cyd.data());
      const auto y = dy.read<float>(), yd = dyd.read<float>();
      const float scale = 1.0f / (1.0f - static_cast<float>(p));
      int dropped = 0;
      for (int64_t e = 0; e < M * N; ++e) {
        ASSERT_EQ(yd[e] == 0.0f, cyd[e] == 0.0f) << "mask differs at " << e << " act " << act << " p " << p;
        ASSERT_EQ(yd[e], yd[e] == 0.0f ? 0.0f : y[e] * scale) << "kept value at " << e;
        dropped += yd[e] == 0.0f;
      }
      EXPECT_NEAR(dropped / double(M * N), p, 0.05) << "act " << act;
    }
  const Epilogue ep{ops::kIdentity, 0, 0.5, kSeed, 1, 4};
  const auto dz = cast<float>(rounded(kSeed, 3, M * N, 0.5, 1)), yp = cast<float>(rounded(kSeed, 4, M * K, 0.5, 1));
  DeviceBuffer ddz(*sim, dz), dw(*sim, w), dyp(*sim, yp), dout(*sim, M * K * 4);
  sim->linear_backward_data(DType::F32, M, N, K, ddz.get(), dw.get(), dyp.get(), ep, dout.get());
  std::vector<float> cout(M * K);
  cpu->linear_backward_data(DType::F32, M, N, K, dz.data(), w.data(), yp.data(), ep, cout.data());
  const auto out = dout.read<float>();
  for (int64_t e = 0; e < M * K; ++e) ASSERT_EQ(out[e] == 0.0f, cout[e] == 0.0f) << "backward mask differs at " << e;
}

// Every op's outputs, as raw bytes, from one fixed set of inputs.
std::vector<std::vector<float>> run_every_op(Backend& be) {
  const int64_t M = 45, N = 33, K = 70;
  const auto x = cast<float>(rounded(kSeed, 5, M * K, -1, 1)), w = cast<float>(rounded(kSeed, 6, N * K, -0.3, 0.3)),
             b = cast<float>(rounded(kSeed, 7, N, -0.1, 0.1));
  const std::vector<int32_t> cls = classes(kSeed, 8, M, static_cast<int32_t>(N));
  DeviceBuffer dx(be, x), dw(be, w), db(be, b), dcls(be, cls), dy(be, M * N * 4), dyd(be, M * N * 4),
      dz(be, M * N * 4), loss(be, 4), dprev(be, M * K * 4), gw(be, N * K * 4), gb(be, N * 4), m(be, N * K * 4),
      v(be, N * K * 4);
  const Epilogue ep{ops::kTanh, 0, 0.25, kSeed, 0, 2};
  be.linear_act_forward(DType::F32, M, N, K, dx.get(), dw.get(), db.get(), ep, dy.get(), dyd.get());
  const LossArgs la{static_cast<int32_t>(LossKind::CrossEntropy), M, N, ops::kIdentity, 0, true};
  be.loss_forward_backward(DType::F32, la, dyd.get(), dcls.get(), dz.get(), loss.get());
  be.linear_backward_weight(DType::F32, M, N, K, dz.get(), dx.get(), gw.get(), gb.get());
  be.linear_backward_data(DType::F32, M, N, K, dz.get(), dw.get(), dx.get(), ep, dprev.get());
  const Optimizer adam = Optimizer::adam(0.01, 0.01);
  const OptimArgs oa{static_cast<int32_t>(adam.kind), adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay, 0, 1};
  be.optimizer_step(DType::F32, oa, N * K, dw.get(), gw.get(), m.get(), v.get());
  return {dy.read<float>(), dyd.read<float>(), dz.read<float>(), loss.read<float>(), dprev.read<float>(),
          gw.read<float>(), gb.read<float>(), dw.read<float>()};
}

TEST_P(GpuDeterminism, SameBitsTwiceAndUnderEverySchedule) {
  auto be = make_backend(Device::parse(device()));
  const auto first = run_every_op(*be);
  EXPECT_TRUE(same_bits(first, run_every_op(*be))) << "second run differs";
  if (device() != "sim") return;  // schedules are the simulator's
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    EXPECT_TRUE(same_bits(first, run_every_op(*be))) << "schedule " << sim::order_name(sch.order) << " differs";
  }
}

TEST_P(GpuBackend, RefusesF64AndReportsLaunches) {
  auto be = make_backend(Device::parse(device()));
  EXPECT_EQ(be->name(), Device::parse(device()).name());
  EXPECT_TRUE(be->supports(DType::F32));
  EXPECT_FALSE(be->supports(DType::F64));
  EXPECT_THROW(be->optimizer_step(DType::F64, OptimArgs{}, 1, nullptr, nullptr, nullptr, nullptr), Error);
  const int64_t before = be->launches();
  run_every_op(*be);
  // forward 1, loss 1 (rows and, by its last block, the total), weight gradient 1, input gradient 1, optimizer 1.
  EXPECT_EQ(be->launches() - before, 5);
}

TEST_P(GpuBackend, AllocationFailureNamesTheBytes) {
  auto be = make_backend(Device::parse(device()));
  try {
    be->alloc(std::size_t{1} << 62);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4611686018427387904 bytes"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuDropout, ::testing::Values("sim", "cuda"), device_label);
INSTANTIATE_TEST_SUITE_P(Devices, GpuDeterminism, ::testing::Values("sim", "cuda"), device_label);
INSTANTIATE_TEST_SUITE_P(Devices, GpuBackend, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
