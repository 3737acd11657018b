// Kernel benchmarks: the op table's seed-model rows (host/opcheck: every op
// of one training step of models A-D at their real shapes, f32), each first
// validated against the plain reference with the table's comparison and
// tolerance; only a row that passes is timed, on the same buffers.
#include "cumlp/model.h"
#include "host/bench/engine.h"
#include "host/cpu/reference/reference_backend.h"
#include "host/opcheck/runner.h"

namespace cumlp::bench {

namespace {

using opcheck::Op;

// The declared traffic and arithmetic of a table row's op.
Cost cost_of(const opcheck::OpCase& c) {
  const std::size_t e = sizeof(float);
  switch (c.op) {
    case Op::forward: return forward_cost(c.M, c.N, c.K, c.bias, c.dropout_p > 0, e);
    case Op::backward_data: return backward_data_cost(c.M, c.N, c.K, e);
    case Op::backward_weight: return backward_weight_cost(c.M, c.N, c.K, c.bias, e);
    case Op::backward: {
      Cost both = backward_data_cost(c.M, c.N, c.K, e);
      both += backward_weight_cost(c.M, c.N, c.K, c.bias, e);
      return both;
    }
    case Op::loss: return loss_cost(c.M, c.N, loss_takes_classes(static_cast<LossKind>(c.loss)), e);
    case Op::linear_loss: {  // declared as the two ops it fuses
      Cost both = forward_cost(c.M, c.N, c.K, c.bias, false, e);
      both += loss_cost(c.M, c.N, loss_takes_classes(static_cast<LossKind>(c.loss)), e);
      return both;
    }
    case Op::optimizer: return optimizer_cost(c.optimizer.kind, c.N, e);
    case Op::narrow_step: {  // declared as the per-layer ops it fuses
      Cost all = loss_cost(c.M, c.widths.back(), loss_takes_classes(static_cast<LossKind>(c.loss)), e);
      for (std::size_t l = 0; l + 1 < c.widths.size(); ++l) {
        const int64_t in = c.widths[l], n = c.widths[l + 1];
        const bool drop = c.dropout_p > 0 && l + 2 < c.widths.size();
        all += forward_cost(c.M, n, in, true, drop, e);
        all += backward_weight_cost(c.M, n, in, true, e);
        if (l > 0) all += backward_data_cost(c.M, n, in, e);
      }
      return all;
    }
    default: return {};
  }
}

}  // namespace

std::vector<KernelResult> bench_kernels(Backend& device, const DevicePeak& peak, const Timing& t, Precision precision) {
  std::unique_ptr<Backend> ref = make_reference_backend();
  std::vector<KernelResult> out;
  for (const opcheck::OpCase& c : opcheck::op_cases(device, precision)) {
    if (!c.large() || c.dtype != DType::F32 || c.op == Op::replayed_step) continue;
    opcheck::CaseRun run(c, device);
    run.issue();
    const OpCheck v = run.check(*ref).check;
    KernelResult r;
    r.name = c.name;
    r.shape = c.shape();
    const Cost cost = cost_of(c);
    r.bytes = cost.bytes;
    r.flops = cost.flops;
    r.max_abs_err = v.max_abs_err;
    r.max_rel_err = v.max_rel_err;
    r.validated = v.pass;
    if (r.validated) {
      const Stats s = time_calls(t, [&] { run.issue(); }, [&] { device.synchronize(); });
      r.median_us = s.median_us;
      r.p10_us = s.p10_us;
      r.p90_us = s.p90_us;
      r.gbps = cost.bytes / (s.median_us * 1e3);
      r.gflops = cost.flops / (s.median_us * 1e3);
      r.percent_of_peak = 100 * floor_us(peak, cost, 1) / s.median_us;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace cumlp::bench
