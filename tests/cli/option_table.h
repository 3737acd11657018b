// The table behind options_table_test.cpp: for every option of every cumlp
// command, one run that shows the option took effect (a field of what the run
// reports differs from the command's run without it, and says what the option
// asked) or one run that shows it refused (one "error:" line naming it, a
// non-zero status, nothing written).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cumlp::test {

/// What a run showed: {"status", "stdout_is_json", "report" (the JSON object
/// or null), "stdout", "progress_lines" (stderr lines "epoch ...")}.
using Observed = nlohmann::json;

/// Asserts (gtest) on a run and the run it is compared with.
using Check = std::function<void(const Observed& run, const Observed& base)>;

struct OptionCase {
  std::string command;  // "train", "plot samples"; "" for the program's own options
  std::string option;   // as --help lists it: "--epochs", or a positional's name ("model")
  std::string args;     // the whole command line after the binary; {d} is the scratch folder
  Check check = {};     // empty: the run must be refused naming `option`
  std::string base = {};  // the run it is compared with (default: the command's base run)
};

/// A JSON pointer into the observation: the run has `want` there, the base run does not.
Check field(const std::string& pointer, nlohmann::json want);
/// The run's value at `pointer` differs from the base run's.
Check differs(const std::string& pointer);
/// Both checks.
Check both(Check a, Check b);

/// The run every case of a command is compared with, by command.
const std::vector<std::pair<std::string, std::string>>& base_runs();
/// Every case; {d} stands for the scratch folder the fixture fills (see
/// options_table_test.cpp).
const std::vector<OptionCase>& option_cases();

}  // namespace cumlp::test
