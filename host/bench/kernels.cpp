// Kernel benchmarks: each Backend op at the seed models' shapes, run once on
// the device and on the reference backend from the same seeded inputs and
// compared (NaN/Inf first, then |a - b| <= atol + rtol |ref|); only an op
// that passes is timed.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cumlp/model.h"
#include "host/bench/engine.h"
#include "host/shared/error_macros.h"
#include "host/cpu/cpu_backend.h"
#include "host/shared/rng.h"

namespace cumlp::bench {

namespace {

using Bytes = std::vector<unsigned char>;

struct Arg {
  Bytes init;          // initial contents (zeros for outputs)
  bool check = false;  // compared with the reference after the op (float)
};

struct Tol {
  double atol, rtol;
};

struct Case {
  std::string name, shape;
  Cost cost;
  Tol tol;
  std::vector<Arg> args;
  std::function<void(Backend&, void* const* a)> run;
};

Bytes floats(int64_t n, double lo, double hi, uint64_t seed, uint32_t sub) {
  Bytes b(static_cast<std::size_t>(n) * sizeof(float));
  auto* f = reinterpret_cast<float*>(b.data());
  for (int64_t i = 0; i < n; ++i)
    f[i] = static_cast<float>(lo + (hi - lo) * rng::uniform01(rng::bits(seed, rng::kUser, sub, i)));
  return b;
}

Bytes zeros(int64_t n) { return Bytes(static_cast<std::size_t>(n) * sizeof(float), 0); }

Bytes classes(int64_t rows, int64_t k, uint64_t seed, uint32_t sub) {
  Bytes b(static_cast<std::size_t>(rows) * sizeof(int32_t));
  auto* c = reinterpret_cast<int32_t*>(b.data());
  for (int64_t i = 0; i < rows; ++i) c[i] = static_cast<int32_t>(rng::below(seed, rng::kUser, sub, i, k));
  return b;
}

// GEMM outputs sum `reduce` products of O(1) values in float.
Tol gemm_tol(int64_t reduce) { return {1e-5 * std::sqrt(static_cast<double>(reduce)), 1e-4}; }
constexpr Tol kElemTol{1e-6, 1e-5};

std::string mnk(const char* tag, int64_t M, int64_t N, int64_t K) {
  return detail::concat(tag, " M=", M, " N=", N, " K=", K);
}

Case forward_case(const char* tag, int64_t M, int64_t N, int64_t K, Activation act, double alpha, double p,
                  uint64_t s) {
  Epilogue ep;
  ep.act = act_code(act);
  ep.alpha = alpha;
  ep.dropout_p = p;
  ep.seed = s;
  ep.layer = 1;
  ep.step = 3;
  const double bound = 1 / std::sqrt(static_cast<double>(K));
  std::string shape = mnk(tag, M, N, K) + " " + activation_name(act);
  if (p > 0) shape += detail::concat(" dropout=", p);
  return {"linear_act_forward", shape, forward_cost(M, N, K, true, p > 0, sizeof(float)), gemm_tol(K),
          {{floats(M * K, -1, 1, s, 1)}, {floats(N * K, -bound, bound, s, 2)}, {floats(N, -bound, bound, s, 3)},
           {zeros(M * N), true}, {zeros(p > 0 ? M * N : 0), p > 0}},
          [=](Backend& b, void* const* a) {
            b.linear_act_forward(DType::F32, M, N, K, a[0], a[1], a[2], ep, a[3], p > 0 ? a[4] : nullptr);
          }};
}

Case backward_data_case(const char* tag, int64_t M, int64_t N, int64_t K, Activation act, double alpha, uint64_t s) {
  Epilogue ep;
  ep.act = act_code(act);
  ep.alpha = alpha;
  return {"linear_backward_data", mnk(tag, M, N, K) + " d" + activation_name(act),
          backward_data_cost(M, N, K, sizeof(float)), gemm_tol(N),
          {{floats(M * N, -1, 1, s, 4)}, {floats(N * K, -1, 1, s, 5)}, {floats(M * K, -0.5, 1, s, 6)},
           {zeros(M * K), true}},
          [=](Backend& b, void* const* a) { b.linear_backward_data(DType::F32, M, N, K, a[0], a[1], a[2], ep, a[3]); }};
}

Case backward_weight_case(const char* tag, int64_t M, int64_t N, int64_t K, uint64_t s) {
  return {"linear_backward_weight", mnk(tag, M, N, K) + " +bias grad", backward_weight_cost(M, N, K, true, sizeof(float)),
          gemm_tol(M),
          {{floats(M * N, -1, 1, s, 7)}, {floats(M * K, -1, 1, s, 8)}, {zeros(N * K), true}, {zeros(N), true}},
          [=](Backend& b, void* const* a) { b.linear_backward_weight(DType::F32, M, N, K, a[0], a[1], a[2], a[3]); }};
}

Case loss_case(const char* tag, LossKind kind, int64_t rows, int64_t cols, Activation out_act, uint64_t s) {
  LossArgs la;
  la.kind = static_cast<int32_t>(kind);
  la.rows = rows;
  la.cols = cols;
  la.out_act = act_code(out_act);
  const bool cls = loss_takes_classes(kind);
  // BCE takes probabilities: outputs inside (0, 1), targets 0 or 1.
  Bytes y = cls ? floats(rows * cols, -4, 4, s, 9) : floats(rows * cols, 0.05, 0.95, s, 9);
  Bytes t = cls ? classes(rows, cols, s, 10) : floats(rows * cols, 0, 1, s, 10);
  if (!cls)
    for (float* f = reinterpret_cast<float*>(t.data()); f < reinterpret_cast<float*>(t.data() + t.size()); ++f)
      *f = std::round(*f);
  return {"loss_forward_backward", detail::concat(tag, " ", loss_name(kind), " ", rows, "x", cols),
          loss_cost(rows, cols, cls, sizeof(float)), kElemTol,
          {{std::move(y)}, {std::move(t)}, {zeros(rows * cols), true}, {zeros(1), true}},
          [=](Backend& b, void* const* a) { b.loss_forward_backward(DType::F32, la, a[0], a[1], a[2], a[3]); }};
}

Case optimizer_case(const char* tag, const Optimizer& o, int64_t n, uint64_t s) {
  const OptimArgs oa = OptimArgs::from(o, 5);
  const bool sgd = o.kind == OptimizerKind::SGD;
  return {"optimizer_step", detail::concat(tag, " ", optimizer_name(o.kind), " n=", n),
          optimizer_cost(o.kind, n, sizeof(float)), kElemTol,
          {{floats(n, -1, 1, s, 11), true}, {floats(n, -1, 1, s, 12)},
           {sgd ? zeros(0) : floats(n, -0.1, 0.1, s, 13), !sgd}, {sgd ? zeros(0) : floats(n, 0, 0.01, s, 14), !sgd}},
          [=](Backend& b, void* const* a) {
            b.optimizer_step(DType::F32, oa, n, a[0], a[1], sgd ? nullptr : a[2], sgd ? nullptr : a[3]);
          }};
}

std::vector<Case> cases(uint64_t s) {
  using enum Activation;
  return {forward_case("A.1", 100, 100, 784, ReLU, 0, 0, s),
          forward_case("A.1", 100, 100, 784, ReLU, 0, 0.2, s),
          forward_case("B.1", 256, 500, 784, LeakyReLU, 0.01, 0, s),
          forward_case("B.2", 256, 400, 500, LeakyReLU, 0.01, 0, s),
          forward_case("C.1", 4, 10, 2, Sigmoid, 0, 0, s),
          forward_case("D.1", 1437, 32, 64, ReLU, 0, 0, s),
          backward_data_case("A.2", 100, 100, 100, ReLU, 0, s),
          backward_data_case("B.2", 256, 400, 500, LeakyReLU, 0.01, s),
          backward_data_case("D.2", 1437, 16, 32, ReLU, 0, s),
          backward_weight_case("A.1", 100, 100, 784, s),
          backward_weight_case("B.1", 256, 500, 784, s),
          backward_weight_case("D.1", 1437, 32, 64, s),
          loss_case("A", LossKind::CrossEntropy, 100, 10, Identity, s),
          loss_case("D", LossKind::CrossEntropy, 1437, 10, Identity, s),
          loss_case("C", LossKind::BCE, 4, 1, Sigmoid, s),
          optimizer_case("A", Optimizer::adam(0.01), 89610, s),
          optimizer_case("B", Optimizer::adam(), 797510, s),
          optimizer_case("C", Optimizer::sgd(1.0), 261, s)};
}

// The case's buffers on one backend, released on scope exit.
struct Placed {
  Backend& b;
  std::vector<void*> p;
  Placed(Backend& backend, const Case& c) : b(backend) {
    for (const Arg& a : c.args) {
      p.push_back(b.alloc(a.init.size()));
      if (!a.init.empty()) b.upload(p.back(), a.init.data(), a.init.size());
    }
  }
  ~Placed() {
    for (void* q : p) b.release(q);
  }
  std::vector<float> read(std::size_t i, std::size_t bytes) {
    std::vector<float> v(bytes / sizeof(float));
    b.download(v.data(), p[i], bytes);
    return v;
  }
};

// Runs the case once on both backends and compares every checked buffer.
void validate(Backend& dev, Backend& ref, const Case& c, KernelResult& r) {
  Placed d(dev, c), e(ref, c);
  c.run(dev, d.p.data());
  c.run(ref, e.p.data());
  dev.synchronize();
  r.validated = true;
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (!c.args[i].check) continue;
    const std::vector<float> got = d.read(i, c.args[i].init.size()), want = e.read(i, c.args[i].init.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
      const double g = got[k], w = want[k], err = std::fabs(g - w);
      if (!std::isfinite(g) || !std::isfinite(w)) {
        r.validated = r.validated && g == w;
        continue;
      }
      r.max_abs_err = std::max(r.max_abs_err, err);
      if (std::fabs(w) > c.tol.atol) r.max_rel_err = std::max(r.max_rel_err, err / std::fabs(w));
      r.validated = r.validated && err <= c.tol.atol + c.tol.rtol * std::fabs(w);
    }
  }
}

}  // namespace

std::vector<KernelResult> bench_kernels(Backend& device, const DevicePeak& peak, const Timing& t, uint64_t seed) {
  std::unique_ptr<Backend> ref = make_cpu_backend(false);
  std::vector<KernelResult> out;
  for (const Case& c : cases(seed)) {
    KernelResult r;
    r.name = c.name;
    r.shape = c.shape;
    r.bytes = c.cost.bytes;
    r.flops = c.cost.flops;
    validate(device, *ref, c, r);
    if (r.validated) {
      Placed d(device, c);
      const Stats s = time_calls(t, [&] { c.run(device, d.p.data()); }, [&] { device.synchronize(); });
      r.median_us = s.median_us;
      r.p10_us = s.p10_us;
      r.p90_us = s.p90_us;
      r.gbps = c.cost.bytes / (s.median_us * 1e3);
      r.gflops = c.cost.flops / (s.median_us * 1e3);
      r.percent_of_peak = 100 * floor_us(peak, c.cost, 1) / s.median_us;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace cumlp::bench
