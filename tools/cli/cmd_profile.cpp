// `cumlp profile --device sim [--model A|B|C|D] [--gpu h100|a100] [--json]`: one
// training step of a seed model counted kernel by kernel on the access-traced
// simulator, with each kernel's MODELLED time on the GPU (include/cumlp/profile.h).
// With --json: model, gpu, kernels[] (sector_efficiency, bank_conflicts,
// occupancy, lds_per_fma, flops, tensor_flops, modelled_us, bound, ...),
// modelled_step_us, assumptions.
#include <cstdio>

#include "cli.h"
#include "cumlp/error.h"
#include "cumlp/profile.h"

namespace cumlp::cli {

namespace {

struct ProfileArgs {
  std::string device = "sim";
  std::string precision = "fp32";
  ProfileOptions options;
};

nlohmann::json to_json(const ProfileReport& r) {
  nlohmann::json kernels = nlohmann::json::array();
  for (const ProfiledKernel& k : r.kernels)
    kernels.push_back({{"name", k.name},
                       {"shape", k.shape},
                       {"grid_block", k.grid_block},
                       {"launches", k.launches},
                       {"blocks_per_launch", k.blocks_per_launch},
                       {"regs_per_thread", k.regs_per_thread == 0 ? nlohmann::json() : nlohmann::json(k.regs_per_thread)},
                       {"smem_per_block", k.smem_per_block},
                       {"occupancy", k.occupancy},
                       {"occupancy_limit", k.occupancy_limit},
                       {"waves", k.waves},
                       {"global_load_requests", k.global_load_requests},
                       {"global_store_requests", k.global_store_requests},
                       {"global_bytes", k.global_bytes},
                       {"footprint_bytes", k.footprint_bytes},
                       {"memory_level", k.memory_level},
                       {"sectors_per_request", k.sectors_per_request},
                       {"sector_efficiency", k.sector_efficiency},
                       {"shared_requests", k.shared_requests},
                       {"shared_wavefronts", k.shared_wavefronts},
                       {"bank_conflicts", k.bank_conflicts},
                       {"barriers", k.barriers},
                       {"lds_per_fma", k.lds_per_fma},
                       {"flops", k.flops},
                       {"tensor_flops", k.tensor_flops},
                       {"memory_us", k.memory_us},
                       {"smem_us", k.smem_us},
                       {"compute_us", k.compute_us},
                       {"launch_us", k.launch_us},
                       {"modelled_us", k.modelled_us},
                       {"bound", k.bound}});
  return {{"model", r.model},
          {"description", r.description},
          {"gpu", r.gpu},
          {"gpu_description", r.gpu_description},
          {"times", "modelled, not measured"},
          {"kernels", kernels},
          {"modelled_step_us", r.modelled_step_us},
          {"modelled_step_graph_us", r.modelled_step_graph_us},
          {"registers", r.registers_note},
          {"assumptions", r.assumptions}};
}

void print_table(const ProfileReport& r, std::ostream& os) {
  char line[400];
  os << "model " << r.model << ": " << r.description << "\n"
     << "counted on the simulator; times MODELLED for " << r.gpu_description << " (not measured)\n\n";
  std::snprintf(line, sizeof line, "%-40s %-13s %-22s %4s %5s %9s %10s %3s %6s %8s %8s %7s %9s %9s %10s %-7s\n",
                "kernel", "shape", "grid x block", "lnch", "regs", "occupancy", "global B", "mem", "sector%",
                "conflicts", "LDS/FMA", "waves", "flops", "TC flops", "model us", "bound");
  os << line;
  for (const ProfiledKernel& k : r.kernels) {
    const std::string regs = k.regs_per_thread ? std::to_string(k.regs_per_thread) : "?";
    std::snprintf(line, sizeof line,
                  "%-40s %-13s %-22s %4lld %5s %8.0f%% %10llu %3s %6.1f%% %9llu %8.2f %7.2f %9.3g %9.3g %10.2f %-7s\n",
                  k.name.c_str(), k.shape.c_str(), k.grid_block.c_str(), static_cast<long long>(k.launches),
                  regs.c_str(), 100 * k.occupancy, static_cast<unsigned long long>(k.global_bytes),
                  k.memory_level.c_str(), 100 * k.sector_efficiency,
                  static_cast<unsigned long long>(k.bank_conflicts), k.lds_per_fma, k.waves, k.flops, k.tensor_flops, k.modelled_us,
                  k.bound.c_str());
    os << line;
  }
  std::snprintf(line, sizeof line, "\nmodelled step: %.2f us on %s (%.2f us replayed as a CUDA graph)\n",
                r.modelled_step_us, r.gpu_description.c_str(), r.modelled_step_graph_us);
  os << line << r.registers_note << "\nmodel: time = max(global bytes / (HBM x copy efficiency), or at L2 "
     << "bandwidth when the launch's distinct sectors fit the L2; smem wavefronts at 1/clock on the busiest SM; "
     << "counted flops at the SM's FP32 share + counted tensor-core (TC) flops at its TF32 dense share) + launch\n";
  for (const std::string& a : r.assumptions) os << "  " << a << "\n";
}

void add_profile(CLI::App& app, Output& out) {
  static ProfileArgs a;
  auto* cmd = app.add_subcommand(
      "profile", "Count one training step's memory traffic per kernel on the simulator and model its GPU time");
  cmd->add_option("--device", a.device, "Only sim: the simulator counts every access")->capture_default_str();
  cmd->add_option("--model", a.options.model, "Seed model: A, B, C or D")->capture_default_str();
  cmd->add_option("--gpu", a.options.gpu, "The modelled GPU: h100 or a100")->capture_default_str();
  cmd->add_option("--precision", a.precision, precision_help())->capture_default_str();
  cmd->add_option("--seed", a.options.seed, "Seed of the synthetic batch and the weights (the counts depend on the shapes only)")->capture_default_str();
  cmd->callback([&out] {
    const Device device = Device::parse(a.device);
    if (device.type != "sim")
      throw cumlp::Error("--device " + a.device + ": profile counts every memory access on the simulator; use --device sim");
    a.options.precision = precision_flag(a.precision, device);
    const ProfileReport r = profile_step(device, a.options);
    out.report = to_json(r);
    out.report["device"] = device.name();
    out.report["precision"] = precision_name(a.options.precision);
    out.report["seed"] = a.options.seed;  // the counts do not depend on the values, only on the shapes
    print_table(r, out.human());
  });
}

}  // namespace

CUMLP_CLI_COMMAND(72, add_profile);

}  // namespace cumlp::cli
