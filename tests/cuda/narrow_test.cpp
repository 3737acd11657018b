// The fused narrow step (Backend::narrow_step, cuda/narrow.cu) against the
// per-layer ops of the same device (forward per layer, the loss, the backward
// ops): every layer's y, y_drop, dz, dw, db and the loss, at the seed models'
// narrow shapes (A 784-100-100-10 batch 100, C, D at batch 100) and odd ones
// (batch 1, 7, 33; widths 1, 5, 128), every activation, dropout, every loss.
// The per-layer ops are themselves checked against the reference by the op
// table, and Network training on sim (which takes this path for narrow
// networks) against the cpu by network_test.cpp.
//
// Tolerances: the fused kernel sums each product in K order as the unfused
// GEMM does, except where the GEMM splits K into ranges (partials added in
// range order), and the loss's row reductions run over 128 threads instead of
// the loss kernel's row_threads(cols): fp32 rounding differences of a few ulp,
// so 1e-5 relative on the loss and 1e-4 relative (1e-6 absolute) on every
// buffer. Determinism: the same bits twice and under every schedule.
#include <gtest/gtest.h>

#include <string>

#include "cuda/narrow.cuh"
#include "cumlp/model.h"
#include "host/opcheck/narrow_case.h"
#include "sim_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 1717;

struct Net {
  std::string name;
  std::vector<int64_t> widths;  // input, then each layer's outputs
  int32_t act = ops::kReLU, out_act = ops::kIdentity;
  double alpha = 0, p = 0;      // hidden layers' activation slope and dropout
  LossKind loss = LossKind::CrossEntropy;
  int64_t rows = 1;
};

// A network's buffers on one device, seeded.
struct Run {
  std::vector<std::unique_ptr<DeviceBuffer>> keep;
  void* buf(Backend& be, std::size_t bytes) {
    keep.push_back(std::make_unique<DeviceBuffer>(be, bytes));
    return keep.back()->get();
  }
  void* buf(Backend& be, const std::vector<float>& v) {
    keep.push_back(std::make_unique<DeviceBuffer>(be, v));
    return keep.back()->get();
  }
};

// Runs net's step on be, fused or per layer; returns every output buffer.
std::vector<std::vector<float>> step(Backend& be, const Net& n, bool fused) {
  Run run;
  const int64_t M = n.rows, L = static_cast<int64_t>(n.widths.size()) - 1, out = n.widths.back();
  NarrowStepArgs a;
  a.rows = M;
  a.x = run.buf(be, cast<float>(rounded(kSeed, 1, M * n.widths[0], -1, 1)));
  std::vector<DeviceBuffer*> outs;
  for (int64_t l = 0; l < L; ++l) {
    NarrowLayer nl;
    nl.in = n.widths[l];
    nl.out = n.widths[l + 1];
    const double s = 2 / std::sqrt(static_cast<double>(nl.in));
    nl.w = run.buf(be, cast<float>(rounded(kSeed, 10 + l, nl.out * nl.in, -s, s)));
    nl.b = run.buf(be, cast<float>(rounded(kSeed, 20 + l, nl.out, -0.3, 0.3)));
    const bool last = l + 1 == L;
    nl.ep = Epilogue{last ? n.out_act : n.act, n.alpha, last ? 0 : n.p, kSeed, static_cast<uint32_t>(l), 3};
    const std::size_t ybytes = static_cast<std::size_t>(M * nl.out) * 4;
    nl.y = run.buf(be, ybytes);
    nl.y_drop = nl.ep.dropout_p > 0 ? run.buf(be, ybytes) : nullptr;
    nl.dz = run.buf(be, ybytes);
    nl.dw = run.buf(be, static_cast<std::size_t>(nl.out * nl.in) * 4);
    nl.db = run.buf(be, static_cast<std::size_t>(nl.out) * 4);
    a.layers.push_back(nl);
  }
  const bool classes_ = loss_takes_classes(n.loss);
  a.target = classes_ ? run.buf(be, M * 4) : run.buf(be, cast<float>(rounded(kSeed, 30, M * out, 0, 1)));
  if (classes_) {
    const std::vector<int32_t> cls = classes(kSeed, 31, M, static_cast<int32_t>(out));
    be.upload(const_cast<void*>(a.target), cls.data(), cls.size() * 4);
  }
  a.loss_out = run.buf(be, 4);
  a.loss = LossArgs{static_cast<int32_t>(n.loss), M, out, n.out_act, n.alpha, true};
  a.loss.normalise = n.out_act == ops::kSoftmax;
  if (fused) {
    be.narrow_step(DType::F32, a);
  } else {
    opcheck::narrow_step_by_ops(be, DType::F32, a);
  }
  std::vector<std::vector<float>> r;
  auto read = [&](const void* p, std::size_t n_) {
    std::vector<float> v(n_);
    be.download(v.data(), p, n_ * 4);
    r.push_back(std::move(v));
  };
  read(a.loss_out, 1);
  for (const NarrowLayer& nl : a.layers) {
    read(nl.y, static_cast<std::size_t>(M * nl.out));
    if (nl.y_drop) read(nl.y_drop, static_cast<std::size_t>(M * nl.out));
    read(nl.dz, static_cast<std::size_t>(M * nl.out));
    read(nl.dw, static_cast<std::size_t>(nl.out * nl.in));
    read(nl.db, static_cast<std::size_t>(nl.out));
  }
  return r;
}

