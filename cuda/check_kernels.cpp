// check_kernels: each backend op of a device against the reference backend
// on float-rounded, seeded inputs; the tolerances are those the test suite
// states (tests/cuda/ops_test.cpp): 1e-5 for elementwise results, 1e-4 for
// GEMM outputs and reductions, as |got - ref| <= tol * (1 + |ref|).
// Plain C++ over the Backend interface, built once whatever devices exist.
//
// On cuda, wide layers may run on cuBLASLt (cuda/lt_gemm.cuh): each Linear
// product is then issued twice, since the first call of a shape may be the
// one that validates cuBLASLt (its output is the own GEMM's); the second, into
// fresh buffers, takes the chosen path, and the row names it. Seed-size wide
// shapes are added there (too slow for the simulator, which never has cuBLASLt).
#include "cumlp/check.h"

#include <cmath>
#include <functional>

#include "cuda/backend.h"
#include "cumlp/model.h"
#include "cumlp/optim.h"
#include "host/check.h"
#include "host/cpu/cpu_backend.h"
#include "host/rng.h"

namespace cumlp {

#if defined(CUMLP_HAVE_CUDA)
const char* cuda_linear_last_path();  // cuda/lt_gemm.cu: the path of this thread's last Linear product on cuda
#endif

namespace {

constexpr uint64_t kSeed = 20240611;
constexpr double kGemmTol = 1e-4, kElemTol = 1e-5;

std::unique_ptr<Backend> backend_for(const Device& d) {
  Device::parse(d.name());  // throws, saying why, for a device this build or machine cannot run
  switch (d.kind) {
#if defined(CUMLP_HAVE_SIM)
    case DeviceKind::Sim: return make_sim_backend();
#endif
#if defined(CUMLP_HAVE_CUDA)
    case DeviceKind::CUDA: return make_cuda_backend(d.index);
#endif
    default: return make_cpu_backend(true);
  }
}

// n values in [lo, hi), rounded to float (the reference gets the same values).
std::vector<double> values(uint32_t sub, int64_t n, double lo, double hi) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] =
        static_cast<float>(lo + (hi - lo) * rng::uniform01(rng::bits(kSeed, rng::kUser, sub, static_cast<uint64_t>(i))));
  return v;
}

// Device buffers of one check, released with it.
class Buffers {
 public:
  explicit Buffers(Backend& be) : be_(be) {}
  ~Buffers() {
    for (void* p : held_) be_.release(p);
  }
  Buffers(const Buffers&) = delete;
  Buffers& operator=(const Buffers&) = delete;
  void* zeros(int64_t n, std::size_t elem = sizeof(float)) {
    held_.push_back(be_.alloc(static_cast<std::size_t>(n) * elem));
    return held_.back();
  }
  void* of(const std::vector<double>& v) {
    const std::vector<float> f(v.begin(), v.end());
    void* p = zeros(static_cast<int64_t>(f.size()));
    be_.upload(p, f.data(), f.size() * sizeof(float));
    return p;
  }
  std::vector<float> read(const void* p, int64_t n) {
    std::vector<float> out(static_cast<std::size_t>(n));
    be_.download(out.data(), p, out.size() * sizeof(float));
    return out;
  }

 private:
  Backend& be_;
  std::vector<void*> held_;
};

KernelCheck compare(std::string op, std::string shape, const std::vector<float>& got, const std::vector<double>& ref,
                    double tol) {
  KernelCheck c{std::move(op), std::move(shape), 0, 0, tol, got.size() == ref.size()};
  for (std::size_t i = 0; i < got.size() && i < ref.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - ref[i]);
    if (!std::isfinite(got[i]) || !(err <= tol * (1 + std::fabs(ref[i])))) c.pass = false;
    if (std::isfinite(err)) c.max_abs_err = std::max(c.max_abs_err, err);
    if (std::fabs(ref[i]) > 1e-3 && std::isfinite(err)) c.max_rel_err = std::max(c.max_rel_err, err / std::fabs(ref[i]));
  }
  return c;
}

std::string mnk(int64_t M, int64_t N, int64_t K) {
  return "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K);
}

using PathFn = const char* (*)();

// Issues `op` (which allocates its outputs) once; with `path` (cuda) twice,
// and returns " [path of the second call]", or of the first when it was the
// rejection of cuBLASLt for the shape.
template <class Op>
std::string issue(PathFn path, Op op) {
  op();
  if (!path) return "";
  const std::string first = path();
  op();
  return " [" + (first.find("rejected") != std::string::npos ? first : std::string(path())) + "]";
}

