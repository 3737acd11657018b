// Every op of the sim backend (the CUDA kernels on the SIMT simulator) against
// the reference backend (plain loops, double accumulation) on the same
// float-rounded inputs, over shapes with 1, odd sizes, widths that are not
// multiples of 32 and the seed models' layers (784x100 with batch 100,
// 100x100, 100x10, 64x32, 2x10), under every simulator schedule.
//
// Tolerances (|sim - ref| <= atol + rtol |ref|), fp32 kernels against a double
// reference:
//   elementwise results (loss gradient, optimizer update): atol 1e-6, rtol 1e-5.
//     Each is a handful of float operations on O(1) values (eps 6e-8); exp/log
//     add a few ulp, and the CE gradient's p - 1 cancels down to ~1e-6 absolute.
//   GEMM outputs and reductions (forward, input/weight/bias gradients, the
//     scalar loss): atol 1e-4, rtol 1e-4. A float sum of K terms errs by
//     ~sqrt(K) * 6e-8 typically and K * 6e-8 ~ 5e-5 at worst (K = 784)
//     relative to the sum of |terms|, which can exceed |result|. Weight
//     gradients sum M products of O(1) values: atol scaled by sqrt(M).
// Dropout masks are compared exactly with the CPU backend's, and results must
// be the same bits under every schedule (fixed-order sums, no atomics).
#include <gtest/gtest.h>

#include <cmath>

#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "sim_fixture.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 4242;
constexpr Tol kGemmTol{1e-4, 1e-4};
constexpr Tol kElemTol{1e-6, 1e-5};

struct Shape {
  int64_t M, N, K;  // batch, outputs, inputs
};
const Shape kShapes[] = {{1, 1, 1},     {1, 5, 3},      {3, 1, 7},     {7, 13, 5},   {17, 33, 31},
                         {33, 65, 129}, {100, 100, 784}, {100, 100, 100}, {100, 10, 100}, {50, 32, 64},
                         {9, 10, 2}};
const int32_t kActs[] = {ops::kIdentity, ops::kStep, ops::kSigmoid,   ops::kTanh,
                         ops::kReLU,     ops::kLeakyReLU, ops::kELU, ops::kSoftmax};

double alpha_of(int32_t act) { return act == ops::kLeakyReLU ? 0.02 : act == ops::kELU ? 0.8 : 0; }

std::string label(const char* op, const Shape& s, int32_t act, bool bias, double p, const sim::Schedule& sch) {
  return std::string(op) + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
         " act=" + std::to_string(act) + (bias ? " bias" : " no-bias") + " p=" + std::to_string(p) + " schedule " +
         std::string(sim::order_name(sch.order));
}

std::vector<float> f32(const std::vector<double>& v) { return cast<float>(v); }

class SimOps : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> sim = make_sim_backend(), ref = make_cpu_backend(false);
};

TEST_F(SimOps, LinearActForward) {
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    int round = 0;
    for (const Shape& s : kShapes) {
      const double scale = 1 / std::sqrt(static_cast<double>(s.K));
      const auto x = rounded(kSeed, 1, s.M * s.K, -1, 1), w = rounded(kSeed, 2, s.N * s.K, -2 * scale, 2 * scale),
                 b = rounded(kSeed, 3, s.N, -0.5, 0.5);
      DeviceBuffer dx(*sim, f32(x)), dw(*sim, f32(w)), db(*sim, f32(b));
      DeviceBuffer dy(*sim, s.M * s.N * 4), dyd(*sim, s.M * s.N * 4);
      // All activations on the middle shapes; one (in turn) on the others.
      const bool all = s.K == 31 || s.K == 64;
      for (int32_t act : kActs) {
        if (!all && act != kActs[round % 8]) continue;
        const bool bias = (round + act) % 2 == 0;
        const double p = act % 3 == 0 ? 0.3 : 0.0;
        const Epilogue ep{act, alpha_of(act), p, kSeed, 2, 5};
        sim->linear_act_forward(DType::F32, s.M, s.N, s.K, dx.get(), dw.get(), bias ? db.get() : nullptr, ep, dy.get(),
                                p > 0 ? dyd.get() : nullptr);
        std::vector<double> ry(s.M * s.N), ryd(s.M * s.N);
        ref->linear_act_forward(DType::F64, s.M, s.N, s.K, x.data(), w.data(), bias ? b.data() : nullptr, ep,
                                ry.data(), p > 0 ? ryd.data() : nullptr);
        const std::string what = label("linear_act_forward", s, act, bias, p, sch);
        EXPECT_TRUE(close_op("linear_act_forward y", what + " y", dy.read<float>(), ry, kGemmTol, kSeed));
        if (p > 0) { EXPECT_TRUE(close_op("linear_act_forward y_drop", what + " y_drop", dyd.read<float>(), ryd, kGemmTol, kSeed)); }
      }
      ++round;
    }
  }
}

