// The three gnuplot pictures: loss history, line plot, confusion matrix. Each
// checks its input, builds a script with the data inline and hands it to
// render_gnuplot.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cumlp/plot.h"
#include "host/shared/error_macros.h"
#include "host/plot/gnuplot.h"

namespace cumlp {

using plot_detail::append_datablock;
using plot_detail::gnuplot_quote;
using plot_detail::render_gnuplot;

namespace {

constexpr int kChartWidth = 900;
constexpr int kChartHeight = 600;
// Matplotlib's "tab10": distinct, and readable on white (gnuplot's default cycle
// includes a pale yellow).
constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// The rules every curve obeys: same length, x finite, y finite or NaN (a NaN
// point is skipped, as a missing epoch would be), and at least one point left.
void check_curve(const std::string& what, std::span<const double> x, std::span<const double> y) {
  CUMLP_CHECK(!y.empty(), what, " is empty");
  CUMLP_CHECK(x.size() == y.size(), what, ": x has ", x.size(), " values but y has ", y.size());
  bool any = false;
  for (std::size_t i = 0; i < y.size(); ++i) {
    CUMLP_CHECK(std::isfinite(x[i]), what, ": x[", i, "] is ", x[i]);
    CUMLP_CHECK(!std::isinf(y[i]), what, ": y[", i, "] is ", y[i]);
    any = any || !std::isnan(y[i]);
  }
  CUMLP_CHECK(any, what, ": all ", y.size(), " values are NaN");
}

std::string axes(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  return "set title " + gnuplot_quote(title) + "\nset xlabel " + gnuplot_quote(xlabel) +
         "\nset ylabel " + gnuplot_quote(ylabel) + "\n";
}

}  // namespace

void plot_loss_history(const std::string& path, std::span<const double> train_loss,
                       std::span<const double> valid_loss, int64_t best_epoch,
                       const std::string& title) {
  const auto epochs = static_cast<int64_t>(train_loss.size());
  std::vector<double> x(train_loss.size());
  std::iota(x.begin(), x.end(), 1.0);
  check_curve("train loss", x, train_loss);
  CUMLP_CHECK(valid_loss.empty() || valid_loss.size() == train_loss.size(), "valid loss has ",
              valid_loss.size(), " epochs but train loss has ", train_loss.size());
  if (!valid_loss.empty()) check_curve("valid loss", x, valid_loss);
  CUMLP_CHECK(best_epoch >= 0 && best_epoch <= epochs, "best epoch ", best_epoch,
              " is outside [0, ", epochs, "] (0 = no marker)");

  std::string s = axes(title, "epoch", "loss");
  s += "set grid\nset key top right box opaque\n";
  s += "set xrange [0.5:" + std::to_string(epochs) + ".5]\n";
  // Few epochs: one tic each, so no fractional epochs appear on the axis.
  if (epochs <= 20) s += "set xtics 1\n";
  append_datablock(s, "train", x, train_loss);
  std::string plot = "plot $train using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb '#1f77b4' title 'train'";
  if (!valid_loss.empty()) {
    append_datablock(s, "valid", x, valid_loss);
    plot += ", $valid using 1:2 with linespoints pt 5 ps 0.6 lw 2 lc rgb '#d62728' title 'valid'";
  }
  if (best_epoch > 0) {
    const std::string b = std::to_string(best_epoch);
    s += "set arrow from " + b + ", graph 0 to " + b +
         ", graph 1 nohead dashtype 2 lw 1.5 lc rgb 'gray30' back\n";
    // The arrow has no legend entry of its own; keyentry adds one in the same style.
    plot += ", keyentry with lines dashtype 2 lw 1.5 lc rgb 'gray30' title 'best epoch " + b + "'";
  }
  render_gnuplot(path, kChartWidth, kChartHeight, s + plot + "\n");
}

void plot_lines(const std::string& path, const std::vector<PlotSeries>& series,
                const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  CUMLP_CHECK(!series.empty(), "line plot has no series");
  std::string s = axes(title, xlabel, ylabel);
  s += "set grid\nset key top left box opaque\nset xzeroaxis lc rgb 'gray50'\nset yzeroaxis lc rgb 'gray50'\n";
  // x spans exactly the data; y gets a margin so flat curves (step, sigmoid) clear the frame.
  s += "set autoscale xfix\nset offsets 0, 0, graph 0.05, graph 0.05\n";
  std::string plot = "plot ";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& one = series[i];
    check_curve("series " + std::to_string(i) + " '" + one.name + "'", one.x, one.y);
    std::string block = "s";
    block += std::to_string(i);
    append_datablock(s, block, one.x, one.y);
    plot += i ? ", $" : "$";
    plot += block + " using 1:2 with lines lw 2 lc rgb '" + kColours[i % std::size(kColours)] + "' title " +
            gnuplot_quote(one.name);
  }
  render_gnuplot(path, kChartWidth, kChartHeight, s + plot + "\n");
}

