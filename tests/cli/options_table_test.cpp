// Every option of every cumlp command takes effect or is refused: the table in
// option_table.cpp holds one run per option (and per refused use), each
// compared with its command's run without it. The option lists come from the
// commands' own --help, so a new option without a row fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "host/shared/kernel_trace.h"
#include "tests/cli/option_table.h"
#include "tests/common/cli_run.h"
#include "tests/reliability/data_files.h"

namespace cumlp::test {
namespace {

using reliability::write_bytes;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// Every command path ("train", "plot samples", "" for the program) with the
// options and positionals its --help lists (not --help itself).
void list_options(const std::string& path, std::map<std::string, std::set<std::string>>& out) {
  const CliRun r = run_cli(path + " --help");
  ASSERT_EQ(r.status, 0) << "cumlp " << path << " --help: " << r.err;
  std::istringstream lines(r.out);
  std::string section;
  out[path];
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == ':' && line[0] != ' ') section = line;
    if (line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ') continue;
    std::string word = line.substr(2, line.find(' ', 2) - 2);
    if (section == "Subcommands:") {
      list_options(path.empty() ? word : path + " " + word, out);
    } else if (section == "Options:" || section == "Positionals:") {
      if (const std::size_t comma = word.find(','); comma != std::string::npos) word = word.substr(comma + 1);
      if (word != "--help") out[path].insert(word);
    }
  }
}

class OptionTable : public ::testing::Test {
 protected:
  static ScratchDir* dir;

  // Small data sets in every format a command reads, and three trained runs.
  static void SetUpTestSuite() {
    dir = new ScratchDir;
    const ScratchDir& d = *dir;
    for (const char* sub : {"digits", "digits2", "mnist", "mnist2", "cifar", "p", "t"})
      std::filesystem::create_directories(d / sub);
    write_bytes(d / "digits/digits.csv.gz", reliability::digits_csv(200));
    write_bytes(d / "digits2/digits.csv.gz", reliability::digits_csv(120));
    reliability::write_mnist_dir(d / "mnist", 40);
    reliability::write_mnist_dir(d / "mnist2", 20);
    reliability::write_cifar_dir(d / "cifar", 4);
    const std::string labelled = reliability::digits_csv(30);
    write_bytes(d / "labelled.csv", labelled);
    std::string unlabelled;  // the labelled rows without their label column
    std::istringstream in(labelled);
    for (std::string line; std::getline(in, line);) unlabelled += line.substr(0, line.rfind(',')) + "\n";
    write_bytes(d / "rows64.csv", unlabelled.substr(0, 3 * (unlabelled.find('\n') + 1)));
    write_bytes(d / "rows64b.csv", unlabelled.substr(0, 5 * (unlabelled.find('\n') + 1)));
    write_bytes(d / "rows2.csv", "0,0\n0,1\n1,0\n1,1\n");
    for (const std::string& args :
         {"--preset digits --data-dir " + (d / "digits") + " --epochs 1 --out " + (d / "digits_run"),
          "--preset xor --epochs 3 --out " + (d / "xor_run"),
          "--layers 784-4-10 --dataset mnist --data-dir " + (d / "mnist") + " --epochs 1 --batch-size 10 --out " + (d / "mnist_run")})
      run_json("--json train --device cpu --quiet " + args);
    // A run at tf32, for --resume's precision rule.
    run_json("--json train --device sim --precision tf32 --quiet --preset xor --epochs 3 --out " + (d / "xor_tf32_run"));
  }
  static void TearDownTestSuite() { delete dir; }

  static std::string expand(const std::string& args) { return replace_all(args, "{d}", dir->path().string()); }

  // The run, with the scratch folder written back as {d} so the table can name paths.
  static Observed observe(const std::string& args) {
    const CliRun r = run_cli(expand(args));
    Observed o = {{"status", r.status}, {"stdout", r.out}, {"stdout_is_json", false}, {"report", nullptr}};
    try {
      o["report"] = nlohmann::json::parse(r.out);
      o["stdout_is_json"] = o["report"].is_object();
    } catch (const nlohmann::json::exception&) {
    }
    int progress = 0;
    std::istringstream err(r.err);
    for (std::string line; std::getline(err, line);) progress += line.rfind("epoch ", 0) == 0;
    o["progress_lines"] = progress;
    if (r.status != 0) o["stderr"] = r.err;
    return nlohmann::json::parse(replace_all(o.dump(), dir->path().string(), "{d}"));
  }

  static std::vector<std::string> files() {
    std::vector<std::string> all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir->path()))
      if (e.is_regular_file()) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    return all;
  }
};
ScratchDir* OptionTable::dir = nullptr;

TEST_F(OptionTable, EveryOptionOfEveryCommandHasARow) {
  std::map<std::string, std::set<std::string>> listed;
  list_options("", listed);
  ASSERT_TRUE(listed.count("train") && listed["train"].count("--epochs")) << "the --help parser found nothing";
  std::set<std::pair<std::string, std::string>> in_table;
  for (const OptionCase& c : option_cases()) in_table.insert({c.command, c.option});
  for (const auto& [command, options] : listed)
    for (const std::string& option : options)
      EXPECT_TRUE(in_table.count({command, option})) << "cumlp " << command << " " << option << " has no row in "
                                                     << "tests/cli/option_table.cpp: add one that shows its effect";
  for (const auto& [command, option] : in_table)
    EXPECT_TRUE(listed.count(command) && listed[command].count(option))
        << "the table has cumlp " << command << " " << option << ", which --help does not list";
}

TEST_F(OptionTable, EveryOptionTakesEffectOrIsRefused) {
  std::map<std::string, Observed> bases;
  const auto base_of = [&](const std::string& args) -> const Observed& {
    if (!bases.count(args)) {
      bases[args] = observe(args);
      EXPECT_EQ(bases[args]["status"], 0) << "base run cumlp " << args << "\n" << bases[args].dump(1);
    }
    return bases[args];
  };
  for (const OptionCase& c : option_cases()) {
    SCOPED_TRACE("cumlp " + c.args + "  (row for '" + c.command + " " + c.option + "')");
    // `profile` needs the access-traced kernels, which a sanitizer build leaves out
    // (it then refuses every run, saying so: tests/profile covers that build).
    if (c.command == "profile" && !kernel_tracing_built()) {
      std::printf("skipped: cumlp %s (no access-traced kernels in this build)\n", c.args.c_str());
      continue;
    }
    if (!c.check) {
      const std::vector<std::string> before = files();
      const CliRun r = run_cli(expand(c.args));
      EXPECT_GE(r.status, 1);
      EXPECT_LE(r.status, 127);
      EXPECT_EQ(r.out, "");
      std::istringstream err(r.err);
      std::vector<std::string> errors;
      for (std::string line; std::getline(err, line);)
        if (line.rfind("error:", 0) == 0) errors.push_back(line);
      EXPECT_EQ(errors.size(), 1u) << r.err;
      if (!errors.empty()) {
        EXPECT_NE(errors[0].find(c.option), std::string::npos) << errors[0];
      }
      EXPECT_EQ(files(), before) << "a refused run wrote files";
      continue;
    }
    std::string base = c.base;
    if (base.empty())
      for (const auto& [command, args] : base_runs())
        if (command == c.command) base = args;
    ASSERT_FALSE(base.empty()) << "no base run for '" << c.command << "'";
    const Observed run = observe(c.args);
    EXPECT_EQ(run["status"], 0) << run.value("stderr", "");
    if (run["status"] == 0) c.check(run, base_of(base));
  }
}

}  // namespace
}  // namespace cumlp::test
