// The table's rows and the tolerance of each op. Inputs are generated in
// double, rounded to the case's dtype, and the reference runs in double on
// those rounded values, so a row measures the device's own arithmetic.
#include <cmath>
#include <cstdio>
#include <tuple>

#include "cumlp/model.h"
#include "host/executor/plan.h"
#include "host/opcheck/op_case.h"
#include "host/opcheck/narrow_case.h"
#include "host/opcheck/seed_models.h"

namespace cumlp::opcheck {

// f32 against the double reference; f64 (the cpu device) to 1e-12 in every
// op: a K-term double sum errs by at most ~K eps ~ 1437 * 1.1e-16 ~ 2e-13 of
// its terms, which the inputs keep O(1).
// TF32 (u = 2^-11, the unit roundoff of a 10-bit mantissa under cvt.rna):
// each operand is rounded once, a' = a(1 + d), |d| <= u, so each product errs
// by at most (2u + u^2)|a b|, and the K products (exact in fp32) are summed in
// fp32 as on the fp32 path. Hence |err| <= (2u + u^2) sum_k |a_k b_k| plus the
// fp32 tolerance for the summation: a worst-case bound per element, not a
// K-fold growth (the rounding errors do not compound through the sum; typically
// they partly cancel, ~u sqrt(K) rms|ab|). TF32x3: a = big + small + r with
// |r| <= u |small| <= u^2 |a|, and the dropped small_a small_b <= u^2 |a b|,
// so a product errs by at most ~3u^2 |a b| (+ higher order): 4u^2 ~ 9.5e-7
// per unit of sum |a b|, on top of the fp32 tolerance of 3K summed terms.
// The epilogue scales the error by at most its Lipschitz bound (activations
// <= 1, softmax <= 1 on the row's largest term, dropout 1/(1-p)), applied in
// the runner.
constexpr double kTf32Unit = 1.0 / 2048;  // 2^-11

Tolerance tolerance(Op op, DType dtype, Precision precision) {
  const bool f64 = dtype == DType::F64;
  const bool linear =
      op == Op::forward || op == Op::backward_data || op == Op::backward_weight || op == Op::backward;
  if (linear && !f64 && precision == Precision::TF32)
    return {1e-4, 1e-4, false,
            "tf32: each operand rounded (u = 2^-11): |err| <= (2u + u^2) sum|a b| per element x the epilogue's "
            "Lipschitz bound, plus fp32's 1e-4 for the fp32 sum of the exact products",
            2 * kTf32Unit + kTf32Unit * kTf32Unit};
  if (linear && !f64 && precision == Precision::TF32x3)
    return {1e-4, 1e-4, false,
            "tf32x3: big + small parts, small*small dropped: |err| <= 4u^2 sum|a b| (u = 2^-11, ~9.5e-7) x the "
            "epilogue's Lipschitz bound, plus fp32's 1e-4 for the fp32 sum of 3K products",
            4 * kTf32Unit * kTf32Unit};
  switch (op) {
    case Op::forward:
    case Op::backward_data:
    case Op::backward_weight:
    case Op::backward:
      if (f64) return {1e-12, 1e-12, false, "double sums of up to 1437 O(1) terms: <= K eps ~ 2e-13"};
      return {1e-4, 1e-4, false,
              "inputs scaled so outputs are O(1); a float sum of K products errs ~sqrt(K) 6e-8 typically, "
              "K 6e-8 of the sum of |terms| at worst (K <= 1437): 1e-4 is far above the first, below a real bug"};
    case Op::loss:
      if (f64) return {1e-12, 1e-12, false, "a few double roundings per element; sums of <= 14370 terms"};
      return {1e-6, 1e-4, false,
              "dz: a few float roundings of values <= O(1) (atol); the loss: a float-rounded sum of up to "
              "14370 terms, ~sqrt(n) 6e-8 relative typically (rtol)"};
    case Op::optimizer:
      if (f64) return {1e-12, 1e-12, false, "a handful of double operations per element"};
      return {1e-6, 1e-5, false, "a handful of float operations per element on O(1) values (eps 6e-8)"};
    case Op::linear_loss:
      if (f64) return {1e-12, 1e-12, false, "the forward's and the loss's double bounds, composed"};
      return {1e-4, 1e-4, false,
              "the forward's float GEMM (1e-4, outputs O(1)) carried through the loss's few float roundings per "
              "element (softmax, the loss terms, dz: Lipschitz <= 1 on O(1) values) and its row sum"};
    case Op::gather:
      return {0, 0, true, "sample * scale in double, rounded once to the dtype: the same bits everywhere"};
    case Op::replayed_step:
      return {0, 0, true, "the same kernels as the op-by-op step; only who issues them differs"};
    case Op::narrow_step:  // f32 only: the fused step is an fp32 kernel
      return {1e-5, 1e-4, false,
              "a chain of float GEMMs (each 1e-4 relative, K <= 784) and the loss, each layer's error carried by "
              "Lipschitz <= 1 epilogues; dz and db scale with 1/batch, so 1e-5 absolute where they cancel to ~0"};
  }
  return {};
}

const char* act_name(int32_t act) {
  static const char* const kNames[] = {"identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax"};
  return act >= 0 && act <= ops::kSoftmax ? kNames[act] : "?";
}

std::string OpCase::shape() const {
  std::string s;
  switch (op) {
    case Op::loss: s = "M=" + std::to_string(M) + " N=" + std::to_string(N); break;
    case Op::optimizer: s = "N=" + std::to_string(N); break;
    case Op::replayed_step: s = "64-32-16-10 batch 40"; break;
    case Op::narrow_step:
      for (int64_t w : widths) s += (s.empty() ? "" : "-") + std::to_string(w);
      s += " batch " + std::to_string(M);
      break;
    default: s = "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K);
  }
  return model.empty() ? s : s + " (" + model + ")";
}

namespace {


double alpha_of(int32_t act) { return act == ops::kLeakyReLU ? 0.02 : act == ops::kELU ? 0.8 : 0; }

OpCase linear(Op op, int64_t M, int64_t N, int64_t K, int32_t act, double alpha, double p, bool bias) {
  static const char* const kOpName[] = {"linear_act_forward", "linear_backward_data", "linear_backward_weight",
                                        "linear_backward"};
  OpCase c;
  c.op = op;
  c.M = M, c.N = N, c.K = K, c.act = act, c.alpha = alpha, c.dropout_p = p, c.bias = bias;
  c.name = kOpName[static_cast<int>(op)];
  if (op != Op::backward_weight) c.name += std::string(" ") + act_name(act);
  if (p > 0) c.name += " dropout " + std::to_string(p).substr(0, 3);
  if (op != Op::backward_data && !bias) c.name += " no bias";
  return c;
}

OpCase loss(LossKind kind, int32_t out_act, int64_t rows, int64_t cols, double lo, double hi, bool grad) {
  OpCase c;
  c.op = Op::loss;
  c.loss = static_cast<int32_t>(kind);
  c.act = out_act, c.alpha = alpha_of(out_act), c.M = rows, c.N = cols, c.lo = lo, c.hi = hi, c.want_grad = grad;
  c.name = std::string("loss ") + loss_name(kind);
  if (out_act != ops::kIdentity) c.name += std::string(" after ") + act_name(out_act);
  char range[48];
  std::snprintf(range, sizeof range, ", y in [%g, %g]", lo, hi);
  c.name += range;
  if (!grad) c.name += ", value only";
  return c;
}

OpCase linear_loss(LossKind kind, int32_t act, int64_t M, int64_t N, int64_t K) {
  OpCase c;
  c.op = Op::linear_loss;
  c.loss = static_cast<int32_t>(kind);
  c.M = M, c.N = N, c.K = K, c.act = act, c.alpha = alpha_of(act);
  c.name = std::string("linear_loss_forward ") + act_name(act) + " " + loss_name(kind);
  return c;
}

OpCase optimizer(const Optimizer& o, int64_t n) {
  OpCase c;
  c.op = Op::optimizer;
  c.optimizer = o, c.N = n;
  c.name = std::string("optimizer ") + optimizer_name(o.kind);
  if (o.momentum > 0) c.name += o.nesterov ? " nesterov" : " momentum";
  if (o.weight_decay > 0) c.name += o.kind == OptimizerKind::AdamW ? " decoupled decay" : " l2";
  if (o.l1 > 0) c.name += " l1";
  return c;
}

// The small and odd shapes: 1, odd sizes, widths not multiples of 32.
void small_cases(std::vector<OpCase>& out) {
  struct Shape { int64_t M, N, K; };
  const Shape shapes[] = {{1, 1, 1}, {1, 5, 3}, {3, 1, 7}, {7, 13, 5}, {17, 33, 31}, {33, 65, 129}, {9, 10, 2}, {50, 32, 64}};
  int round = 0;
  for (const Shape& s : shapes) {
    for (int32_t act = ops::kIdentity; act <= ops::kSoftmax; ++act) {
      const int turn = round + act;
      out.push_back(linear(Op::forward, s.M, s.N, s.K, act, alpha_of(act), turn % 3 == 0 ? 0.3 : 0, turn % 2 == 0));
      if (act != ops::kSoftmax)  // softmax is only ever the output: no input gradient through it
        out.push_back(linear(Op::backward_data, s.M, s.N, s.K, act, alpha_of(act), turn % 2 ? 0.5 : 0, true));
    }
    out.push_back(linear(Op::backward_weight, s.M, s.N, s.K, 0, 0, 0, round % 2 == 0));
    // Both gradients in one op, the previous layer's activation turning with the shape.
    const int32_t prev_act = round % ops::kSoftmax;
    out.push_back(linear(Op::backward, s.M, s.N, s.K, prev_act, alpha_of(prev_act), round % 2 ? 0.5 : 0, round % 3 != 0));
    ++round;
  }
  using enum LossKind;
  struct L { LossKind kind; int32_t act; double lo, hi; };
  const L losses[] = {{CrossEntropy, ops::kIdentity, -50, 50}, {CrossEntropy, ops::kIdentity, -3, 3},
                      {BCE, ops::kSigmoid, 0.02, 0.98},         {BCE, ops::kIdentity, 0.02, 0.98},
                      {MSE, ops::kIdentity, -2, 2},             {MSE, ops::kSoftmax, 0.01, 1},
                      {MSESum, ops::kTanh, -0.9, 0.9},          {HalfSSE, ops::kSigmoid, 0.02, 0.98},
                      {HalfSSE, ops::kELU, -0.5, 2}};
  for (const L& l : losses) {
    out.push_back(loss(l.kind, l.act, 1, 1, l.lo, l.hi, true));
    out.push_back(loss(l.kind, l.act, 7, 33, l.lo, l.hi, true));
    out.push_back(loss(l.kind, l.act, 5, 300, l.lo, l.hi, false));
  }
  // The cpu device's float cross-entropy works on blocks of 64 rows (and
  // without the gradient, on up to 64 columns): batches around a block.
  for (auto [rows, cols, grad] : {std::tuple{63, 64, true}, {64, 1, true}, {65, 10, true}, {65, 64, false}, {130, 10, false}})
    out.push_back(loss(CrossEntropy, ops::kIdentity, rows, cols, -8, 8, grad));
  // The loss fused into the output layer's GEMM (<= 32 columns on cuda/sim):
  // 1 and 32 columns, a split K (300 over few tiles), a softmax output's
  // logits normalised by the loss; 40 columns take the two launches.
  for (auto [kind, act, M, N, K] : {std::tuple{CrossEntropy, ops::kIdentity, 7, 10, 33}, {MSE, ops::kSoftmax, 9, 10, 5},
                                    {BCE, ops::kSigmoid, 1, 1, 3}, {HalfSSE, ops::kTanh, 33, 32, 300},
                                    {CrossEntropy, ops::kIdentity, 100, 10, 300}, {MSESum, ops::kIdentity, 5, 40, 7}})
    out.push_back(linear_loss(kind, act, M, N, K));
  Optimizer sgd_l2 = Optimizer::sgd(0.1), adam_l1 = Optimizer::adam(0.01);
  sgd_l2.weight_decay = 0.01;
  sgd_l2.l1 = 0.001;
  adam_l1.l1 = 0.01;
  Optimizer momentum_l2 = sgd_l2;  // the velocity carries the penalties' gradient too
  momentum_l2.momentum = 0.9;
  for (const Optimizer& o : {Optimizer::sgd(0.1), sgd_l2, Optimizer::sgd(0.1, 0.9), Optimizer::sgd(0.1, 0.5, true),
                             momentum_l2, Optimizer::adam(0.01), Optimizer::adam(0.01, 0.05),
                             Optimizer::adamw(0.01, 0.05), adam_l1})
    out.push_back(optimizer(o, 1001));
  for (bool u8 : {true, false})
    for (bool labels : {true, false}) {
      OpCase c;
      c.op = Op::gather;
      c.M = 37, c.N = 29, c.K = 300, c.samples_u8 = u8, c.labels = labels;
      c.name = std::string("gather_batch ") + (u8 ? "uint8" : "float") + " samples, " + (labels ? "labels" : "target table");
      out.push_back(c);
    }
}

// Every op of one training step of each seed model, at its real shapes.
void seed_model_cases(std::vector<OpCase>& out) {
  for (const SeedModel& m : seed_models()) {
    const Plan plan = Plan::compile(m.spec);
    const int64_t B = m.batch;
    for (std::size_t i = 0; i < plan.layers.size(); ++i) {
      const FusedLayer& l = plan.layers[i];
      const std::string tag = m.name + "." + std::to_string(i + 1);
      out.push_back(linear(Op::forward, B, l.out, l.in, l.act, l.alpha, l.dropout_p, l.bias));
      out.back().model = tag;
      // The backward op the step issues: the first layer's weight gradient,
      // both gradients in one op for the others (the separate ops are rows of
      // the small shapes).
      if (i > 0) {
        const FusedLayer& prev = plan.layers[i - 1];
        out.push_back(linear(Op::backward, B, l.out, l.in, prev.act, prev.alpha, prev.dropout_p, l.bias));
      } else {
        out.push_back(linear(Op::backward_weight, B, l.out, l.in, 0, 0, 0, l.bias));
      }
      out.back().model = tag;
    }
    const int32_t out_act = plan.layers.back().act;
    const bool probs = plan.loss == LossKind::BCE;
    out.push_back(loss(plan.loss, out_act, B, plan.outputs, probs ? 0.02 : -4, probs ? 0.98 : 4, true));
    out.back().model = m.name;
    const FusedLayer& last = plan.layers.back();  // the op a step issues where the loss fuses into it
    out.push_back(linear_loss(plan.loss, out_act, B, last.out, last.in));
    out.back().model = m.name + "." + std::to_string(plan.layers.size());
    out.push_back(optimizer(m.optimizer, plan.param_count));
    out.back().model = m.name;
  }
}

}  // namespace

std::vector<OpCase> op_cases(const Backend& device, Precision precision) {
  std::vector<OpCase> base;
  small_cases(base);
  seed_model_cases(base);
  OpCase replay;
  replay.op = Op::replayed_step;
  replay.name = "replayed_step dropout adam, against the op-by-op step";
  std::vector<OpCase> out;
  if (precision != Precision::FP32) {
    for (OpCase c : base) {
      const bool linear = c.op == Op::forward || c.op == Op::backward_data || c.op == Op::backward_weight ||
                          c.op == Op::backward;
      if (!linear || (c.op == Op::forward && c.act == ops::kStep)) continue;
      c.precision = precision;
      out.push_back(std::move(c));
    }
    return out;
  }
  for (DType dt : {DType::F32, DType::F64}) {
    if (!device.supports(dt)) continue;
    for (OpCase c : base) {
      c.dtype = dt;
      out.push_back(std::move(c));
    }
  }
  if (device.offers_narrow_step(DType::F32)) narrow_step_cases(out);
  if (device.can_record()) out.push_back(replay);
  return out;
}

}  // namespace cumlp::opcheck
