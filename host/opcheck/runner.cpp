// CaseRun: a case's seeded buffers on the device and on the reference, the
// op issued on both through the same call, and the comparison.
#include "host/opcheck/runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cumlp/model.h"
#include "host/cpu/reference/reference_ops.h"
#include "host/opcheck/compare.h"
#include "host/opcheck/inputs.h"
#include "host/opcheck/narrow_case.h"

namespace cumlp::opcheck {

namespace {

std::size_t elem_size(Arg::Type t, DType dt) {
  switch (t) {
    case Arg::real: return dt == DType::F32 ? 4 : 8;
    case Arg::i64: return 8;
    case Arg::u8: return 1;
    default: return 4;  // i32, f32
  }
}

std::vector<unsigned char> to_bytes(const Arg& a, DType dt) {
  const std::size_t es = elem_size(a.type, dt);
  std::vector<unsigned char> b(a.init.size() * es);
  for (std::size_t i = 0; i < a.init.size(); ++i) {
    const double v = a.init[i];
    unsigned char* p = b.data() + i * es;
    if (a.type == Arg::i32) { const auto x = static_cast<int32_t>(v); std::memcpy(p, &x, es); }
    else if (a.type == Arg::i64) { const auto x = static_cast<int64_t>(v); std::memcpy(p, &x, es); }
    else if (a.type == Arg::u8) { *p = static_cast<unsigned char>(v); }
    else if (es == 4) { const auto x = static_cast<float>(v); std::memcpy(p, &x, es); }
    else { std::memcpy(p, &v, es); }
  }
  return b;
}

std::vector<double> from_bytes(const std::vector<unsigned char>& b, Arg::Type t, DType dt) {
  const std::size_t es = elem_size(t, dt);
  std::vector<double> v(b.size() / es);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const unsigned char* p = b.data() + i * es;
    if (t == Arg::i32) { int32_t x; std::memcpy(&x, p, es); v[i] = x; }
    else if (es == 4) { float x; std::memcpy(&x, p, es); v[i] = x; }
    else { std::memcpy(&v[i], p, es); }
  }
  return v;
}

std::vector<Arg> make_args(const OpCase& c) {
  const DType dt = c.dtype;
  const int64_t M = c.M, N = c.N, K = c.K;
  auto out = [](std::string name, int64_t n, bool present = true) {
    return Arg{Arg::real, std::move(name), std::vector<double>(static_cast<std::size_t>(present ? n : 0)), true, present};
  };
  switch (c.op) {
    case Op::forward: {
      const double s = 2 / std::sqrt(static_cast<double>(K));  // outputs O(1)
      return {{Arg::real, "x", values(1, M * K, -1, 1, dt)}, {Arg::real, "w", values(2, N * K, -s, s, dt)},
              {Arg::real, "b", values(3, N, -0.5, 0.5, dt), false, c.bias}, out("y", M * N),
              out("y_drop", M * N, c.dropout_p > 0)};
    }
    case Op::backward_data: {
      const double s = 2 / std::sqrt(static_cast<double>(N));
      std::vector<double> y_prev = values(6, M * K, -2, 2, dt);  // as the previous layer's forward made it
      for (double& v : y_prev) {
        const double a = reference::activation(c.act, v, c.alpha);
        v = dt == DType::F32 ? static_cast<float>(a) : a;
      }
      return {{Arg::real, "dz", values(4, M * N, -1, 1, dt)}, {Arg::real, "w", values(5, N * K, -s, s, dt)},
              {Arg::real, "y_prev", y_prev}, out("dz_prev", M * K)};
    }
    case Op::backward_weight: {
      const double s = 1 / std::sqrt(static_cast<double>(M));  // sums over M rows: outputs O(1)
      return {{Arg::real, "dz", values(7, M * N, -s, s, dt)}, {Arg::real, "x", values(8, M * K, -1, 1, dt)},
              out("dw", N * K), out("db", N, c.bias)};
    }
    case Op::backward: {
      // dz O(1), w scaled as for backward_data, x by 1/sqrt(M) as dz for backward_weight: outputs O(1), db O(sqrt M).
      const double s = 2 / std::sqrt(static_cast<double>(N)), sx = 1 / std::sqrt(static_cast<double>(M));
      std::vector<double> y_prev = values(6, M * K, -2, 2, dt);
      for (double& v : y_prev) {
        const double a = reference::activation(c.act, v, c.alpha);
        v = dt == DType::F32 ? static_cast<float>(a) : a;
      }
      return {{Arg::real, "dz", values(4, M * N, -1, 1, dt)}, {Arg::real, "w", values(5, N * K, -s, s, dt)},
              {Arg::real, "x", values(8, M * K, -sx, sx, dt)}, {Arg::real, "y_prev", y_prev}, out("dz_prev", M * K),
              out("dw", N * K), out("db", N, c.bias)};
    }
    case Op::loss: {
      std::vector<double> y = values(9, M * N, c.lo, c.hi, dt);
      if (c.act == ops::kSoftmax)  // rows of a softmax output sum to 1
        for (int64_t i = 0; i < M; ++i) {
          double sum = 0;
          for (int64_t j = 0; j < N; ++j) sum += y[i * N + j];
          for (int64_t j = 0; j < N; ++j) y[i * N + j] = dt == DType::F32 ? static_cast<float>(y[i * N + j] / sum) : y[i * N + j] / sum;
        }
      const bool classes = loss_takes_classes(static_cast<LossKind>(c.loss));
      Arg target = classes ? Arg{Arg::i32, "classes", integers(10, M, N)} : Arg{Arg::real, "target", values(10, M * N, 0, 1, dt)};
      return {{Arg::real, "y", y}, target, out("dz", M * N, c.want_grad), out("loss", 1)};
    }
    case Op::linear_loss: {  // x, w, b as for the forward; the loss's targets; y, dz, loss
      const double s = 2 / std::sqrt(static_cast<double>(K));
      const bool classes = loss_takes_classes(static_cast<LossKind>(c.loss));
      Arg target = classes ? Arg{Arg::i32, "classes", integers(10, M, N)} : Arg{Arg::real, "target", values(10, M * N, 0, 1, dt)};
      return {{Arg::real, "x", values(1, M * K, -1, 1, dt)}, {Arg::real, "w", values(2, N * K, -s, s, dt)},
              {Arg::real, "b", values(3, N, -0.5, 0.5, dt)}, target, out("y", M * N), out("dz", M * N),
              out("loss", 1)};
    }
    case Op::gather: {
      const int64_t table_cols = 3;
      Arg samples = c.samples_u8 ? Arg{Arg::u8, "samples", integers(11, K * N, 256)}
                                 : Arg{Arg::f32, "samples", values(11, K * N, -2, 2, DType::F32)};
      Arg table = c.labels ? Arg{Arg::i32, "labels", integers(12, K, 10)}
                           : Arg{Arg::real, "target_table", values(12, K * table_cols, -1, 1, dt)};
      Arg target = out("target", M * (c.labels ? 1 : table_cols));
      if (c.labels) target.type = Arg::i32;
      return {samples, table, {Arg::i64, "rows", integers(13, M, K)}, out("x", M * N), target};
    }
    case Op::optimizer: {
      // m: Adam's first moment, or SGD's velocity with momentum; v: Adam's second moment.
      const bool sgd = c.optimizer.kind == OptimizerKind::SGD, velocity = !sgd || c.optimizer.momentum != 0;
      const int64_t nm = velocity ? N : 0, nv = sgd ? 0 : N;
      return {{Arg::real, "params", values(14, N, -1, 1, dt), true}, {Arg::real, "grads", values(15, N, -1, 1, dt)},
              {Arg::real, "m", values(16, nm, -0.1, 0.1, dt), true, velocity},
              {Arg::real, "v", values(17, nv, 0, 0.01, dt), true, !sgd}};
    }
    case Op::narrow_step: return narrow_step_args(c);
    case Op::replayed_step: break;
  }
  return {};
}

// The op of case c on backend be in dtype dt, over the buffers p (args' order).
void call(const OpCase& c, Backend& be, DType dt, void* const* p) {
  const int64_t M = c.M, N = c.N, K = c.K;
  switch (c.op) {
    case Op::forward: {
      const Epilogue ep{c.act, c.alpha, c.dropout_p, kSeed, 2, 5};
      return be.linear_act_forward(dt, M, N, K, p[0], p[1], p[2], ep, p[3], p[4]);
    }
    case Op::backward_data: {
      const Epilogue ep{c.act, c.alpha, c.dropout_p, kSeed, 1, 9};
      return be.linear_backward_data(dt, M, N, K, p[0], p[1], p[2], ep, p[3]);
    }
    case Op::backward_weight: return be.linear_backward_weight(dt, M, N, K, p[0], p[1], p[2], p[3]);
    case Op::backward: {
      const Epilogue ep{c.act, c.alpha, c.dropout_p, kSeed, 1, 9};
      return be.linear_backward(dt, M, N, K, p[0], p[1], p[2], p[3], ep, p[5], p[6], p[4]);
    }
    case Op::loss: {
      const LossArgs a{c.loss, M, N, c.act, c.alpha, c.want_grad};
      return be.loss_forward_backward(dt, a, p[0], p[1], p[2], p[3]);
    }
    case Op::linear_loss: {  // a softmax output's logits normalised by the loss where the backend does that
      Epilogue ep{c.act, c.alpha, 0, kSeed, 3, 5};
      ep.softmax_in_loss = c.act == ops::kSoftmax && be.fuses_softmax_into_loss();
      LossArgs a{c.loss, M, N, c.act, c.alpha, true};
      a.normalise = ep.softmax_in_loss;
      return be.linear_loss_forward(dt, M, N, K, p[0], p[1], p[2], ep, p[4], a, p[3], p[5], p[6]);
    }
    case Op::gather: {
      GatherArgs a;
      a.samples = p[0], a.samples_u8 = c.samples_u8, a.cols = N, a.scale = c.samples_u8 ? 1.0 / 255 : 0.5;
      if (c.labels) a.labels = static_cast<const int32_t*>(p[1]);
      else a.target_table = p[1], a.target_cols = 3;
      return be.gather_batch(dt, a, static_cast<const int64_t*>(p[2]), M, p[3], p[4]);
    }
    case Op::optimizer:
      return be.optimizer_step(dt, OptimArgs::from(c.optimizer, 3), N, p[0], p[1], p[2], p[3]);
    case Op::narrow_step: return narrow_step_call(c, be, dt, p);
    case Op::replayed_step: break;
  }
}

// sum_k |a_ik b_kj| for C = op(A) op(B) [rows, cols] with op(A) element (i, k)
// at a[i sa_i + k sa_k] and op(B) element (k, j) at b[k sb_k + j sb_j].
std::vector<double> abs_products(const std::vector<double>& a, const std::vector<double>& b, int64_t rows,
                                 int64_t cols, int64_t inner, int64_t sa_i, int64_t sa_k, int64_t sb_k, int64_t sb_j) {
  std::vector<double> m(static_cast<std::size_t>(rows * cols), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < inner; ++k) {
      const double ai = std::fabs(a[static_cast<std::size_t>(i * sa_i + k * sa_k)]);
      double* row = m.data() + i * cols;
      for (int64_t j = 0; j < cols; ++j) row[j] += ai * std::fabs(b[static_cast<std::size_t>(k * sb_k + j * sb_j)]);
    }
  return m;
}

// The per-element allowance of each output arg of a linear case at a TF32
// precision (op_cases.cpp states the bound): per_term x sum|a b| x the
// epilogue's Lipschitz bound: 1 for every activation's value and derivative
// (ELU's alpha here is 0.8), the row's largest term for softmax (its
// Jacobian's rows sum to 2 y (1 - y) <= 1/2), 1/(1-p) for dropout. Empty
// where the output has none (db: summed in fp32 as on the fp32 path).
std::vector<std::vector<double>> allowances(const OpCase& c, const std::vector<Arg>& args, double per_term) {
  std::vector<std::vector<double>> out(args.size());
  if (per_term == 0) return out;
  const int64_t M = c.M, N = c.N, K = c.K;
  const double drop = c.dropout_p > 0 ? 1 / (1 - c.dropout_p) : 1;
  auto scaled = [&](std::vector<double> m, double f) {
    for (double& v : m) v *= per_term * f;
    return m;
  };
  if (c.op == Op::forward) {  // x [M, K], w [N, K] -> y, y_drop [M, N]
    std::vector<double> m = abs_products(args[0].init, args[1].init, M, N, K, K, 1, 1, K);
    if (c.act == ops::kSoftmax)
      for (int64_t i = 0; i < M; ++i) {
        double mx = 0;
        for (int64_t j = 0; j < N; ++j) mx = std::max(mx, m[static_cast<std::size_t>(i * N + j)]);
        for (int64_t j = 0; j < N; ++j) m[static_cast<std::size_t>(i * N + j)] = mx;
      }
    out[3] = scaled(m, 1);
    if (args[4].present) out[4] = scaled(m, drop);
  } else if (c.op == Op::backward_data) {  // dz [M, N], w [N, K] -> dz_prev [M, K]
    out[3] = scaled(abs_products(args[0].init, args[1].init, M, K, N, N, 1, K, 1), drop);
  } else if (c.op == Op::backward_weight) {  // dz [M, N], x [M, K] -> dw [N, K] = dz^T x
    out[2] = scaled(abs_products(args[0].init, args[1].init, N, K, M, 1, N, K, 1), 1);
  } else if (c.op == Op::backward) {  // dz, w, x, y_prev -> dz_prev [M, K] (as backward_data), dw (as backward_weight)
    out[4] = scaled(abs_products(args[0].init, args[1].init, M, K, N, N, 1, K, 1), drop);
    out[5] = scaled(abs_products(args[0].init, args[2].init, N, K, M, 1, N, K, 1), 1);
  }
  return out;
}

}  // namespace

