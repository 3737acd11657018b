// The cpu device (OpenBLAS, float and double) against the reference backend
// (plain loops, double accumulation), every op, over shapes including 1, odd
// sizes, widths not a multiple of 32 and the seed models' layers (784x100,
// 100x10, 64x32).
//
// Inputs are generated in double, rounded to T, and the reference always runs
// in double on those rounded values, so the comparison measures the cpu
// device's own arithmetic error:
//   f64: rtol 1e-12, atol 1e-12. Values are O(1) (weights scaled by
//        1/sqrt(K) as in init); a K-term double dot product errs by at most
//        ~K * eps ~ 784 * 1.1e-16 ~ 1e-13 relative to its terms.
//   f32 GEMM outputs (forward, input and weight gradients): atol = rtol = 1e-4.
//        A float dot product of K terms errs by ~sqrt(K) * 6e-8 typically and
//        K * 6e-8 ~ 5e-5 at worst (K = 784) relative to the sum of |terms|.
//   f32 elementwise results (loss, its gradient, optimizer update): atol 1e-6,
//        rtol 1e-5: each is a handful of float roundings (eps 6e-8) of O(1) values.
#include <gtest/gtest.h>

#include <cmath>

#include "compare.h"
#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "host/cpu/cpu_backend.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 31337;

struct Shape {
  int64_t M, N, K;
};
const Shape kShapes[] = {{1, 1, 1},    {1, 5, 3},      {3, 1, 7},     {7, 13, 5},   {17, 33, 31},
                         {33, 65, 129}, {100, 100, 784}, {1, 100, 784}, {37, 10, 100}, {64, 32, 64}};
const int32_t kActs[] = {ops::kIdentity, ops::kStep, ops::kSigmoid, ops::kTanh,
                         ops::kReLU,     ops::kLeakyReLU, ops::kELU, ops::kSoftmax};

template <class T> constexpr DType kDt = std::is_same_v<T, float> ? DType::F32 : DType::F64;
template <class T> constexpr Tol kGemmTol = std::is_same_v<T, float> ? Tol{1e-4, 1e-4} : Tol{1e-12, 1e-12};
template <class T> constexpr Tol kElemTol = std::is_same_v<T, float> ? Tol{1e-6, 1e-5} : Tol{1e-12, 1e-12};

double alpha_of(int32_t act) { return act == ops::kLeakyReLU ? 0.02 : act == ops::kELU ? 0.8 : 0; }

// Values rounded to T (returned in double for the reference).
template <class T>
std::vector<double> rounded(uint64_t seed, uint32_t sub, int64_t n, double lo, double hi) {
  std::vector<double> v = uniform(seed, sub, n, lo, hi);
  for (double& x : v) x = static_cast<double>(static_cast<T>(x));
  return v;
}

std::string label(const char* op, const Shape& s, int32_t act, bool bias, double p) {
  return std::string(op) + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
         " act=" + std::to_string(act) + (bias ? " bias" : " no-bias") + " dropout=" + std::to_string(p);
}

template <class T>
struct Fixture {
  std::unique_ptr<Backend> cpu = make_cpu_backend(true), ref = make_cpu_backend(false);
};

template <class T>
void forward_all() {
  Fixture<T> f;
  for (const Shape& s : kShapes) {
    const double scale = 1 / std::sqrt(static_cast<double>(s.K));
    const std::vector<double> x = rounded<T>(kSeed, 1, s.M * s.K, -1, 1);
    const std::vector<double> w = rounded<T>(kSeed, 2, s.N * s.K, -2 * scale, 2 * scale);
    const std::vector<double> b = rounded<T>(kSeed, 3, s.N, -0.5, 0.5);
    for (int32_t act : kActs)
      for (bool bias : {true, false})
        for (double p : {0.0, 0.3}) {
          Epilogue ep{act, alpha_of(act), p, kSeed, 2, 5};
          std::vector<T> y(s.M * s.N), yd(s.M * s.N);
          std::vector<double> ry(s.M * s.N), ryd(s.M * s.N);
          const std::vector<T> xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b);
          f.cpu->linear_act_forward(kDt<T>, s.M, s.N, s.K, xt.data(), wt.data(), bias ? bt.data() : nullptr, ep,
                                    y.data(), p > 0 ? yd.data() : nullptr);
          f.ref->linear_act_forward(DType::F64, s.M, s.N, s.K, x.data(), w.data(), bias ? b.data() : nullptr, ep,
                                    ry.data(), p > 0 ? ryd.data() : nullptr);
          const std::string what = label("linear_act_forward", s, act, bias, p);
          // Step turns a pre-activation within rounding of 0 into a 0/1 flip;
          // none of these seeded inputs lands there (the test would say so).
          EXPECT_TRUE(close(what + " y", y, ry, kGemmTol<T>, kSeed));
          if (p > 0) { EXPECT_TRUE(close(what + " y_drop", yd, ryd, kGemmTol<T>, kSeed)); }
        }
  }
}

