// `cumlp check [--device D]`: every backend op on the device against the CPU
// reference (cumlp::check_kernels); prints the table (or with --json
// {"device", "checks": [...], "passed"}) and fails when any check does.
#include <cstdio>

#include "cli.h"
#include "cumlp/check.h"
#include "cumlp/error.h"

namespace cumlp::cli {

namespace {

void add_check(CLI::App& app, Output& out) {
  auto* cmd = app.add_subcommand("check", "Check every kernel of a device against the CPU reference");
  static std::string device = "auto";
  cmd->add_option("--device", device, device_help())->capture_default_str();
  cmd->callback([&out] {
    const Device d = Device::parse(device);
    const std::vector<KernelCheck> checks = check_kernels(d);
    nlohmann::json rows = nlohmann::json::array();
    std::ostream& os = out.human();
    int failed = 0;
    os << "kernel checks on " << d.name() << " (f32 against the double reference)\n";
    for (const KernelCheck& c : checks) {
      failed += !c.pass;
      rows.push_back({{"op", c.op}, {"shape", c.shape}, {"max_abs_err", c.max_abs_err},
                      {"max_rel_err", c.max_rel_err}, {"tolerance", c.tolerance}, {"pass", c.pass}});
      char line[256];
      std::snprintf(line, sizeof line, "  %-40s %-22s abs %9.2e  rel %9.2e  tol %7.1e  %s\n", c.op.c_str(),
                    c.shape.c_str(), c.max_abs_err, c.max_rel_err, c.tolerance, c.pass ? "ok" : "FAIL");
      os << line;
    }
    os << (checks.size() - failed) << " of " << checks.size() << " checks passed\n";
    out.report = {{"device", d.name()}, {"checks", rows}, {"passed", failed == 0}};
    if (failed == 0) return;
    // main prints the report only on success: print it here, then fail.
    if (out.json) std::cout << out.report.dump(2) << std::endl;
    throw Error(std::to_string(failed) + " of " + std::to_string(checks.size()) + " kernel checks failed on " +
                d.name());
  });
}

}  // namespace

CUMLP_CLI_COMMAND(75, add_check);

}  // namespace cumlp::cli