// The args' buffers on one backend in one dtype, released with it.
struct CaseRun::Placed {
  Backend& be;
  DType dt;
  const std::vector<Arg>& args;
  std::vector<void*> p;
  Placed(Backend& backend, DType dtype, const std::vector<Arg>& a) : be(backend), dt(dtype), args(a) {
    for (const Arg& arg : args) p.push_back(arg.present ? be.alloc(std::max<std::size_t>(1, arg.init.size() * elem_size(arg.type, dt))) : nullptr);
    upload();
  }
  ~Placed() {
    for (void* q : p)
      if (q) be.release(q);
  }
  void upload() {
    for (std::size_t i = 0; i < args.size(); ++i)
      if (p[i] && !args[i].init.empty()) {
        const std::vector<unsigned char> b = to_bytes(args[i], dt);
        be.upload(p[i], b.data(), b.size());
      }
  }
  std::vector<double> read(std::size_t i) {
    std::vector<unsigned char> b(args[i].init.size() * elem_size(args[i].type, dt));
    be.download(b.data(), p[i], b.size());
    return from_bytes(b, args[i].type, dt);
  }
};

OpCheck row_of(const OpCase& c) {
  const Tolerance t = tolerance(c.op, c.dtype, c.precision);
  OpCheck r;
  r.precision = precision_name(c.precision);
  r.name = c.name;
  r.shape = c.shape();
  r.dtype = c.dtype == DType::F32 ? "f32" : "f64";
  r.atol = t.atol, r.rtol = t.rtol, r.per_term = t.per_term, r.exact = t.exact, r.tolerance_reason = t.reason;
  return r;
}

