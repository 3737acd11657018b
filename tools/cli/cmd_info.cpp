// `cumlp info`: version, build flags, the devices found and the communicator
// kinds (data parallelism) this build has.
#include "cli.h"
#include "cumlp/cumlp.h"

namespace cumlp::cli {

namespace {
void add_info(CLI::App& app, Output& out) {
  auto* cmd = app.add_subcommand("info", "Version, build flags and devices");
  cmd->callback([&out] {
    const std::string flags = build_info();
    nlohmann::json devices = nlohmann::json::array();
    std::ostream& os = out.human();
    os << "cumlp " << version() << " (" << flags << ")\n";
    for (const DeviceInfo& d : list_devices()) {
      nlohmann::json j = {{"name", d.name}, {"description", d.description}, {"available", d.available}};
      if (!d.available) j["why_not"] = d.why_not;
      if (d.memory_gb > 0) j["memory_gb"] = d.memory_gb;
      j["dtypes"] = d.dtypes;
      devices.push_back(j);
      os << "  " << d.name << ": " << d.description << (d.available ? "" : "  [not available: " + d.why_not + "]")
         << "\n";
    }
    const std::string auto32 = Device::best(DType::F32).name(), auto64 = Device::best(DType::F64).name();
    os << "  auto -> " << auto32 << " (f32), " << auto64 << " (f64)\n";
    const std::vector<std::string> comms = communicator_kinds();
    for (const std::string& c : comms) os << "  communicator " << c << "\n";
    out.report = {{"version", version()},
                  {"build", flags},
                  {"cuda_compiled", flags.find("cuda=on") != std::string::npos},
                  {"devices", devices},
                  {"auto", auto32},
                  {"auto_f64", auto64},
                  {"communicators", comms}};
  });
}

}  // namespace

CUMLP_CLI_COMMAND(10, add_info);

}  // namespace cumlp::cli
