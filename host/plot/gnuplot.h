// One way to draw a chart: a gnuplot script run as a child process. Used by the
// loss-history, line and confusion-matrix pictures.
#pragma once

#include <span>
#include <string>

namespace cumlp::plot_detail {

/// `s` as a gnuplot single-quoted string literal ('' stands for a quote; no
/// other escapes exist inside single quotes, so any text is safe).
std::string gnuplot_quote(const std::string& s);

/// Appends `$name << EOD ... EOD` holding the points (x[i], y[i]). A NaN y becomes
/// a blank line, which gnuplot draws as a break in the curve.
void append_datablock(std::string& script, const std::string& name, std::span<const double> x,
                      std::span<const double> y);

/// Runs `body` (gnuplot commands, data inline) after setting a PNG terminal of
/// width x height pixels with enhanced-text markup off (so '_' and '^' in names
/// print as themselves), and writes the picture to path with
/// io::write_file_atomically (so a failure leaves path as it was).
/// Throws Error if gnuplot is not installed, exits non-zero (its stderr quoted)
/// or produces no file.
void render_gnuplot(const std::string& path, int width, int height, const std::string& body);

}  // namespace cumlp::plot_detail