void check_linear(Backend& be, Backend& ref, PathFn path, std::vector<KernelCheck>& out) {
  struct Case { int64_t M, N, K; int32_t act; double p; const char* name; };
  std::vector<Case> cases = {
      {1, 1, 1, ops::kIdentity, 0, "identity"},       {7, 13, 5, ops::kSigmoid, 0, "sigmoid"},
      {33, 65, 129, ops::kTanh, 0.3, "tanh+dropout"}, {100, 100, 784, ops::kReLU, 0, "relu"},
      {100, 10, 100, ops::kSoftmax, 0, "softmax"},    {50, 32, 64, ops::kELU, 0.5, "elu+dropout"}};
  // cuBLASLt's epilogues at the 784-500 seed layer's size: RELU_BIAS, BIAS, DEFAULT (identity input
  // gradient), the own GEMM for ReLU's input gradient, and BGRADB for the weight gradients.
  if (path) {
    cases.push_back({256, 500, 784, ops::kReLU, 0, "relu"});
    cases.push_back({256, 500, 784, ops::kIdentity, 0, "identity"});
  }
  for (const Case& c : cases) {
    Buffers buf(be);
    const auto x = values(1, c.M * c.K, -1, 1), w = values(2, c.N * c.K, -0.1, 0.1), b = values(3, c.N, -0.5, 0.5);
    const Epilogue ep{c.act, c.act == ops::kELU ? 1.0 : 0.0, c.p, kSeed, 1, 3};
    const int64_t MN = c.M * c.N, MK = c.M * c.K;
    void *dx = buf.of(x), *dwt = buf.of(w), *y = nullptr, *yd = nullptr;
    const std::string fwd = issue(path, [&] {
      y = buf.zeros(MN);
      yd = c.p > 0 ? buf.zeros(MN) : nullptr;
      be.linear_act_forward(DType::F32, c.M, c.N, c.K, dx, dwt, buf.of(b), ep, y, yd);
    });
    std::vector<double> ry(MN), ryd(MN);
    ref.linear_act_forward(DType::F64, c.M, c.N, c.K, x.data(), w.data(), b.data(), ep, ry.data(),
                           yd ? ryd.data() : nullptr);
    const std::string s = mnk(c.M, c.N, c.K), act = std::string(" ") + c.name;
    out.push_back(compare("linear_act_forward" + act + fwd, s, buf.read(y, MN), ry, kGemmTol));
    if (yd) out.push_back(compare("linear_act_forward y_drop" + act + fwd, s, buf.read(yd, MN), ryd, kGemmTol));
    if (c.act == ops::kSoftmax) continue;  // softmax has no input gradient: it is only ever the output
    const auto dz = values(4, MN, -1, 1);
    std::vector<double> yp = values(5, MK, -1, 1);
    for (double& v : yp) v = static_cast<float>(ops::act_forward<double>(c.act, v, ep.alpha));
    void *ddz = buf.of(dz), *dyp = buf.of(yp), *dprev = nullptr, *dw = nullptr, *db = nullptr;
    const std::string bwd = issue(path, [&] {
      dprev = buf.zeros(MK);
      be.linear_backward_data(DType::F32, c.M, c.N, c.K, ddz, dwt, dyp, ep, dprev);
    });
    std::vector<double> rprev(MK), rdw(c.N * c.K), rdb(c.N);
    ref.linear_backward_data(DType::F64, c.M, c.N, c.K, dz.data(), w.data(), yp.data(), ep, rprev.data());
    out.push_back(compare("linear_backward_data" + act + bwd, s, buf.read(dprev, MK), rprev, kGemmTol));
    const std::string wgt = issue(path, [&] {
      dw = buf.zeros(c.N * c.K);
      db = buf.zeros(c.N);
      be.linear_backward_weight(DType::F32, c.M, c.N, c.K, ddz, dx, dw, db);
    });
    ref.linear_backward_weight(DType::F64, c.M, c.N, c.K, dz.data(), x.data(), rdw.data(), rdb.data());
    // Gradients sum M products of O(1) values: the tolerance scales with sqrt(M).
    const double t = kGemmTol * std::sqrt(static_cast<double>(c.M));
    out.push_back(compare("linear_backward_weight dw" + wgt, s, buf.read(dw, c.N * c.K), rdw, t));
    out.push_back(compare("linear_backward_weight db" + wgt, s, buf.read(db, c.N), rdb, t));
  }
}