CaseRun::CaseRun(const OpCase& c, Backend& device)
    : case_(c), device_(device), args_(make_args(c)), placed_(std::make_unique<Placed>(device, c.dtype, args_)) {}
CaseRun::~CaseRun() = default;

void CaseRun::issue() { call(case_, device_, case_.dtype, placed_->p.data()); }
void CaseRun::reset() { placed_->upload(); }

Result CaseRun::check(Backend& reference) {
  // The reference sums in double on the rounded inputs; the gather is exact,
  // so its reference rounds once to the case's dtype as the device does.
  const DType ref_dt = case_.op == Op::gather ? case_.dtype : DType::F64;
  Placed ref(reference, ref_dt, args_);
  call(case_, reference, ref_dt, ref.p.data());
  device_.synchronize();
  Result r{row_of(case_), {}};
  const Tolerance tol = tolerance(case_.op, case_.dtype, case_.precision);
  const std::vector<std::vector<double>> allow = allowances(case_, args_, tol.per_term);
  Comparison cmp;
  std::vector<std::vector<double>> want;
  for (std::size_t i = 0; i < args_.size(); ++i) {
    if (!args_[i].output || !args_[i].present) continue;
    r.outputs.push_back(placed_->read(i));
    want.push_back(ref.read(i));
    compare(cmp, args_[i].name, r.outputs.back(), want.back(), tol, allow[i].empty() ? nullptr : &allow[i]);
  }
  if (case_.op == Op::forward && case_.dropout_p > 0) {
    // The dropout mask exactly: kept on the device where kept in the
    // reference, wherever y is not 0 on either (y_drop = 0 says nothing there;
    // at TF32 a ReLU input near 0 may fall on the other side).
    std::vector<double> got_mask, want_mask;
    for (std::size_t e = 0; e < want[0].size(); ++e)
      if (want[0][e] != 0 && r.outputs[0][e] != 0) {
        got_mask.push_back(r.outputs[1][e] != 0);
        want_mask.push_back(want[1][e] != 0);
      }
    compare(cmp, "dropout mask", got_mask, want_mask, Tolerance{0, 0, true, ""});
  }
  cmp.report(r.check);
  return r;
}

}  // namespace cumlp::opcheck