void plot_confusion_matrix(const std::string& path, std::span<const int64_t> counts, int64_t rows,
                           int64_t cols, const std::vector<std::string>& class_names,
                           const std::string& title) {
  CUMLP_CHECK(rows == cols, "confusion matrix must be square, got [", rows, ", ", cols, "]");
  const int64_t k = rows;
  CUMLP_CHECK(k >= 1, "confusion matrix has no classes");
  CUMLP_CHECK(k <= 1000, "confusion matrix has ", k, " classes; at most 1000 can be drawn");
  CUMLP_CHECK(static_cast<int64_t>(counts.size()) == k * k, "confusion matrix [", k, ", ", k,
              "] needs ", k * k, " counts, got ", counts.size());
  CUMLP_CHECK(static_cast<int64_t>(class_names.size()) == k, "confusion matrix has ", k,
              " classes but ", class_names.size(), " class names");
  for (std::size_t i = 0; i < counts.size(); ++i) {
    CUMLP_CHECK(counts[i] >= 0, "confusion matrix count [", i / k, ", ", i % k, "] is negative (",
                counts[i], ")");
  }
  const int64_t max_count = std::max<int64_t>(1, *std::max_element(counts.begin(), counts.end()));

  // Square picture growing with k so cells stay readable, within sane bounds.
  const int side = static_cast<int>(std::clamp<int64_t>(220 + 48 * k, 640, 2200));
  const double cell_px = (side - 220.0) / static_cast<double>(k);
  const int font = static_cast<int>(std::clamp(cell_px / 4.5, 6.0, 11.0));
  std::size_t longest = 0;
  for (const auto& n : class_names) longest = std::max(longest, n.size());

  std::string s = axes(title, "predicted", "true");
  s += "set size ratio -1\nunset key\nset tics scale 0\n";
  s += "set xrange [-0.5:" + std::to_string(k) + "-0.5]\n";
  // Reversed so class 0 is the top row, as a matrix is read.
  s += "set yrange [" + std::to_string(k) + "-0.5:-0.5]\n";
  s += "set palette defined (0 '#ffffff', 1 '#08306b')\n";
  s += "set cbrange [0:" + std::to_string(max_count) + "]\nset cblabel 'count'\n";
  std::string tics = "(";
  for (int64_t i = 0; i < k; ++i) {
    tics += i ? ", " : "";
    tics += gnuplot_quote(class_names[i]) + " " + std::to_string(i);
  }
  tics += ")";
  // Upright names while they fit; slanted when long; vertical when many.
  const char* rotate = k > 12 ? " rotate by 90 right" : longest > 3 ? " rotate by 45 right" : "";
  const std::string tic_font = " font '," + std::to_string(std::min(font + 1, 11)) + "'";
  s += "set xtics " + tics + rotate + tic_font + "\nset ytics " + tics + tic_font + "\n";

  s += "$m << EOD\n";
  for (int64_t t = 0; t < k; ++t) {
    for (int64_t p = 0; p < k; ++p) {
      s += p ? " " : "";
      s += std::to_string(counts[t * k + p]);
    }
    s += '\n';
  }
  s += "EOD\n";
  if (k <= 40) {
    for (int64_t t = 0; t < k; ++t) {
      for (int64_t p = 0; p < k; ++p) {
        const int64_t c = counts[t * k + p];
        // White text on the dark half of the palette, black on the light half.
        const char* colour = 2 * c > max_count ? "white" : "black";
        s += "set label '" + std::to_string(c) + "' at " + std::to_string(p) + "," + std::to_string(t) +
             " center front textcolor rgb '" + colour + "' font '," + std::to_string(font) + "'\n";
      }
    }
  }
  // Boxes rather than `with image`, which cannot size the pixel of a 1x1 matrix.
  // Wider than tall: the colour box takes room on the right of the square matrix.
  render_gnuplot(path, side + 100, side,
                 s + "plot $m matrix using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder fc palette\n");
}

}  // namespace cumlp
