// What the GPU backend computes once per step, against what it computed
// before those values moved (bit for bit, on every simulator schedule):
//  - a recorded optimizer update (settings and Adam's scalars read from the
//    StepRecord; the scalars for the next update computed once, by the
//    update's last block) equals the by-value launch (scalars computed on the
//    host for update t, the path and formula of the CPU twin), over updates
//    with a learning rate changed between them (an upload, as the executor does);
//  - the one-launch loss's total equals the former second kernel's sum: 256
//    strided partial sums in row order, then block_reduce's fixed tree, times
//    the float scale. The rows' own losses come from the same kernel run on
//    one row at a time (scale 1, so the one-row total is that row's loss);
//  - a softmax output normalised by the loss launch (Epilogue::softmax_in_loss,
//    LossArgs::normalise) gives the outputs, loss and dz of the softmax launch
//    followed by the loss, one launch fewer.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "sim_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

class StepValues : public OnDevice {};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The schedules a sim case sweeps (one, the default, on a GPU).
std::vector<sim::Schedule> sweep(const std::string& device) {
  return device == "sim" ? schedules() : std::vector<sim::Schedule>{sim::Schedule{}};
}

TEST_P(StepValues, RecordedUpdateEqualsByValueUpdate) {
  auto be = make_backend(Device::parse(device()));
  const int64_t n = 3001;  // 12 blocks of 256, the last one partial
  const auto p0 = cast<float>(rounded(5, 1, n, -1, 1)), g = cast<float>(rounded(5, 2, n, -0.1, 0.1));
  const std::vector<Optimizer> opts{Optimizer::adam(0.01, 0.001), Optimizer::adamw(0.003, 0.02),
                                    Optimizer::sgd(0.1, 0.9, true)};
  for (const sim::Schedule& sch : sweep(device())) {
    sim::ScheduleScope scope(sch);
    for (Optimizer o : opts) {
      o.l1 = 1e-4;
      DeviceBuffer pa(*be, p0), pb(*be, p0), dg(*be, g), ma(*be, n * 4), mb(*be, n * 4), va(*be, n * 4),
          vb(*be, n * 4), rec(*be, sizeof(StepRecord));
      StepRecord host;
      host.optim = OptimSettings::from(o, 1);
      be->upload(rec.get(), &host, sizeof host);
      auto* record = static_cast<StepRecord*>(rec.get());
      for (int64_t t = 1; t <= 6; ++t) {
        if (t == 4) {  // a new learning rate before update 4, uploaded as Executor::upload_settings does
          o.lr *= 0.5;
          host.optim = OptimSettings::from(o, t);
          be->upload(&record->optim, &host.optim, sizeof host.optim);
        }
        OptimArgs by_value = OptimArgs::from(o, t), recorded = OptimArgs::from(Optimizer::sgd(99), 0);
        recorded.kind = by_value.kind;  // the kind stays an argument; every setting comes from the record
        recorded.record = record;
        be->optimizer_step(DType::F32, by_value, n, pa.get(), dg.get(), ma.get(), va.get());
        be->optimizer_step(DType::F32, recorded, n, pb.get(), dg.get(), mb.get(), vb.get());
      }
      const std::string what = o.describe() + " schedule " + std::string(sim::order_name(sch.order));
      EXPECT_TRUE(same_bits(pa.read<float>(), pb.read<float>())) << what;
      EXPECT_TRUE(same_bits(ma.read<float>(), mb.read<float>())) << what;
      EXPECT_TRUE(same_bits(va.read<float>(), vb.read<float>())) << what;
      be->download(&host, record, sizeof host);
      EXPECT_EQ(host.updates, 6) << what;
      EXPECT_EQ(host.blocks_done, 0u) << what;
      const OptimSettings next = OptimSettings::from(o, 7);  // the host's scalars for update 7
      EXPECT_EQ(host.optim.step_size, next.step_size) << what;
      EXPECT_EQ(host.optim.bc2_sqrt, next.bc2_sqrt) << what;
    }
  }
}

// The former loss_total_kernel's sum of row losses, on the host.
float two_launch_total(const std::vector<float>& row_loss, float scale) {
  constexpr int kLanes = 256;  // kMaxRowThreads, the former total kernel's block
  std::vector<float> lane(kLanes, 0.0f);
  for (int l = 0; l < kLanes; ++l)
    for (std::size_t i = static_cast<std::size_t>(l); i < row_loss.size(); i += kLanes) lane[l] += row_loss[i];
  for (int half = kLanes / 2; half > 0; half /= 2)
    for (int l = 0; l < half; ++l) lane[l] = lane[l] + lane[l + half];
  return lane[0] * scale;
}