TEST(BackendVsReference, LinearActForwardF32) { forward_all<float>(); }
TEST(BackendVsReference, LinearActForwardF64) { forward_all<double>(); }

template <class T>
void backward_all() {
  Fixture<T> f;
  for (const Shape& s : kShapes) {
    const double scale = 1 / std::sqrt(static_cast<double>(s.N));
    const std::vector<double> dz = rounded<T>(kSeed, 4, s.M * s.N, -1, 1);
    const std::vector<double> w = rounded<T>(kSeed, 5, s.N * s.K, -2 * scale, 2 * scale);
    const std::vector<double> x = rounded<T>(kSeed, 6, s.M * s.K, -1, 1);
    const std::vector<T> dzt = cast<T>(dz), wt = cast<T>(w), xt = cast<T>(x);
    for (int32_t act : kActs) {
      if (act == ops::kSoftmax) continue;  // only ever the last layer: no input gradient through it
      // y_prev as the previous layer's forward would have produced it.
      std::vector<double> yp = x;
      for (double& v : yp) v = static_cast<double>(static_cast<T>(ops::act_forward<double>(act, 2 * v, alpha_of(act))));
      const std::vector<T> ypt = cast<T>(yp);
      for (double p : {0.0, 0.5}) {
        Epilogue ep{act, alpha_of(act), p, kSeed, 1, 9};
        std::vector<T> out(s.M * s.K);
        std::vector<double> rout(s.M * s.K);
        f.cpu->linear_backward_data(kDt<T>, s.M, s.N, s.K, dzt.data(), wt.data(), ypt.data(), ep, out.data());
        f.ref->linear_backward_data(DType::F64, s.M, s.N, s.K, dz.data(), w.data(), yp.data(), ep, rout.data());
        EXPECT_TRUE(close(label("linear_backward_data", s, act, true, p), out, rout, kGemmTol<T>, kSeed));
      }
    }
    for (bool bias : {true, false}) {
      std::vector<T> dw(s.N * s.K), db(s.N);
      std::vector<double> rdw(s.N * s.K), rdb(s.N);
      f.cpu->linear_backward_weight(kDt<T>, s.M, s.N, s.K, dzt.data(), xt.data(), dw.data(), bias ? db.data() : nullptr);
      f.ref->linear_backward_weight(DType::F64, s.M, s.N, s.K, dz.data(), x.data(), rdw.data(),
                                    bias ? rdb.data() : nullptr);
      // dw sums M products of O(1) values (magnitude ~sqrt(M), not 1 as the
      // forward's scaled outputs): scale the absolute tolerance by sqrt(M).
      const Tol t{kGemmTol<T>.atol * std::sqrt(static_cast<double>(s.M)), kGemmTol<T>.rtol};
      EXPECT_TRUE(close(label("linear_backward_weight dw", s, 0, bias, 0), dw, rdw, t, kSeed));
      if (bias) { EXPECT_TRUE(close(label("linear_backward_weight db", s, 0, bias, 0), db, rdb, t, kSeed)); }
    }
  }
}

TEST(BackendVsReference, LinearBackwardF32) { backward_all<float>(); }
TEST(BackendVsReference, LinearBackwardF64) { backward_all<double>(); }

