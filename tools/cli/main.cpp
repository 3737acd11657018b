// cumlp — train, evaluate, check and benchmark multilayer perceptrons.
#include <cstdio>

#include "cli.h"
#include "cumlp/cumlp.h"

int main(int argc, char** argv) {
  cumlp::cli::Output out;
  CLI::App app{"cumlp " + std::string(cumlp::version()) + " — multilayer perceptrons on GPUs, checked against a CPU reference"};
  app.set_version_flag("--version", std::string(cumlp::version()));
  app.add_flag("--json", out.json, "Print one JSON object on stdout (human text goes to stderr)");
  app.require_subcommand(1);
  app.fallthrough();
  cumlp::cli::add_info(app, out);
  cumlp::cli::add_demo(app, out);
  cumlp::cli::add_train(app, out);
  cumlp::cli::add_eval(app, out);
  cumlp::cli::add_plot(app, out);
  try {
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
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (out.json) std::cout << out.report.dump(2) << std::endl;
  return 0;
}