TEST_P(StepValues, OneLaunchLossTotalEqualsTheTwoLaunchSum) {
  auto be = make_backend(Device::parse(device()));
  const int64_t rows = 700;  // over 256: each lane adds several rows
  struct Case {
    LossKind kind, row_kind;  // row_kind: a loss with the same row terms and scale 1
    int64_t cols;             // the row kernel's block: 32, 128 and 256 threads
    int32_t act;
  };
  const Case cases[] = {{LossKind::CrossEntropy, LossKind::CrossEntropy, 10, ops::kIdentity},
                        {LossKind::CrossEntropy, LossKind::CrossEntropy, 300, ops::kIdentity},
                        {LossKind::MSE, LossKind::MSESum, 100, ops::kSigmoid},
                        {LossKind::HalfSSE, LossKind::HalfSSE, 10, ops::kTanh}};
  for (const sim::Schedule& sch : sweep(device())) {
    sim::ScheduleScope scope(sch);
    for (const Case& c : cases) {
      const auto y = cast<float>(rounded(7, 1, rows * c.cols, 0.05, 0.95));
      const auto tv = cast<float>(rounded(7, 2, rows * c.cols, 0, 1));
      const std::vector<int32_t> cls = classes(7, 3, rows, static_cast<int32_t>(c.cols));
      const bool ce = c.kind == LossKind::CrossEntropy;
      DeviceBuffer dy(*be, y), dt(*be, tv), dc(*be, cls), dz(*be, rows * c.cols * 4), loss(*be, 4);
      const auto target = [&](int64_t row) {
        return static_cast<const char*>(ce ? dc.get() : dt.get()) + row * (ce ? 4 : c.cols * 4);
      };
      std::vector<float> row_loss(static_cast<std::size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) {
        const LossArgs one{static_cast<int32_t>(c.row_kind), 1, c.cols, c.act, 0, false};
        be->loss_forward_backward(DType::F32, one, static_cast<const float*>(dy.get()) + i * c.cols, target(i),
                                  nullptr, loss.get());
        row_loss[static_cast<std::size_t>(i)] = loss.read<float>()[0];
      }
      const LossArgs all{static_cast<int32_t>(c.kind), rows, c.cols, c.act, 0, true};
      be->loss_forward_backward(DType::F32, all, dy.get(), target(0), dz.get(), loss.get());
      const double n = static_cast<double>(rows) * static_cast<double>(c.cols);
      const double scale = ce ? 1.0 / static_cast<double>(rows) : c.kind == LossKind::MSE ? 1.0 / n : 1.0;
      const float expect = two_launch_total(row_loss, static_cast<float>(scale));
      const float got = loss.read<float>()[0];
      EXPECT_EQ(std::memcmp(&got, &expect, sizeof got), 0)
          << "kind " << static_cast<int>(c.kind) << " cols " << c.cols << ": " << got << " vs " << expect
          << " schedule " << sim::order_name(sch.order);
    }
  }
}

TEST_P(StepValues, SoftmaxInTheLossEqualsTheSoftmaxLaunch) {
  auto be = make_backend(Device::parse(device()));
  ASSERT_TRUE(be->fuses_softmax_into_loss());
  const int64_t M = 37, K = 23;
  for (const sim::Schedule& sch : sweep(device())) {
    sim::ScheduleScope scope(sch);
    for (int64_t N : {3, 10, 300})  // 32 and 256 threads a row; 300 > 256: two columns a thread
      for (LossKind kind : {LossKind::MSE, LossKind::BCE, LossKind::HalfSSE}) {
        const auto x = cast<float>(rounded(9, 1, M * K, -2, 2)), w = cast<float>(rounded(9, 2, N * K, -1, 1));
        const auto b = cast<float>(rounded(9, 3, N, -0.5, 0.5)), t = cast<float>(rounded(9, 4, M * N, 0, 1));
        DeviceBuffer dx(*be, x), dw(*be, w), db(*be, b), dt(*be, t);
        std::vector<std::vector<float>> out[2];  // y, dz, loss: the separate softmax, then the fused one
        int64_t launches[2];
        for (int fused = 0; fused < 2; ++fused) {
          DeviceBuffer dy(*be, M * N * 4), dz(*be, M * N * 4), loss(*be, 4);
          Epilogue ep{ops::kSoftmax, 0, 0, 9, 0, 1};
          ep.softmax_in_loss = fused == 1;
          LossArgs la{static_cast<int32_t>(kind), M, N, ops::kSoftmax, 0, true};
          la.normalise = fused == 1;
          const int64_t before = be->launches();
          be->linear_act_forward(DType::F32, M, N, K, dx.get(), dw.get(), db.get(), ep, dy.get(), nullptr);
          be->loss_forward_backward(DType::F32, la, dy.get(), dt.get(), dz.get(), loss.get());
          launches[fused] = be->launches() - before;
          out[fused] = {dy.read<float>(), dz.read<float>(), loss.read<float>()};
        }
        const std::string what = "N " + std::to_string(N) + " kind " + std::to_string(static_cast<int>(kind)) +
                                 " schedule " + std::string(sim::order_name(sch.order));
        for (int k = 0; k < 3; ++k) EXPECT_TRUE(same_bits(out[0][k], out[1][k])) << what << " output " << k;
        EXPECT_EQ(launches[1], launches[0] - 1) << what;
      }
  }
  // Cross-entropy takes logits: it refuses to normalise them.
  DeviceBuffer dy(*be, 4 * 4), dc(*be, std::vector<int32_t>{0, 1}), loss(*be, 4);
  LossArgs ce{static_cast<int32_t>(LossKind::CrossEntropy), 2, 2, ops::kSoftmax, 0, false};
  ce.normalise = true;
  EXPECT_THROW(be->loss_forward_backward(DType::F32, ce, dy.get(), dc.get(), nullptr, loss.get()), Error);
}

INSTANTIATE_TEST_SUITE_P(Devices, StepValues, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