template <class T>
void loss_all() {
  Fixture<T> f;
  struct Case { LossKind loss; int32_t act; double lo, hi; };
  const Case cases[] = {{LossKind::CrossEntropy, ops::kIdentity, -50, 50}, {LossKind::CrossEntropy, ops::kIdentity, -3, 3},
                        {LossKind::BCE, ops::kSigmoid, 0.02, 0.98},         {LossKind::BCE, ops::kIdentity, 0.02, 0.98},
                        {LossKind::MSE, ops::kIdentity, -2, 2},             {LossKind::MSE, ops::kSoftmax, 0.01, 1},
                        {LossKind::MSESum, ops::kTanh, -0.9, 0.9},          {LossKind::HalfSSE, ops::kSigmoid, 0.02, 0.98}};
  for (const Shape& s : kShapes) {
    const int64_t rows = s.M, cols = s.N;
    for (const Case& c : cases) {
      std::vector<double> y = rounded<T>(kSeed, 7, rows * cols, c.lo, c.hi);
      if (c.act == ops::kSoftmax)  // rows of a softmax sum to 1
        for (int64_t i = 0; i < rows; ++i) {
          double sum = 0;
          for (int64_t j = 0; j < cols; ++j) sum += y[i * cols + j];
          for (int64_t j = 0; j < cols; ++j) y[i * cols + j] = static_cast<double>(static_cast<T>(y[i * cols + j] / sum));
        }
      const std::vector<double> t = rounded<T>(kSeed, 8, rows * cols, 0, 1);
      const std::vector<int32_t> cls = classes(kSeed, 9, rows, static_cast<int32_t>(cols));
      const bool ce = c.loss == LossKind::CrossEntropy;
      LossArgs a{static_cast<int32_t>(c.loss), rows, cols, c.act, 0, true};
      const std::vector<T> yt = cast<T>(y), tt = cast<T>(t);
      std::vector<T> dz(rows * cols);
      std::vector<double> rdz(rows * cols);
      T loss = 0;
      double rloss = 0;
      f.cpu->loss_forward_backward(kDt<T>, a, yt.data(), ce ? static_cast<const void*>(cls.data()) : tt.data(),
                                   dz.data(), &loss);
      f.ref->loss_forward_backward(DType::F64, a, y.data(), ce ? static_cast<const void*>(cls.data()) : t.data(),
                                   rdz.data(), &rloss);
      const std::string what = std::string(loss_name(c.loss)) + " act " + std::to_string(c.act) + " " +
                               std::to_string(rows) + "x" + std::to_string(cols);
      EXPECT_TRUE(close(what + " loss", static_cast<double>(loss), rloss, kElemTol<T>, kSeed));
      EXPECT_TRUE(close(what + " dz", dz, rdz, kElemTol<T>, kSeed));
    }
  }
}

TEST(BackendVsReference, LossForwardBackwardF32) { loss_all<float>(); }
TEST(BackendVsReference, LossForwardBackwardF64) { loss_all<double>(); }

template <class T>
void optimizer_all() {
  Fixture<T> f;
  Optimizer l1 = Optimizer::adam(0.01);
  l1.l1 = 0.01;
  Optimizer sgd_l2 = Optimizer::sgd(0.1);
  sgd_l2.weight_decay = 0.01;
  for (const Optimizer& o : {Optimizer::sgd(0.1), sgd_l2, Optimizer::adam(0.01), Optimizer::adam(0.01, 0.05),
                             Optimizer::adamw(0.01, 0.05), l1}) {
    const int64_t n = 1001;
    std::vector<double> p = rounded<T>(kSeed, 10, n, -1, 1), m(n, 0), v(n, 0);
    std::vector<T> pt = cast<T>(p), mt(n, 0), vt(n, 0);
    for (int step = 1; step <= 3; ++step) {
      const std::vector<double> g = rounded<T>(kSeed, 10 + step, n, -1, 1);
      const std::vector<T> gt = cast<T>(g);
      OptimArgs a{static_cast<int32_t>(o.kind), o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.l1, step};
      const bool sgd = o.kind == OptimizerKind::SGD;
      f.cpu->optimizer_step(kDt<T>, a, n, pt.data(), gt.data(), sgd ? nullptr : mt.data(), sgd ? nullptr : vt.data());
      f.ref->optimizer_step(DType::F64, a, n, p.data(), g.data(), sgd ? nullptr : m.data(), sgd ? nullptr : v.data());
      EXPECT_TRUE(close(o.describe() + " params step " + std::to_string(step), pt, p, kElemTol<T>, kSeed));
      if (!sgd) { EXPECT_TRUE(close(o.describe() + " m", mt, m, kElemTol<T>, kSeed)); }
      if (!sgd) { EXPECT_TRUE(close(o.describe() + " v", vt, v, kElemTol<T>, kSeed)); }
    }
  }
}

