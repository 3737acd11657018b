// Training-step benchmarks of the seed models through the public Network
// API, with synthetic seeded data of each model's shapes. Besides the time,
// each step's allocations and host syncs are counted (Backend's process-wide
// counters, and the caller's heap counter when given) over a run of steps.
#include <algorithm>

#include "cumlp/network.h"
#include "cumlp/profile.h"
#include "host/bench/engine.h"
#include "host/opcheck/seed_models.h"
#include "host/shared/error_macros.h"
#include "host/shared/rng.h"

namespace cumlp::bench {

namespace {

// A dataset of `batches` batches of the model's shapes, as Trainer::fit
// holds one on the device: float inputs uniform in [-1, 1]; class labels, or
// 0/1 targets for BCE.
Dataset synthetic_data(const SeedModel& m, int64_t batches, uint64_t seed) {
  const int64_t rows = m.batch * batches, in = m.spec.input_features(), out = m.spec.output_features();
  std::vector<float> x(static_cast<std::size_t>(rows * in));
  for (std::size_t e = 0; e < x.size(); ++e)
    x[e] = static_cast<float>(2.0 * rng::uniform01(rng::bits(seed, rng::kUser, 20, e)) - 1.0);
  const bool cls = loss_takes_classes(m.spec.loss_kind());
  const int classes = static_cast<int>(std::max<int64_t>(out, 2));
  std::vector<int32_t> labels(static_cast<std::size_t>(rows));
  for (std::size_t e = 0; e < labels.size(); ++e)
    labels[e] = static_cast<int32_t>(rng::below(seed, rng::kUser, 21, e, static_cast<uint64_t>(classes)));
  Dataset d(std::move(x), {in}, 1.0, labels, classes, {}, "synthetic " + m.name);
  if (!cls) {
    std::vector<float> t(static_cast<std::size_t>(rows * out));
    for (std::size_t e = 0; e < t.size(); ++e) t[e] = static_cast<float>(rng::below(seed, rng::kUser, 22, e, 2));
    d.set_targets(std::move(t), out);
  }
  return d;
}

StepResult bench_model(const Device& device, const DevicePeak& peak, const Timing& t, const BenchOptions& o,
                       const SeedModel& m) {
  Network net(m.spec, m.optimizer, {.device = device, .dtype = DType::F32, .seed = o.seed, .max_batch = m.batch, .precision = o.precision});
  // The path Trainer::fit takes: the data set on the device, each batch's
  // rows gathered there (four batches in turn, as a shuffled epoch would).
  constexpr int64_t kBatches = 4;
  net.upload_dataset(synthetic_data(m, kBatches, o.seed));
  std::vector<std::vector<int64_t>> rows(kBatches);
  for (int64_t b = 0; b < kBatches; ++b)
    for (int64_t i = 0; i < m.batch; ++i) rows[static_cast<std::size_t>(b)].push_back(b * m.batch + i);
  int64_t next = 0;
  const auto step = [&] { net.queue_train_step(rows[static_cast<std::size_t>(next++ % kBatches)]); };
  StepResult r;
  r.model = m.name;
  r.description = detail::concat(m.spec.describe(), ", ", m.optimizer.describe(), ", batch ", m.batch);
  r.batch = m.batch;
  // Steps are queued as Trainer::fit queues them (after the gather): the first two are outside
  // the counts (the first runs op by op, the second is recorded on devices
  // that replay), and the loss sum is read once per timed sample.
  step();
  step();

  const int counted = t.once ? 1 : 20;
  const int64_t a0 = Backend::allocations_total(), s0 = Backend::host_syncs_total();
  const int64_t h0 = o.heap_allocations ? o.heap_allocations() : 0;
  for (int i = 0; i < counted; ++i) step();
  r.allocations_per_step = static_cast<double>(Backend::allocations_total() - a0) / counted;
  r.host_syncs_per_step = static_cast<double>(Backend::host_syncs_total() - s0) / counted;
  if (o.heap_allocations) r.host_allocations_per_step = static_cast<double>(o.heap_allocations() - h0) / counted;
  (void)net.take_losses();

  const Stats s = time_calls(t, step, [&] { (void)net.take_losses(); });
  r.us_per_step = s.median_us;
  r.p10_us = s.p10_us;
  r.p90_us = s.p90_us;
  r.samples_per_second = static_cast<double>(m.batch) / (s.median_us * 1e-6);
  r.launches_per_step = net.launches_per_step();
  r.peak_memory_bytes = net.device_bytes();
  const Cost c = step_cost(Plan::compile(m.spec), m.optimizer.kind, m.batch, sizeof(float));
  r.bytes_per_step = c.bytes;
  r.flops_per_step = c.flops;
  r.roofline_floor_us = floor_us(peak, c, r.launches_per_step);
  if (device.type == "sim" && kernel_tracing_built()) {
    // The same step counted on the traced kernels; the figures are modelled, not timed.
    r.modelled_h100_us = profile_step(device, {.model = m.name, .gpu = "h100", .seed = o.seed, .precision = o.precision}).modelled_step_us;
    r.modelled_a100_us = profile_step(device, {.model = m.name, .gpu = "a100", .seed = o.seed, .precision = o.precision}).modelled_step_us;
  }
  return r;
}

}  // namespace

std::pair<Tensor, Tensor> synthetic_batch(const SeedModel& m, uint64_t seed) {
  const Dataset d = synthetic_data(m, 1, seed);
  std::vector<int64_t> rows(static_cast<std::size_t>(m.batch));
  for (int64_t i = 0; i < m.batch; ++i) rows[static_cast<std::size_t>(i)] = i;
  Tensor x({m.batch, d.features()});
  d.gather(rows.data(), m.batch, x.data<float>());
  if (loss_takes_classes(m.spec.loss_kind())) {
    Tensor y({m.batch});
    for (int64_t i = 0; i < m.batch; ++i) y.set(i, d.labels()[static_cast<std::size_t>(i)]);
    return {std::move(x), std::move(y)};
  }
  Tensor y({m.batch, m.spec.output_features()});
  d.gather_targets(rows.data(), m.batch, y.data<float>());
  return {std::move(x), std::move(y)};
}

void check_models(const std::vector<std::string>& names) {
  const std::vector<SeedModel> all = seed_models();
  for (const std::string& want : names)
    CUMLP_CHECK(std::any_of(all.begin(), all.end(), [&](const SeedModel& m) { return m.name == want; }),
                "unknown bench model '", want, "' (expected A, B, C or D)");
}

std::vector<StepResult> bench_steps(const Device& device, const DevicePeak& peak, const Timing& t,
                                    const BenchOptions& options) {
  const std::vector<SeedModel> all = seed_models();
  std::vector<StepResult> out;
  for (const SeedModel& m : all)
    if (options.models.empty() || std::find(options.models.begin(), options.models.end(), m.name) != options.models.end())
      out.push_back(bench_model(device, peak, t, options, m));
  return out;
}

}  // namespace cumlp::bench