TEST_F(SimOps, LinearBackwardData) {
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    int round = 0;
    for (const Shape& s : kShapes) {
      const double scale = 1 / std::sqrt(static_cast<double>(s.N));
      const auto dz = rounded(kSeed, 4, s.M * s.N, -1, 1), w = rounded(kSeed, 5, s.N * s.K, -2 * scale, 2 * scale);
      DeviceBuffer ddz(*sim, f32(dz)), dw(*sim, f32(w)), dout(*sim, s.M * s.K * 4);
      const int32_t act = kActs[round++ % 7];  // softmax is only ever the last layer
      // y_prev as the previous layer's forward would have produced it.
      std::vector<double> yp = rounded(kSeed, 6, s.M * s.K, -1, 1);
      for (double& v : yp) v = static_cast<double>(static_cast<float>(ops::act_forward<double>(act, 2 * v, alpha_of(act))));
      DeviceBuffer dyp(*sim, f32(yp));
      for (double p : {0.0, 0.5}) {
        const Epilogue ep{act, alpha_of(act), p, kSeed, 1, 9};
        sim->linear_backward_data(DType::F32, s.M, s.N, s.K, ddz.get(), dw.get(), dyp.get(), ep, dout.get());
        std::vector<double> rout(s.M * s.K);
        ref->linear_backward_data(DType::F64, s.M, s.N, s.K, dz.data(), w.data(), yp.data(), ep, rout.data());
        EXPECT_TRUE(close_op("linear_backward_data", label("linear_backward_data", s, act, true, p, sch), dout.read<float>(), rout, kGemmTol, kSeed));
      }
    }
  }
}

TEST_F(SimOps, LinearBackwardWeight) {
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    for (const Shape& s : kShapes) {
      const auto dz = rounded(kSeed, 7, s.M * s.N, -1, 1), x = rounded(kSeed, 8, s.M * s.K, -1, 1);
      DeviceBuffer ddz(*sim, f32(dz)), dx(*sim, f32(x)), ddw(*sim, s.N * s.K * 4), ddb(*sim, s.N * 4);
      for (bool bias : {true, false}) {
        sim->linear_backward_weight(DType::F32, s.M, s.N, s.K, ddz.get(), dx.get(), ddw.get(), bias ? ddb.get() : nullptr);
        std::vector<double> rdw(s.N * s.K), rdb(s.N);
        ref->linear_backward_weight(DType::F64, s.M, s.N, s.K, dz.data(), x.data(), rdw.data(), bias ? rdb.data() : nullptr);
        const Tol t{kGemmTol.atol * std::sqrt(static_cast<double>(s.M)), kGemmTol.rtol};
        const std::string what = label("linear_backward_weight", s, 0, bias, 0, sch);
        EXPECT_TRUE(close_op("linear_backward_weight dw", what + " dw", ddw.read<float>(), rdw, t, kSeed));
        if (bias) { EXPECT_TRUE(close_op("linear_backward_weight db", what + " db", ddb.read<float>(), rdb, t, kSeed)); }
      }
    }
  }
}

