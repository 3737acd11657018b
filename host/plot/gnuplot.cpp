#include "host/plot/gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "host/shared/error_macros.h"
#include "host/io/atomic_file.h"

extern char** environ;

namespace cumlp::plot_detail {

namespace {

// Shortest text that reads back as the same double.
void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// gnuplot reports an error as the offending line, a caret and the message over
// several lines; fold them into one line for Error (which is one line by contract).
std::string one_line(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      out += c;
      space = false;
    }
  }
  constexpr std::size_t kMax = 400;
  if (out.size() > kMax) out = out.substr(0, kMax) + "...";
  return out.empty() ? "(no message)" : out;
}

// A private file in the temporary folder, removed when done. The script goes to
// one rather than to gnuplot's stdin (a pipe would need SIGPIPE handling if gnuplot
// stopped reading after an error), and gnuplot draws into another, which is then
// published with write_file_atomically.
class TempFile {
 public:
  TempFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cumlp-plot-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    CUMLP_CHECK(fd >= 0, "cannot create a temporary file ", pattern, ": ", std::strerror(errno));
    ::close(fd);
    path_ = pattern;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

  void write(const std::string& text) const {
    std::ofstream out(path_, std::ios::binary);
    out << text;
    CUMLP_CHECK(out.flush(), "cannot write the temporary file ", path_);
  }
  std::vector<std::byte> read() const {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    std::vector<std::byte> bytes(static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg())));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    CUMLP_CHECK(in, "cannot read the temporary file ", path_);
    return bytes;
  }

 private:
  std::string path_;
};

struct Run {
  int status;
  std::string output;  // stdout and stderr together
};

// posix_spawnp rather than popen/system: no shell, so no quoting of paths, and a
// missing binary is reported as ENOENT instead of a shell message.
Run run_gnuplot(const std::string& script_path) {
  int fds[2];
  CUMLP_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "cannot create a pipe for gnuplot: ", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  char* argv[] = {const_cast<char*>("gnuplot"), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    CUMLP_CHECK(rc != ENOENT, "gnuplot not found on PATH: install gnuplot-nox (tools/setup.sh installs it)");
    CUMLP_THROW("cannot start gnuplot: ", std::strerror(rc));
  }
  Run run{0, {}};
  char buf[4096];
  for (;;) {
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got > 0) run.output.append(buf, static_cast<std::size_t>(got));
    else if (got == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  while (::waitpid(pid, &run.status, 0) < 0) {
    CUMLP_CHECK(errno == EINTR, "waiting for gnuplot: ", std::strerror(errno));
  }
  return run;
}

}  // namespace

std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';  // a newline would end the command
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

void append_datablock(std::string& script, const std::string& name, std::span<const double> x,
                      std::span<const double> y) {
  script += "$" + name + " << EOD\n";
  bool gap = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(y[i])) {
      // One blank line breaks the curve; two would start a new data set.
      if (!gap) script += '\n';
      gap = true;
      continue;
    }
    append_number(script, x[i]);
    script += ' ';
    append_number(script, y[i]);
    script += '\n';
    gap = false;
  }
  script += "EOD\n";
}

void render_gnuplot(const std::string& path, int width, int height, const std::string& body) {
  const TempFile picture, script;
  const std::string size = " size " + std::to_string(width) + "," + std::to_string(height);
  // pngcairo draws anti-aliased text and lines; the gd-based png terminal is the fallback.
  script.write("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo" + size +
               " font 'Sans,11' } else { set terminal png" + size + " }\n" +
               "set termoption noenhanced\nset output " + gnuplot_quote(picture.path()) + "\n" + body +
               "unset output\n");
  const Run run = run_gnuplot(script.path());
  if (!WIFEXITED(run.status)) {
    CUMLP_THROW("gnuplot was killed by signal ", WTERMSIG(run.status), " while drawing ", path);
  }
  CUMLP_CHECK(WEXITSTATUS(run.status) == 0, "gnuplot failed (exit ", WEXITSTATUS(run.status),
              ") drawing ", path, ": ", one_line(run.output));
  const std::vector<std::byte> png = picture.read();
  CUMLP_CHECK(!png.empty(), "gnuplot drew nothing for ", path);
  io::write_file_atomically(path, png);
}

}  // namespace cumlp::plot_detail
