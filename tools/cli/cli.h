// Shared pieces of the cumlp command-line tool.
//
// Output contract: with --json a command prints exactly one JSON object on
// stdout and any human text on stderr; without it, human text on stdout.
// Failures print one line "error: ..." on stderr and exit non-zero.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <iostream>
#include <string>

namespace cumlp::cli {

struct Output {
  bool json = false;
  nlohmann::json report = nlohmann::json::object();
  /// Where human-readable text goes.
  std::ostream& human() const { return json ? std::cerr : std::cout; }
};

/// Registers `cumlp info`.
void add_info(CLI::App& app, Output& out);
/// Registers `cumlp demo backprop|gates|xor-single|xor`.
void add_demo(CLI::App& app, Output& out);
/// Registers `cumlp train`.
void add_train(CLI::App& app, Output& out);
/// Registers `cumlp eval` and `cumlp predict`.
void add_eval(CLI::App& app, Output& out);
/// Registers `cumlp plot`.
void add_plot(CLI::App& app, Output& out);

}  // namespace cumlp::cli
