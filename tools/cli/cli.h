// Shared pieces of the cumlp command-line tool.
//
// Output contract: with --json a command prints exactly one JSON object on
// stdout and any human text on stderr; without it, human text on stdout.
// Failures print one line "error: ..." on stderr and exit non-zero.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/error.h"

namespace cumlp::cli {

struct Output {
  bool json = false;
  nlohmann::json report = nlohmann::json::object();
  /// Set on ranks other than 0 of a data-parallel run: no report, no error line (rank 0 speaks for the job).
  bool silent = false;
  /// Where human-readable text goes.
  std::ostream& human() const { return json ? std::cerr : std::cout; }
};

/// The help text of every --device option: the registered devices, from the library.
inline std::string device_help() { return device_choices() + " (cumlp info lists what is usable here)"; }

/// The help text of every --precision option.
inline const char* precision_help() {
  return "GEMM arithmetic: fp32 (default), tf32 (tensor cores, operands rounded to 10-bit mantissas) or tf32x3 "
         "(split operands, near fp32); tf32 and tf32x3 on cuda and sim only";
}

/// The --precision value for a run on `device` in `dtype`; Error naming the
/// flag when it is unknown or the device cannot compute in it.
inline Precision precision_flag(const std::string& text, const Device& device, DType dtype = DType::F32) {
  try {
    const Precision p = parse_precision(text);
    check_precision(device, dtype, p);
    return p;
  } catch (const Error& e) {
    throw Error("--precision " + text + ": " + e.message());
  }
}

/// A function that adds one subcommand (and its callback) to the app.
using CommandAdder = void (*)(CLI::App& app, Output& out);

/// Every subcommand, in registration order. Each cmd_*.cpp registers its own
/// with CUMLP_CLI_COMMAND, so adding a command is adding a file.
std::vector<std::pair<int, CommandAdder>>& commands();

struct CommandRegistration {
  CommandRegistration(int order, CommandAdder add) { commands().emplace_back(order, add); }
};

}  // namespace cumlp::cli

/// Registers a subcommand adder; order sorts the help listing.
#define CUMLP_CLI_COMMAND(order, adder) \
  static const ::cumlp::cli::CommandRegistration cumlp_cli_registration_##adder(order, adder)
