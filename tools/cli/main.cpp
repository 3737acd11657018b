// cumlp — train, evaluate, check and benchmark multilayer perceptrons.
#include <algorithm>
#include <cstdio>

#include "cli.h"
#include "cumlp/cumlp.h"

namespace cumlp::cli {
std::vector<std::pair<int, CommandAdder>>& commands() {
  static std::vector<std::pair<int, CommandAdder>> registry;
  return registry;
}
}  // namespace cumlp::cli

namespace {
// CLI11 reports an unknown command word as "a subcommand is required"; name
// the word instead. Walks the leading words while each level needs a subcommand.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path = "cumlp";
  for (int i = 1; i < argc && level->get_require_subcommand_min() > 0; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; }))
      if (sub->get_name() == word) next = sub;
    if (!next) return "unknown command '" + word + "' for '" + path + "'";
    level = next;
    path += " " + word;
  }
  return "";
}
}  // namespace

int main(int argc, char** argv) {
  cumlp::cli::Output out;
  CLI::App app{"cumlp " + std::string(cumlp::version()) + " — multilayer perceptrons on GPUs, checked against a CPU reference"};
  app.set_version_flag("--version", std::string(cumlp::version()));
  app.add_flag("--json", out.json, "Print one JSON object on stdout (human text goes to stderr)");
  app.require_subcommand(1);
  app.fallthrough();
  auto& commands = cumlp::cli::commands();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : commands) add(app, out);
  try {
    if (const std::string bad = unknown_command(app, argc, argv); !bad.empty()) {
      std::fprintf(stderr, "error: %s (run 'cumlp --help' for the list)\n", bad.c_str());
      return 2;
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (run 'cumlp --help' for usage)\n", e.what());
    return 2;
  } catch (const cumlp::Error& e) {
    if (!out.silent) std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (out.json && !out.silent) std::cout << out.report.dump(2) << std::endl;
  return 0;
}
