// `cumlp check [--device D] [--precision P]`: the op-case table on the device
// against the plain reference (cumlp::check_ops); prints one row per case (or
// with --json {"device", "precision", "checks": [...], "passed"}) and fails
// when any row does. At tf32 / tf32x3 the rows are the linear ops, with that
// precision's tolerances.
#include <cstdio>

#include "cli.h"
#include "cumlp/error.h"
#include "cumlp/op_check.h"

namespace cumlp::cli {

namespace {

std::string tolerance_text(const OpCheck& c) {
  if (c.exact) return "exact";
  char t[64];
  if (c.per_term > 0) std::snprintf(t, sizeof t, "%.0e+%.0e|ref|+%.1e|ab|", c.atol, c.rtol, c.per_term);
  else std::snprintf(t, sizeof t, "%.0e+%.0e|ref|", c.atol, c.rtol);
  return t;
}

void add_check(CLI::App& app, Output& out) {
  auto* cmd = app.add_subcommand("check", "Check every op of a device against the plain reference (the test suite's op table)");
  static std::string device = "auto", precision = "fp32";
  cmd->add_option("--device", device, device_help())->capture_default_str();
  cmd->add_option("--precision", precision, precision_help())->capture_default_str();
  cmd->callback([&out] {
    const Device d = Device::parse(device);
    const Precision p = precision_flag(precision, d);
    const std::vector<OpCheck> checks = check_ops(d, p);
    nlohmann::json rows = nlohmann::json::array();
    std::ostream& os = out.human();
    int failed = 0;
    os << "op checks on " << d.name() << ", GEMMs in " << precision_name(p)
       << ", against the plain reference (double sums)\n";
    char line[512];
    std::snprintf(line, sizeof line, "  %-58s %-28s %-5s %9s %9s %-26s %s\n", "op", "shape", "dtype", "max abs",
                  "max rel", "tolerance", "pass");
    os << line;
    for (const OpCheck& c : checks) {
      failed += !c.pass;
      rows.push_back({{"name", c.name}, {"shape", c.shape}, {"dtype", c.dtype}, {"max_abs_err", c.max_abs_err},
                      {"max_rel_err", c.max_rel_err}, {"atol", c.atol}, {"rtol", c.rtol}, {"per_term", c.per_term}, {"exact", c.exact},
                      {"tolerance_reason", c.tolerance_reason}, {"precision", c.precision}, {"path", c.path}, {"pass", c.pass},
                      {"mismatches", c.mismatches}});
      const std::string name = c.path.empty() ? c.name : c.name + " [" + c.path + "]";
      std::snprintf(line, sizeof line, "  %-58s %-28s %-5s %9.2e %9.2e %-26s %s\n", name.c_str(), c.shape.c_str(),
                    c.dtype.c_str(), c.max_abs_err, c.max_rel_err, tolerance_text(c).c_str(), c.pass ? "ok" : "FAIL");
      os << line;
      if (!c.pass) os << "      " << c.mismatches << "\n";
    }
    os << (checks.size() - failed) << " of " << checks.size() << " checks passed\n";
    out.report = {{"device", d.name()}, {"precision", precision_name(p)}, {"checks", rows}, {"passed", failed == 0}};
    if (failed == 0) return;
    // main prints the report only on success: print it here, then fail.
    if (out.json) std::cout << out.report.dump(2) << std::endl;
    throw Error(std::to_string(failed) + " of " + std::to_string(checks.size()) + " op checks failed on " + d.name());
  });
}

}  // namespace

CUMLP_CLI_COMMAND(75, add_check);

}  // namespace cumlp::cli