void check_loss(Backend& be, Backend& ref, std::vector<KernelCheck>& out) {
  struct Case { LossKind kind; int32_t act; int64_t rows, cols; double lo, hi; };
  const Case cases[] = {{LossKind::CrossEntropy, ops::kIdentity, 100, 10, -20, 20},
                        {LossKind::BCE, ops::kSigmoid, 4, 1, 0.02, 0.98},
                        {LossKind::MSE, ops::kIdentity, 33, 7, -2, 2},
                        {LossKind::HalfSSE, ops::kTanh, 5, 300, -0.9, 0.9}};
  for (const Case& c : cases) {
    Buffers buf(be);
    const int64_t n = c.rows * c.cols;
    const auto y = values(6, n, c.lo, c.hi), t = values(7, n, 0, 1);
    std::vector<int32_t> cls(static_cast<std::size_t>(c.rows));
    for (int64_t i = 0; i < c.rows; ++i) cls[static_cast<std::size_t>(i)] = static_cast<int32_t>(i % c.cols);
    const bool ce = c.kind == LossKind::CrossEntropy;
    void* target = ce ? buf.zeros(c.rows, sizeof(int32_t)) : buf.of(t);
    if (ce) be.upload(target, cls.data(), cls.size() * sizeof(int32_t));
    void* dz = buf.zeros(n);
    void* loss = buf.zeros(1);
    const LossArgs a{static_cast<int32_t>(c.kind), c.rows, c.cols, c.act, 0, true};
    be.loss_forward_backward(DType::F32, a, buf.of(y), target, dz, loss);
    std::vector<double> rdz(n), rloss(1);
    ref.loss_forward_backward(DType::F64, a, y.data(), ce ? static_cast<const void*>(cls.data()) : t.data(),
                              rdz.data(), rloss.data());
    const std::string s = "rows=" + std::to_string(c.rows) + " cols=" + std::to_string(c.cols);
    out.push_back(compare(std::string("loss ") + loss_name(c.kind), s, buf.read(loss, 1), rloss, kGemmTol));
    out.push_back(compare(std::string("loss ") + loss_name(c.kind) + " dz", s, buf.read(dz, n), rdz, kElemTol));
  }
}

void check_optimizer(Backend& be, Backend& ref, std::vector<KernelCheck>& out) {
  Optimizer sgd = Optimizer::sgd(0.1);
  sgd.weight_decay = 0.01;
  sgd.l1 = 0.001;
  Optimizer momentum = sgd, nesterov = Optimizer::sgd(0.1, 0.9, true);
  momentum.momentum = 0.9;
  for (const Optimizer& o : {sgd, momentum, nesterov, Optimizer::adam(0.01, 0.05), Optimizer::adamw(0.01, 0.05)}) {
    Buffers buf(be);
    const int64_t n = 1001;
    std::vector<double> p = values(8, n, -1, 1), m(n), v(n);
    const bool plain = o.kind == OptimizerKind::SGD && o.momentum == 0;
    void* dp = buf.of(p);
    void* dm = buf.zeros(n);
    void* dv = buf.zeros(n);
    for (int step = 1; step <= 3; ++step) {
      const auto g = values(8 + step, n, -1, 1);
      const OptimArgs a = OptimArgs::from(o, step);
      be.optimizer_step(DType::F32, a, n, dp, buf.of(g), plain ? nullptr : dm, plain ? nullptr : dv);
      ref.optimizer_step(DType::F64, a, n, p.data(), g.data(), plain ? nullptr : m.data(), plain ? nullptr : v.data());
    }
    out.push_back(compare("optimizer_step " + o.describe(), "n=1001, 3 steps", buf.read(dp, n), p, kElemTol));
  }
}

}  // namespace

std::vector<KernelCheck> check_kernels(const Device& device) {
  auto be = backend_for(device);
  auto ref = make_cpu_backend(false);
  std::vector<KernelCheck> out;
  PathFn path = nullptr;
#if defined(CUMLP_HAVE_CUDA)
  if (device.kind == DeviceKind::CUDA) path = &cuda_linear_last_path;
#endif
  check_linear(*be, *ref, path, out);
  check_loss(*be, *ref, out);
  check_optimizer(*be, *ref, out);
  return out;
}

}  // namespace cumlp