std::vector<Net> nets() {
  using enum LossKind;
  return {
      {"A 784-100-100-10 relu CE", {784, 100, 100, 10}, ops::kReLU, ops::kIdentity, 0, 0, CrossEntropy, 100},
      {"C 2-10-10-10-1 sigmoid BCE", {2, 10, 10, 10, 1}, ops::kSigmoid, ops::kSigmoid, 0, 0, BCE, 4},
      {"D 64-32-16-10 relu CE", {64, 32, 16, 10}, ops::kReLU, ops::kIdentity, 0, 0, CrossEntropy, 100},
      {"batch 1 5-5-3 tanh softmax MSE", {5, 5, 3}, ops::kTanh, ops::kSoftmax, 0, 0, MSE, 1},
      {"batch 7 9-1-5 leaky dropout MSE-sum", {9, 1, 5}, ops::kLeakyReLU, ops::kIdentity, 0.02, 0.3, MSESum, 7},
      {"batch 33 40-128-5-1 elu dropout half-SSE", {40, 128, 5, 1}, ops::kELU, ops::kIdentity, 0.8, 0.5, HalfSSE, 33},
      {"batch 33 37-128-128-7 relu dropout CE", {37, 128, 128, 7}, ops::kReLU, ops::kIdentity, 0, 0.2, CrossEntropy, 33},
      {"batch 7 3-5-1 step sigmoid BCE", {3, 5, 1}, ops::kStep, ops::kSigmoid, 0, 0, BCE, 7},
      // The first layer's K split 5 ways (the last split and the last row tile partial), dropout on it.
      {"batch 21 290-64-3 relu dropout CE", {290, 64, 3}, ops::kReLU, ops::kIdentity, 0, 0.25, CrossEntropy, 21},
  };
}

class GpuNarrow : public OnDevice {};

TEST_P(GpuNarrow, MatchesThePerLayerOps) {
  auto be = make_backend(Device::parse(device()));
  ASSERT_TRUE(be->offers_narrow_step(DType::F32));
  for (const Net& n : nets()) {
    const int64_t before = be->launches();
    const auto fused = step(*be, n, true);
    EXPECT_EQ(be->launches() - before, 2) << n.name << ": the fused kernel and the grouped weight gradients";
    const auto ref = step(*be, n, false);
    ASSERT_EQ(fused.size(), ref.size());
    EXPECT_TRUE(close(n.name + " loss", fused[0], ref[0], Tol{0, 1e-5}, kSeed));
    for (std::size_t i = 1; i < fused.size(); ++i)
      EXPECT_TRUE(close(n.name + " buffer " + std::to_string(i), fused[i], ref[i], Tol{1e-6, 1e-4}, kSeed));
  }
}

TEST_P(GpuNarrow, SameBitsTwiceAndUnderEverySchedule) {
  auto be = make_backend(Device::parse(device()));
  for (const Net& n : nets()) {
    if (n.widths[0] == 784) continue;  // model A: once above is enough on the simulator
    const auto first = step(*be, n, true);
    EXPECT_TRUE(same_bits(first, step(*be, n, true))) << n.name << ": second run differs";
    if (device() != "sim") continue;
    for (const sim::Schedule& sch : schedules()) {
      sim::ScheduleScope scope(sch);
      EXPECT_TRUE(same_bits(first, step(*be, n, true))) << n.name << ": schedule " << sim::order_name(sch.order);
    }
  }
}

// The split rule (cuda/narrow.cuh): within the 132 SMs, >= 64 K steps a
// split, none empty, and the documented cases.
TEST(NarrowSplit, FillsTheSmsWithWholeKTiles) {
  using gpu::narrow_split;
  EXPECT_EQ(narrow_split(100, 784).splits, 9);  // model A: 13 row tiles x 9
  EXPECT_EQ(narrow_split(100, 784).k_per_split, 96);
  EXPECT_EQ(narrow_split(21, 290).splits, 5);
  EXPECT_EQ(narrow_split(1437, 64).splits, 1);  // model D: 180 row tiles
  EXPECT_EQ(narrow_split(528, 784).splits, 2);  // 66 row tiles
  EXPECT_EQ(narrow_split(529, 784).splits, 1);
  EXPECT_EQ(narrow_split(4, 96).splits, 1);     // fewer than 4 K tiles
  EXPECT_EQ(narrow_split(4, 97).splits, 2);
  for (int64_t rows : {1, 7, 8, 64, 100, 255, 528})
    for (int64_t k : {1, 31, 128, 129, 784, 3072}) {
      const auto sp = gpu::narrow_split(rows, k);
      const int64_t tiles = (rows + gpu::kNarrowRows - 1) / gpu::kNarrowRows;
      ASSERT_GE(sp.splits, 1);
      EXPECT_LE(sp.splits * tiles, std::max<int64_t>(132, tiles)) << rows << " x " << k;
      if (sp.splits == 1) continue;
      EXPECT_EQ(sp.k_per_split % gpu::kNarrowKT, 0);
      EXPECT_GE(sp.k_per_split, 2 * gpu::kNarrowKT);
      EXPECT_LT(int64_t{sp.splits - 1} * sp.k_per_split, k) << rows << " x " << k << ": an empty split";
      EXPECT_GE(int64_t{sp.splits} * sp.k_per_split, k);
    }
}

TEST_P(GpuNarrow, NotOfferedAtTf32AndRefusesWideLayers) {
  auto be = make_backend(Device::parse(device()));
  be->set_precision(Precision::TF32);
  EXPECT_FALSE(be->offers_narrow_step(DType::F32));
  be->set_precision(Precision::FP32);
  Net wide{"wide", {4, 129, 2}, ops::kReLU, ops::kIdentity, 0, 0, LossKind::CrossEntropy, 3};
  EXPECT_THROW(step(*be, wide, true), Error);
  EXPECT_FALSE(make_cpu_backend()->offers_narrow_step(DType::F32));
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuNarrow, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
