// `cumlp bench --device D [--quick] [--steps-only] [--models A,C]`: the benchmark suite
// (include/cumlp/bench.h) as a table, or with --json one object with keys
// device, peak, kernels and steps.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>

#include "cli.h"
#include "cumlp/bench.h"
#include "cumlp/cumlp.h"

namespace {
// Host heap allocations of this process, for the allocations-per-step
// figure: the program's operator new (also the one libcumlp.so resolves to)
// counts each call. Exported so the dynamic linker binds the library to it.
std::atomic<int64_t> g_heap_allocations{0};
int64_t heap_allocations() { return g_heap_allocations.load(std::memory_order_relaxed); }
}  // namespace

// The replaced operator new takes its blocks from malloc, so the matching
// deletes give them back to free: replacing only new would pair malloc with
// the runtime's delete, which AddressSanitizer reports as a mismatch.
// noinline: inlined, GCC would pair the malloc with the library's delete.
__attribute__((visibility("default"), noinline)) void* operator new(std::size_t n) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
__attribute__((visibility("default"), noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((visibility("default"), noinline)) void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace cumlp::cli {

namespace {

struct BenchArgs {
  std::string device = "auto";
  bool quick = false, steps_only = false;
  std::optional<int> samples;  // default 15, or 5 with --quick
  std::vector<std::string> models;
  std::string precision = "fp32";
};

nlohmann::json to_json(const BenchReport& r) {
  nlohmann::json kernels = nlohmann::json::array(), steps = nlohmann::json::array();
  for (const KernelResult& k : r.kernels)
    kernels.push_back({{"name", k.name}, {"shape", k.shape}, {"median_us", k.median_us}, {"p10_us", k.p10_us},
                       {"p90_us", k.p90_us}, {"bytes", k.bytes}, {"flops", k.flops}, {"gbps", k.gbps},
                       {"gflops", k.gflops}, {"percent_of_peak", k.percent_of_peak}, {"max_abs_err", k.max_abs_err},
                       {"max_rel_err", k.max_rel_err}, {"validated", k.validated}});
  for (const StepResult& s : r.steps)
    steps.push_back({{"model", s.model}, {"description", s.description}, {"batch", s.batch},
                     {"us_per_step", s.us_per_step}, {"p10_us", s.p10_us}, {"p90_us", s.p90_us},
                     {"samples_per_second", s.samples_per_second}, {"launches_per_step", s.launches_per_step},
                     {"host_syncs_per_step", s.host_syncs_per_step}, {"allocations_per_step", s.allocations_per_step},
                     {"host_allocations_per_step", s.host_allocations_per_step},
                     {"peak_memory_bytes", s.peak_memory_bytes}, {"bytes_per_step", s.bytes_per_step},
                     {"flops_per_step", s.flops_per_step}, {"roofline_floor_us", s.roofline_floor_us},
                     {"modelled", s.modelled_h100_us > 0
                                      ? nlohmann::json{{"h100_us", s.modelled_h100_us}, {"a100_us", s.modelled_a100_us},
                                                       {"note", "modelled from counted traffic, not measured"}}
                                      : nlohmann::json()}});
  const DevicePeak& p = r.peak;
  return {{"device", p.device},
          {"peak", {{"bandwidth_gbps", p.bandwidth_gbps}, {"gflops", p.gflops}, {"launch_us", p.launch_us},
                    {"threads", p.threads}, {"description", p.description}}},
          {"kernels", kernels},
          {"steps", steps}};
}

void print_table(const BenchReport& r, std::ostream& os) {
  char line[320];
  os << "device " << r.peak.device << ": " << r.peak.description << "\n\n";
  std::snprintf(line, sizeof line, "%-32s %-28s %10s %19s %8s %9s %7s %9s %s\n", "kernel", "shape", "median us",
                "p10-p90 us", "GB/s", "GFLOP/s", "%peak", "max err", "valid");
  os << line;
  for (const KernelResult& k : r.kernels) {
    std::snprintf(line, sizeof line, "%-32s %-28s %10.2f %9.2f-%-9.2f %8.2f %9.2f %7.1f %9.2e %s\n", k.name.c_str(),
                  k.shape.c_str(), k.median_us, k.p10_us, k.p90_us, k.gbps, k.gflops, k.percent_of_peak,
                  k.max_abs_err, k.validated ? "ok" : "FAILED (not timed)");
    os << line;
  }
  std::snprintf(line, sizeof line, "\n%-5s %6s %11s %21s %12s %10s %7s %8s %6s %7s %8s %9s\n", "model", "batch",
                "us/step", "p10-p90 us", "samples/s", "floor us", "floor%", "launches", "syncs", "dallocs",
                "hallocs", "mem KiB");
  os << line;
  for (const StepResult& s : r.steps) {
    std::snprintf(line, sizeof line, "%-5s %6lld %11.2f %10.2f-%-10.2f %12.0f %10.2f %6.1f%% %8d %6.2f %7.2f %8.2f %9.1f\n",
                  s.model.c_str(), static_cast<long long>(s.batch), s.us_per_step, s.p10_us, s.p90_us,
                  s.samples_per_second, s.roofline_floor_us, 100 * s.roofline_floor_us / s.us_per_step,
                  s.launches_per_step, s.host_syncs_per_step, s.allocations_per_step, s.host_allocations_per_step,
                  static_cast<double>(s.peak_memory_bytes) / 1024);
    os << line;
  }
  os << "\nfloor = bytes/bandwidth + flops/peak + launches x op overhead; floor% = floor / measured;\n"
        "syncs, dallocs, hallocs: host syncs, device and host heap allocations per step, counted.\n";
  for (const StepResult& s : r.steps)
    if (s.modelled_h100_us > 0) {
      std::snprintf(line, sizeof line, "model %s: MODELLED (not measured) %.2f us/step on H100 SXM5, %.2f on A100 SXM4 "
                    "(cumlp profile --model %s shows the kernels)\n", s.model.c_str(), s.modelled_h100_us,
                    s.modelled_a100_us, s.model.c_str());
      os << line;
    }
}

void add_bench(CLI::App& app, Output& out) {
  static BenchArgs a;
  auto* cmd = app.add_subcommand("bench", "Benchmark every kernel (validated first) and the seed models' training steps");
  cmd->add_option("--device", a.device, device_help())->capture_default_str();
  cmd->add_flag("--quick", a.quick, "A short run (fewer and shorter samples)");
  cmd->add_flag("--steps-only", a.steps_only, "Skip the kernel benchmarks (the peak probes still run)");
  cmd->add_option("--samples", a.samples, "Timed samples per kernel and step (default 15; with --quick 5, at most 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--models", a.models, "Seed models to run: A, B, C, D (default: all)")->delimiter(',');
  cmd->add_option("--precision", a.precision, precision_help())->capture_default_str();
  cmd->callback([&out] {
    BenchOptions o;
    o.quick = a.quick;
    o.kernels = !a.steps_only;
    if (a.quick && a.samples && *a.samples > 5)
      throw Error("--samples " + std::to_string(*a.samples) + ": --quick takes at most 5 samples; drop --quick for more");
    o.samples = a.samples.value_or(a.quick ? 5 : 15);
    o.models = a.models;
    o.heap_allocations = heap_allocations;
    const Device d = Device::parse(a.device);
    o.precision = precision_flag(a.precision, d);
    const BenchReport r = run_benchmarks(d, o);
    out.report = to_json(r);
    out.report["precision"] = precision_name(o.precision);
    out.report["quick"] = a.quick;
    out.report["samples"] = o.samples;
    print_table(r, out.human());
    for (const KernelResult& k : r.kernels)
      if (!k.validated) throw Error("kernel " + k.name + " (" + k.shape + ") does not match the reference");
  });
}

}  // namespace

CUMLP_CLI_COMMAND(70, add_bench);

}  // namespace cumlp::cli
