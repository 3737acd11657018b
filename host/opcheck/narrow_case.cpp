#include "host/opcheck/narrow_case.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cumlp/model.h"
#include "host/executor/plan.h"
#include "host/opcheck/inputs.h"
#include "host/opcheck/seed_models.h"

namespace cumlp::opcheck {

namespace {

int64_t layer_count(const OpCase& c) { return static_cast<int64_t>(c.widths.size()) - 1; }
bool has_dropout(const OpCase& c, int64_t l) { return c.dropout_p > 0 && l + 1 < layer_count(c); }

// The rows' epilogue of layer l: its activation, the hidden layers' alpha and
// dropout, the mask keyed by the layer.
Epilogue epilogue(const OpCase& c, int64_t l) {
  return Epilogue{c.acts[static_cast<std::size_t>(l)], c.alpha, has_dropout(c, l) ? c.dropout_p : 0, kSeed,
                  static_cast<uint32_t>(l), 3};
}

OpCase narrow(const std::string& name, std::vector<int64_t> widths, int32_t act, int32_t out_act, double alpha,
              double p, LossKind loss, int64_t batch) {
  OpCase c;
  c.op = Op::narrow_step;
  c.widths = std::move(widths);
  c.acts.assign(c.widths.size() - 1, act);
  c.acts.back() = out_act;
  c.alpha = alpha, c.dropout_p = p, c.loss = static_cast<int32_t>(loss), c.M = batch;
  c.name = name;
  return c;
}

}  // namespace

void narrow_step_cases(std::vector<OpCase>& out) {
  using enum LossKind;
  out.push_back(narrow("narrow_step tanh softmax MSE", {5, 5, 3}, ops::kTanh, ops::kSoftmax, 0, 0, MSE, 1));
  out.push_back(narrow("narrow_step leaky_relu dropout 0.3 MSE-sum", {9, 1, 5}, ops::kLeakyReLU, ops::kIdentity,
                       0.02, 0.3, MSESum, 7));
  // 21 rows (a partial row tile), the first layer's K of 290 split in 5 (the last split partial).
  out.push_back(narrow("narrow_step relu dropout 0.2 cross-entropy, first layer split", {290, 64, 3}, ops::kReLU,
                       ops::kIdentity, 0, 0.2, CrossEntropy, 21));
  for (const SeedModel& m : seed_models()) {
    const Plan plan = Plan::compile(m.spec);
    if (!plan.narrow()) continue;
    OpCase c;
    c.op = Op::narrow_step;
    c.M = m.batch;
    c.widths.push_back(plan.layers.front().in);
    for (const FusedLayer& l : plan.layers) {
      c.widths.push_back(l.out);
      c.acts.push_back(l.act);
      c.alpha = std::max(c.alpha, l.alpha);  // the seed models' hidden layers share one activation
      if (l.dropout_p > 0) c.dropout_p = l.dropout_p;
    }
    c.loss = static_cast<int32_t>(plan.loss);
    c.name = std::string("narrow_step ") + act_name(c.acts.front()) + " " + loss_name(plan.loss);
    c.model = m.name;
    out.push_back(std::move(c));
  }
}

std::vector<Arg> narrow_step_args(const OpCase& c) {
  const DType dt = c.dtype;
  const int64_t M = c.M, L = layer_count(c), out = c.widths.back();
  const bool classes = loss_takes_classes(static_cast<LossKind>(c.loss));
  std::vector<Arg> a;
  a.push_back({Arg::real, "x", values(1, M * c.widths[0], -1, 1, dt)});
  a.push_back(classes ? Arg{Arg::i32, "classes", integers(10, M, out)}
                      : Arg{Arg::real, "target", values(10, M * out, 0, 1, dt)});
  for (int64_t l = 0; l < L; ++l) {
    const int64_t in = c.widths[l], n = c.widths[l + 1];
    const double s = 2 / std::sqrt(static_cast<double>(in));  // pre-activations O(1)
    const auto sub = static_cast<uint32_t>(20 + 2 * l);
    a.push_back({Arg::real, "w" + std::to_string(l + 1), values(sub, n * in, -s, s, dt)});
    a.push_back({Arg::real, "b" + std::to_string(l + 1), values(sub + 1, n, -0.3, 0.3, dt)});
  }
  auto output = [&](std::string name, int64_t n, bool present = true) {
    a.push_back(Arg{Arg::real, std::move(name), std::vector<double>(static_cast<std::size_t>(present ? n : 0)), true,
                    present});
  };
  for (int64_t l = 0; l < L; ++l) {
    const std::string k = std::to_string(l + 1);
    const int64_t in = c.widths[l], n = c.widths[l + 1];
    output("y" + k, M * n);
    output("y_drop" + k, M * n, has_dropout(c, l));
    output("dz" + k, M * n);
    output("dw" + k, n * in);
    output("db" + k, n);
  }
  output("loss", 1);
  return a;
}

void narrow_step_call(const OpCase& c, Backend& be, DType dt, void* const* p) {
  const int64_t L = layer_count(c), out = c.widths.back();
  NarrowStepArgs a;
  a.rows = c.M;
  a.x = p[0];
  a.target = p[1];
  void* const* outs = p + 2 + 2 * L;
  for (int64_t l = 0; l < L; ++l) {
    NarrowLayer nl;
    nl.in = c.widths[l], nl.out = c.widths[l + 1];
    nl.w = p[2 + 2 * l], nl.b = p[3 + 2 * l];
    nl.ep = epilogue(c, l);
    nl.y = outs[5 * l], nl.y_drop = outs[5 * l + 1], nl.dz = outs[5 * l + 2];
    nl.dw = outs[5 * l + 3], nl.db = outs[5 * l + 4];
    a.layers.push_back(nl);
  }
  a.loss_out = outs[5 * L];
  const int32_t out_act = c.acts.back();
  a.loss = LossArgs{c.loss, c.M, out, out_act, c.alpha, true};
  a.loss.normalise = out_act == ops::kSoftmax;
  if (be.offers_narrow_step(dt)) return be.narrow_step(dt, a);
  narrow_step_by_ops(be, dt, a);
}

void narrow_step_by_ops(Backend& be, DType dt, NarrowStepArgs a) {
  const int64_t M = a.rows, L = static_cast<int64_t>(a.layers.size());
  const auto input_of = [&](int64_t l) -> const void* {
    if (l == 0) return a.x;
    const NarrowLayer& prev = a.layers[static_cast<std::size_t>(l - 1)];
    return prev.y_drop ? prev.y_drop : prev.y;
  };
  a.loss.normalise = a.loss.out_act == ops::kSoftmax && be.fuses_softmax_into_loss();
  for (int64_t l = 0; l < L; ++l) {
    const NarrowLayer& nl = a.layers[static_cast<std::size_t>(l)];
    Epilogue ep = nl.ep;
    ep.softmax_in_loss = a.loss.normalise && l + 1 == L;
    be.linear_act_forward(dt, M, nl.out, nl.in, input_of(l), nl.w, nl.b, ep, nl.y, nl.y_drop);
  }
  be.loss_forward_backward(dt, a.loss, a.layers.back().y, a.target, a.layers.back().dz, a.loss_out);
  for (int64_t l = L - 1; l >= 0; --l) {
    const NarrowLayer& nl = a.layers[static_cast<std::size_t>(l)];
    be.linear_backward_weight(dt, M, nl.out, nl.in, nl.dz, input_of(l), nl.dw, nl.db);
    if (l == 0) continue;
    const NarrowLayer& prev = a.layers[static_cast<std::size_t>(l - 1)];
    be.linear_backward_data(dt, M, nl.out, nl.in, nl.dz, nl.w, prev.y, prev.ep, prev.dz);
  }
}

}  // namespace cumlp::opcheck
