// `cumlp profile`: one training step of a seed model on the access-traced
// simulator, its launches grouped per kernel and modelled on a GPU by the one
// cost model (host/bench/cost.cpp). The step is the executor's first, as
// Trainer::fit issues it; the counts follow from the code and the launch
// shapes, so they are the same on every run and every schedule.
#include "cumlp/profile.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "host/bench/engine.h"
#include "host/executor/executor.h"
#include "host/profile/kernel_resources.h"
#include "host/shared/error_macros.h"
#include "host/shared/kernel_trace.h"

namespace cumlp {

namespace {

const SeedModel& find_model(const std::vector<SeedModel>& all, const std::string& name) {
  for (const SeedModel& m : all)
    if (m.name == name) return m;
  CUMLP_THROW("unknown model '", name, "' for profile (expected A, B, C or D)");
}

// Runs one step of `m` on the traced backend and returns its launches in order.
std::vector<KernelCounters> traced_step(const SeedModel& m, uint64_t seed, Precision precision) {
  std::unique_ptr<Backend> backend = make_traced_sim_backend();
  backend->set_precision(precision);
  Executor exec(Plan::compile(m.spec), m.optimizer, std::move(backend), DType::F32, seed, m.batch);
  const auto [x, y] = bench::synthetic_batch(m, seed);
  std::vector<int32_t> classes;
  if (loss_takes_classes(m.spec.loss_kind()))
    for (int64_t i = 0; i < y.numel(); ++i) classes.push_back(static_cast<int32_t>(y.at(i)));
  exec.load_batch(m.batch, x.raw(), classes.empty() ? y.raw() : static_cast<const void*>(classes.data()));
  KernelTrace trace;
  exec.queue_step(m.batch);
  (void)exec.take_losses();
  return trace.launches();
}

std::string demangle(const char* symbol) {
  int status = 0;
  char* text = abi::__cxa_demangle(symbol, nullptr, nullptr, &status);
  std::string name = status == 0 && text ? text : symbol;
  std::free(text);
  return name;
}

// ptxas's figures for the kernel a traced launch ran (null when this build has
// none). Launchers name the GEMM `gemm` and elementwise kernels `kernel`; the
// GEMM's instantiations differ by epilogue, which the launching op decides.
const KernelResources* resources_of(const KernelCounters& k, int arch) {
  // Every layer's weight gradients in one launch (the narrow step) run the GEMM's grouped kernel.
  const std::string gemm = k.op == "linear_backward_weights" ? "gemm_group_kernel" : "gemm_kernel";
  const std::string base = k.kernel == "gemm" ? gemm : k.kernel == "kernel" ? k.op + "_kernel" : k.kernel;
  const char* epilogue = k.op == "linear_act_forward"     ? "ForwardEpilogue"
                         : k.op == "linear_loss_forward"  ? "LossEpilogue"
                         : k.op == "linear_backward_data" ? "BackwardDataEpilogue"
                                                          : "StoreEpilogue";
  for (const KernelResources& r : compiled_kernel_resources()) {
    if (r.arch != arch) continue;
    const std::string name = demangle(r.mangled);
    if (name.find("::" + base + "(") == std::string::npos && name.find("::" + base + "<") == std::string::npos)
      continue;
    if (k.kernel == "gemm" && name.find(epilogue) == std::string::npos) continue;
    return &r;
  }
  return nullptr;
}

std::string dims(const unsigned (&d)[3]) {
  return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

std::string kernel_name(const KernelCounters& k) {
  // Elementwise launchers name their kernel parameter `kernel`: the op says it all.
  if (k.op.empty()) return k.kernel;
  return k.kernel == "kernel" ? k.op : k.op + "/" + k.kernel;
}

void add_row(ProfiledKernel& row, const KernelCounters& k, const bench::Occupancy& occ, const bench::ModelledTime& t) {
  row.launches += static_cast<int64_t>(k.launches);
  row.blocks_per_launch = static_cast<int64_t>(k.blocks / std::max<uint64_t>(k.launches, 1));
  row.smem_per_block = k.static_smem + k.dynamic_smem;
  row.occupancy = occ.fraction;
  row.occupancy_limit = occ.limit;
  row.waves = occ.waves;
  row.global_load_requests += k.global_load.requests;
  row.global_store_requests += k.global_store.requests;
  row.global_bytes += k.global_bytes();
  row.footprint_bytes += 32 * k.footprint_sectors;
  const char* level = t.l2_resident ? "L2" : "HBM";
  row.memory_level = row.memory_level.empty() || row.memory_level == level ? level : "mixed";
  row.shared_requests += k.shared_load.requests + k.shared_store.requests;
  row.shared_wavefronts += k.shared_load.units + k.shared_store.units;
  row.bank_conflicts += k.bank_conflicts();
  row.barriers += k.barriers;
  row.flops += static_cast<double>(k.flops);
  row.tensor_flops += static_cast<double>(k.tensor_flops);
  row.memory_us += t.memory_us;
  row.smem_us += t.smem_us;
  row.compute_us += t.compute_us;
  row.launch_us += t.launch_us;
  row.modelled_us += t.total_us;
}

}  // namespace

ProfileReport profile_step(const Device& device, const ProfileOptions& options) {
  CUMLP_CHECK(device.type == "sim", "profile counts memory accesses on the simulator: use the sim device (got '",
              device.type, "')");
  const bench::GpuSpec& gpu = bench::gpu_spec(options.gpu);
  const std::vector<SeedModel> models = seed_models();
  const SeedModel& m = find_model(models, options.model);
  CUMLP_CHECK(kernel_tracing_built(), "profile: this build has no access-traced kernels (they need CUMLP_SIM=ON, "
                                      "g++ and CUMLP_SANITIZE=OFF)");

  ProfileReport r;
  r.model = m.name;
  r.description = detail::concat(m.spec.describe(), ", ", m.optimizer.describe(), ", batch ", m.batch);
  r.gpu = gpu.name;
  r.gpu_description = gpu.description;
  const int arch = r.gpu == "h100" ? 90 : 80;
  std::string missing;
  r.assumptions = bench::gpu_spec_sources();
  if (options.precision != Precision::FP32)
    r.assumptions.push_back(std::string("precision ") + precision_name(options.precision) +
                            ": the WMMA GEMM's MMAs are counted as tensor flops at the TF32 dense peak" +
                            (options.precision == Precision::TF32x3 ? " (3 MMAs per product)" : "") +
                            "; its fragment loads and stores are counted as a warp's requests under an ASSUMED "
                            "lane layout (the PTX mma.m16n8k8 .tf32 fragments, one 4-byte access per element, "
                            "cuda/sim/wmma.h), as the GPU's instructions for them are not documented");

  // One row per op, op shape, kernel and launch shape, in first-launch order; each launch modelled on its own.
  std::map<std::string, std::size_t> row_of;
  std::vector<KernelCounters> totals;
  for (const KernelCounters& k : traced_step(m, options.seed, options.precision)) {
    const int threads = static_cast<int>(k.block[0] * k.block[1] * k.block[2]);
    const KernelResources* res = resources_of(k, arch);
    if (!res && !compiled_kernel_resources().empty() && missing.find(" " + kernel_name(k)) == std::string::npos)
      missing += " " + kernel_name(k);
    const int regs = res ? res->registers : 0;
    const bench::Occupancy occ = bench::occupancy(gpu, threads, k.static_smem + k.dynamic_smem, regs, k.blocks);
    const bench::ModelledTime t = bench::model_kernel(gpu, k, occ);
    const std::string name = kernel_name(k), grid_block = dims(k.grid) + " x " + dims(k.block);
    auto [it, fresh] = row_of.emplace(name + " " + k.shape + " " + grid_block, r.kernels.size());
    if (fresh) {
      r.kernels.push_back(ProfiledKernel{});
      r.kernels.back().name = name;
      r.kernels.back().shape = k.shape;
      r.kernels.back().grid_block = grid_block;
      r.kernels.back().regs_per_thread = regs;
      totals.push_back(KernelCounters{});
    }
    add_row(r.kernels[it->second], k, occ, t);
    totals[it->second] += k;
  }
  r.registers_note = "registers per thread (sm_" + std::to_string(arch) + "): " + kernel_resources_source();
  if (!missing.empty())
    r.registers_note += "; no figures for:" + missing + " (occupancy there counts threads, blocks and shared memory only)";
  else if (compiled_kernel_resources().empty())
    r.registers_note += "; occupancy counts threads, blocks and shared memory only";
  for (std::size_t i = 0; i < r.kernels.size(); ++i) {
    ProfiledKernel& row = r.kernels[i];
    const KernelCounters& k = totals[i];
    const uint64_t requests = k.global_load.requests + k.global_store.requests;
    row.sectors_per_request =
        requests ? static_cast<double>(k.global_load.units + k.global_store.units) / static_cast<double>(requests) : 0;
    row.sector_efficiency = k.sector_efficiency();
    row.lds_per_fma = k.lds_per_fma();
    const double work = std::max({row.memory_us, row.smem_us, row.compute_us});
    row.bound = row.launch_us >= work ? "launch"
                : work == row.memory_us ? "memory"
                : work == row.smem_us   ? "smem"
                                        : "compute";
    r.modelled_step_us += row.modelled_us;
    r.modelled_step_graph_us += row.modelled_us - row.launch_us + static_cast<double>(row.launches) * gpu.graph_node_us;
  }
  return r;
}

}  // namespace cumlp
