// Training-step benchmarks of the seed models through the public Network
// API, with synthetic seeded data of each model's shapes. Besides the time,
// each step's allocations and host syncs are counted (Backend's process-wide
// counters, and the caller's heap counter when given) over a run of steps.
#include <algorithm>

#include "cumlp/network.h"
#include "cumlp/profile.h"
#include "host/bench/engine.h"
#include "host/shared/error_macros.h"
#include "host/shared/rng.h"

namespace cumlp::bench {

std::vector<SeedModel> seed_models() {
  using enum Activation;
  return {
      {"A", ModelSpec::parse("784-100-100-10", ReLU, -1), Optimizer::adam(0.01), 100},
      {"B", ModelSpec::parse("784-500-400-300-200-100-50-10", LeakyReLU, -1), Optimizer::adam(), 256},
      {"C", ModelSpec::parse("2-10-10-10-1", Sigmoid, -1, Sigmoid).loss(LossKind::BCE), Optimizer::sgd(1.0), 4},
      {"D", ModelSpec::parse("64-32-16-10", ReLU, -1), Optimizer::adam(), 1437},
  };
}

// Inputs uniform in [-1, 1]; class indices, or 0/1 targets for BCE.
std::pair<Tensor, Tensor> synthetic_batch(const SeedModel& m, uint64_t seed) {
  const int64_t in = m.spec.input_features(), out = m.spec.output_features();
  Tensor x({m.batch, in});
  for (int64_t e = 0; e < x.numel(); ++e) x.set(e, 2.0 * rng::uniform01(rng::bits(seed, rng::kUser, 20, e)) - 1.0);
  const bool cls = loss_takes_classes(m.spec.loss_kind());
  Tensor y(cls ? std::vector<int64_t>{m.batch} : std::vector<int64_t>{m.batch, out});
  for (int64_t e = 0; e < y.numel(); ++e)
    y.set(e, static_cast<double>(rng::below(seed, rng::kUser, 21, e, cls ? out : 2)));
  return {std::move(x), std::move(y)};
}

namespace {

StepResult bench_model(const Device& device, const DevicePeak& peak, const Timing& t, const BenchOptions& o,
                       const SeedModel& m) {
  Network net(m.spec, m.optimizer, {.device = device, .dtype = DType::F32, .seed = o.seed, .max_batch = m.batch});
  const auto [x, y] = synthetic_batch(m, o.seed);
  StepResult r;
  r.model = m.name;
  r.description = detail::concat(m.spec.describe(), ", ", m.optimizer.describe(), ", batch ", m.batch);
  r.batch = m.batch;
  // Steps are queued as Trainer::fit queues them: the first two are outside
  // the counts (the first runs op by op, the second is recorded on devices
  // that replay), and the loss sum is read once per timed sample.
  net.queue_train_step(x, y);
  net.queue_train_step(x, y);

  const int counted = t.once ? 1 : 20;
  const int64_t a0 = Backend::allocations_total(), s0 = Backend::host_syncs_total();
  const int64_t h0 = o.heap_allocations ? o.heap_allocations() : 0;
  for (int i = 0; i < counted; ++i) net.queue_train_step(x, y);
  r.allocations_per_step = static_cast<double>(Backend::allocations_total() - a0) / counted;
  r.host_syncs_per_step = static_cast<double>(Backend::host_syncs_total() - s0) / counted;
  if (o.heap_allocations) r.host_allocations_per_step = static_cast<double>(o.heap_allocations() - h0) / counted;
  (void)net.take_losses();

  const Stats s = time_calls(t, [&] { net.queue_train_step(x, y); }, [&] { (void)net.take_losses(); });
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
    r.modelled_h100_us = profile_step(device, {.model = m.name, .gpu = "h100", .seed = o.seed}).modelled_step_us;
    r.modelled_a100_us = profile_step(device, {.model = m.name, .gpu = "a100", .seed = o.seed}).modelled_step_us;
  }
  return r;
}

}  // namespace

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