TEST(BackendVsReference, OptimizerStepF32) { optimizer_all<float>(); }
TEST(BackendVsReference, OptimizerStepF64) { optimizer_all<double>(); }

// The dropout mask: identical on both backends and in both dtypes (it is a
// pure function of (seed, layer, step, element)), with inverted scaling, and
// the kept fraction within 5 binomial standard deviations of 1 - p.
TEST(BackendVsReference, DropoutMaskIdenticalAndUnbiased) {
  auto cpu = make_cpu_backend(true), ref = make_cpu_backend(false);
  const int64_t M = 128, N = 100, K = 7;
  const std::vector<double> x = uniform(kSeed, 20, M * K, 0.1, 1), w = uniform(kSeed, 21, N * K, 0.1, 1);
  const std::vector<float> xf = cast<float>(x), wf = cast<float>(w);
  for (double p : {0.1, 0.5, 0.9}) {
    const Epilogue ep{ops::kIdentity, 0, p, kSeed, 3, 11};
    std::vector<double> y(M * N), yd(M * N), ry(M * N), ryd(M * N);
    std::vector<float> yf(M * N), ydf(M * N);
    cpu->linear_act_forward(DType::F64, M, N, K, x.data(), w.data(), nullptr, ep, y.data(), yd.data());
    ref->linear_act_forward(DType::F64, M, N, K, x.data(), w.data(), nullptr, ep, ry.data(), ryd.data());
    cpu->linear_act_forward(DType::F32, M, N, K, xf.data(), wf.data(), nullptr, ep, yf.data(), ydf.data());
    int64_t kept = 0;
    for (int64_t e = 0; e < M * N; ++e) {  // y > 0 everywhere (positive inputs), so 0 means dropped
      const bool k = yd[e] != 0;
      kept += k;
      ASSERT_EQ(k, ryd[e] != 0) << "mask differs from the reference at element " << e << ", p " << p;
      ASSERT_EQ(k, ydf[e] != 0) << "f32 mask differs at element " << e << ", p " << p;
      ASSERT_EQ(k, rng::dropout_keep(kSeed, 3, 11, e, static_cast<float>(p))) << "element " << e;
      // 1e-12 relative: y * (1/(1-p)) and y / (1-p) differ by a rounding or two.
      if (k) { ASSERT_NEAR(yd[e], y[e] / (1 - p), 1e-12 * y[e] / (1 - p)) << "inverted scaling 1/(1-p)"; }
    }
    const double n = static_cast<double>(M * N), mean = n * (1 - p), sigma = std::sqrt(n * p * (1 - p));
    EXPECT_LE(std::fabs(static_cast<double>(kept) - mean), 5 * sigma)
        << "kept " << kept << " of " << n << " at p " << p << ", seed " << kSeed;
    // Another step draws another mask.
    Epilogue next = ep;
    next.step = 12;
    std::vector<double> y2(M * N), yd2(M * N);
    cpu->linear_act_forward(DType::F64, M, N, K, x.data(), w.data(), nullptr, next, y2.data(), yd2.data());
    int64_t differ = 0;
    for (int64_t e = 0; e < M * N; ++e) differ += (yd[e] != 0) != (yd2[e] != 0);
    EXPECT_GT(differ, 0) << "the mask must change with the step";
  }
}

}  // namespace
}  // namespace cumlp::test
