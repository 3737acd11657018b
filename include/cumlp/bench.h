// The benchmark suite behind `cumlp bench`: every Backend op of a device at
// the seed models' shapes (the op table's rows, cumlp/op_check.h) validated
// against the plain reference with the table's tolerances and then timed, and the training step
// of the four seed models timed through the public Network API.
//
//   cumlp::BenchReport r = cumlp::run_benchmarks(cumlp::Device::parse("cpu"), {});
//   for (const auto& s : r.steps) std::printf("%s %.1f us/step\n", s.model.c_str(), s.us_per_step);
//
// Seed models (synthetic inputs of the right shapes, seeded):
//   A  784-100-100-10 ReLU, cross-entropy, Adam(0.01), batch 100
//   B  784-500-400-300-200-100-50-10 LeakyReLU, cross-entropy, Adam, batch 256
//   C  XOR 2-10-10-10-1 sigmoid, BCE, SGD(1.0), batch 4
//   D  digits 64-32-16-10 ReLU, cross-entropy, Adam, full batch 1437
//
// Timing: warm-up, then `samples` timed samples, each repeating the op or
// step until it lasts at least `min_sample_us`; figures are the median with
// the 10th and 90th percentiles as the spread. Bytes and flops are the
// declared minimum traffic and arithmetic of each op, so GB/s, GFLOP/s and
// the roofline floor do not depend on how a backend implements it.
//
// The device's peak: on the cpu, a measured memcpy bandwidth (bytes read +
// written) and a measured OpenBLAS sgemm rate on all threads; on other
// devices, the same two figures measured through the device's own copy and
// GEMM ops. The op overhead ("launch cost") is the time of a 1x1x1 Linear
// forward. On `sim` the kernels run in a simulator: validation is real, the
// times are not, and each op and step runs only once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/export.h"

namespace cumlp {

struct BenchOptions {
  bool quick = false;           // a short run: fewer samples, smaller peak probes (for tests)
  int samples = 15;             // timed samples per op / step (quick: 5)
  double min_sample_us = 2000;  // each sample repeats until it lasts this long (quick: 300)
  uint64_t seed = 777;          // training steps: inputs, targets and network init (kernel rows use the table's seed)
  /// The GEMM arithmetic of the kernel rows and the steps (cumlp/tensor.h);
  /// TF32 / TF32x3 only on cuda and sim (else run_benchmarks throws Error),
  /// whose kernel rows are then the linear ops at that precision.
  Precision precision = Precision::FP32;
  bool kernels = true;          // false: only the peak probes and the training steps
  /// Models to run, from "A", "B", "C", "D" (empty: all four).
  std::vector<std::string> models;
  /// Optional: the process's count of host heap allocations so far (for
  /// example a counting operator new in the calling program). When set,
  /// StepResult::host_allocations_per_step is measured; else it is -1.
  int64_t (*heap_allocations)() = nullptr;
};

/// What the device can do at best, as used for percent-of-peak and floors.
struct DevicePeak {
  std::string device;           // "cpu", "sim", "cuda:0"
  std::string description;      // how the figures were obtained
  double bandwidth_gbps = 0;    // memory bandwidth, bytes read + written per second / 1e9
  double gflops = 0;            // fp32 GEMM rate
  double launch_us = 0;         // fixed cost of one op (1x1x1 Linear forward)
  int threads = 0;              // BLAS threads (cpu)
};

struct KernelResult {
  std::string name;             // the table row: op and activation, e.g. "linear_act_forward relu"
  std::string shape;            // e.g. "M=100 N=100 K=784 (A.1)": the seed model layer
  double median_us = 0, p10_us = 0, p90_us = 0;
  double bytes = 0, flops = 0;  // declared per call
  double gbps = 0, gflops = 0;
  /// Roofline floor of the op (max of bytes/bandwidth and flops/peak, plus the
  /// op overhead) over the measured median, in percent.
  double percent_of_peak = 0;
  double max_abs_err = 0, max_rel_err = 0;  // against the plain reference
  bool validated = false;       // every element within the table's atol + rtol * |ref|
};

struct StepResult {
  std::string model;            // "A", "B", "C", "D"
  std::string description;      // layers, activation, loss, optimizer, batch
  int64_t batch = 0;
  double us_per_step = 0, p10_us = 0, p90_us = 0;
  double samples_per_second = 0;
  int launches_per_step = 0;
  double host_syncs_per_step = 0;        // device-to-host reads (the loss) per step, counted
  double allocations_per_step = 0;       // device allocations per step, counted
  double host_allocations_per_step = -1; // host heap allocations per step (-1: not measured)
  int64_t peak_memory_bytes = 0;         // device memory held by the network
  double bytes_per_step = 0, flops_per_step = 0;  // declared, summed over the step's ops
  /// bytes / bandwidth + flops / peak + launches x op overhead.
  double roofline_floor_us = 0;
  /// On `sim` with the traced kernels: the step's MODELLED time on an H100 SXM5 and
  /// on an A100 SXM4 from its counted traffic (cumlp/profile.h); 0 elsewhere. Not measured.
  double modelled_h100_us = 0, modelled_a100_us = 0;
};

struct BenchReport {
  DevicePeak peak;
  std::vector<KernelResult> kernels;
  std::vector<StepResult> steps;
};

/// Runs the suite on `device`. Throws Error for an unknown model name or a
/// device this build cannot run. A kernel that fails validation is reported
/// (validated = false, not timed), never thrown.
CUMLP_API BenchReport run_benchmarks(const Device& device, const BenchOptions& options = {});

}  // namespace cumlp