TEST_F(SimOps, LossForwardBackward) {
  struct Case { LossKind loss; int32_t act; double lo, hi; };
  const Case cases[] = {{LossKind::CrossEntropy, ops::kIdentity, -50, 50}, {LossKind::CrossEntropy, ops::kIdentity, -3, 3},
                        {LossKind::BCE, ops::kSigmoid, 0.02, 0.98},         {LossKind::BCE, ops::kIdentity, 0.02, 0.98},
                        {LossKind::MSE, ops::kIdentity, -2, 2},             {LossKind::MSE, ops::kSoftmax, 0.01, 1},
                        {LossKind::MSESum, ops::kTanh, -0.9, 0.9},          {LossKind::HalfSSE, ops::kSigmoid, 0.02, 0.98},
                        {LossKind::HalfSSE, ops::kELU, -0.5, 2}};
  const Shape kLossShapes[] = {{1, 1, 0}, {3, 10, 0}, {100, 10, 0}, {7, 33, 0}, {5, 300, 0}, {64, 1, 0}};
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    for (const Shape& s : kLossShapes) {
      const int64_t rows = s.M, cols = s.N;
      for (const Case& c : cases) {
        std::vector<double> y = rounded(kSeed, 9, rows * cols, c.lo, c.hi);
        if (c.act == ops::kSoftmax)  // rows of a softmax sum to 1
          for (int64_t i = 0; i < rows; ++i) {
            double sum = 0;
            for (int64_t j = 0; j < cols; ++j) sum += y[i * cols + j];
            for (int64_t j = 0; j < cols; ++j) y[i * cols + j] = static_cast<float>(y[i * cols + j] / sum);
          }
        const auto t = rounded(kSeed, 10, rows * cols, 0, 1);
        const std::vector<int32_t> cls = classes(kSeed, 11, rows, static_cast<int32_t>(cols));
        const bool ce = c.loss == LossKind::CrossEntropy;
        DeviceBuffer dy(*sim, f32(y)), dt(*sim, f32(t)), dcls(*sim, cls), ddz(*sim, rows * cols * 4), dloss(*sim, 4);
        for (bool grad : {true, false}) {
          const LossArgs a{static_cast<int32_t>(c.loss), rows, cols, c.act, c.act == ops::kELU ? 0.8 : 0, grad};
          sim->loss_forward_backward(DType::F32, a, dy.get(), ce ? dcls.get() : dt.get(), grad ? ddz.get() : nullptr,
                                     dloss.get());
          std::vector<double> rdz(rows * cols);
          double rloss = 0;
          ref->loss_forward_backward(DType::F64, a, y.data(), ce ? static_cast<const void*>(cls.data()) : t.data(),
                                     rdz.data(), &rloss);
          const std::string what = std::string(loss_name(c.loss)) + " act " + std::to_string(c.act) + " " +
                                   std::to_string(rows) + "x" + std::to_string(cols) + " grad " + std::to_string(grad) +
                                   " schedule " + std::string(sim::order_name(sch.order));
          EXPECT_TRUE(close_op("loss value", what + " loss", dloss.read<float>(), std::vector<double>{rloss}, kGemmTol, kSeed));
          if (grad) { EXPECT_TRUE(close_op("loss dz", what + " dz", ddz.read<float>(), rdz, kElemTol, kSeed)); }
        }
      }
    }
  }
}

TEST_F(SimOps, OptimizerStep) {
  Optimizer l1 = Optimizer::adam(0.01);
  l1.l1 = 0.01;
  Optimizer sgd_l2 = Optimizer::sgd(0.1);
  sgd_l2.weight_decay = 0.01;
  sgd_l2.l1 = 0.001;
  Optimizer momentum_l2 = sgd_l2;  // the velocity buffer carries the penalties' gradient too
  momentum_l2.momentum = 0.9;
  for (const sim::Schedule& sch : schedules()) {
    sim::ScheduleScope scope(sch);
    for (const Optimizer& o : {Optimizer::sgd(0.1), sgd_l2, Optimizer::sgd(0.1, 0.9), Optimizer::sgd(0.1, 0.5, true),
                               momentum_l2, Optimizer::adam(0.01), Optimizer::adam(0.01, 0.05),
                               Optimizer::adamw(0.01, 0.05), l1}) {
      const int64_t n = 1001;
      std::vector<double> p = rounded(kSeed, 12, n, -1, 1), m(n, 0), v(n, 0);
      const bool sgd = o.kind == OptimizerKind::SGD, plain = sgd && o.momentum == 0;
      DeviceBuffer dp(*sim, f32(p)), dm(*sim, n * 4), dv(*sim, n * 4);
      for (int step = 1; step <= 3; ++step) {
        const auto g = rounded(kSeed, 12 + step, n, -1, 1);
        DeviceBuffer dg(*sim, f32(g));
        const OptimArgs a = OptimArgs::from(o, step);
        sim->optimizer_step(DType::F32, a, n, dp.get(), dg.get(), plain ? nullptr : dm.get(), sgd ? nullptr : dv.get());
        ref->optimizer_step(DType::F64, a, n, p.data(), g.data(), plain ? nullptr : m.data(), sgd ? nullptr : v.data());
        const std::string what = o.describe() + " step " + std::to_string(step) + " " + std::string(sim::order_name(sch.order));
        EXPECT_TRUE(close_op("optimizer params", what + " params", dp.read<float>(), p, kElemTol, kSeed));
        if (!plain) { EXPECT_TRUE(close_op("optimizer m", what + " m", dm.read<float>(), m, kElemTol, kSeed)); }
        if (!sgd) { EXPECT_TRUE(close_op("optimizer v", what + " v", dv.read<float>(), v, kElemTol, kSeed)); }
      }
    }
  }
}

}  // namespace
}  // namespace cumlp::test
