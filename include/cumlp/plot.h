// cumlp pictures: loss history, line plots, confusion matrix, sample-image grid.
//
// Every function writes one PNG file. The file appears atomically: the picture is
// written to "<path>.tmp.<pid>" and renamed onto `path` only when complete, so a
// failure never leaves a half-written PNG (and never touches an existing `path`).
//
// The three charts are drawn by gnuplot (Debian package gnuplot-nox, installed by
// tools/setup.sh), run as a child process; the image grid is written with libpng
// directly and needs nothing else.
//
// Errors: every function throws cumlp::Error with a one-line message when its
// input is bad (the cases are listed per function), when gnuplot is missing or
// fails (its stderr is quoted), or when the file cannot be written.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

/// Train (and optionally validation) loss per epoch.
/// - path: PNG file to write.
/// - train_loss: [epochs] loss after each epoch; epoch i+1 is train_loss[i]
///   (x axis is the 1-based epoch, y axis the loss, unitless).
/// - valid_loss: [epochs] validation loss, or empty for none.
/// - best_epoch: 1-based epoch marked by a dashed vertical line ("best epoch N"),
///   or 0 for no marker.
/// - title: chart title.
/// NaN losses are skipped (the curve breaks there). Throws Error if train_loss is
/// empty or all NaN, valid_loss is non-empty with a different length or all NaN,
/// a loss is infinite, or best_epoch is outside [0, epochs].
CUMLP_API void plot_loss_history(const std::string& path, std::span<const double> train_loss,
                                 std::span<const double> valid_loss, int64_t best_epoch = 0,
                                 const std::string& title = "Loss history");

/// One named curve of a line plot: points (x[i], y[i]) joined in order.
struct PlotSeries {
  std::string name;       ///< legend entry
  std::vector<double> x;  ///< [points]
  std::vector<double> y;  ///< [points], same length as x
};

/// Several named curves in one chart with a legend (e.g. activation functions
/// sampled over [-5, 5]; the caller computes the values).
/// - path: PNG file to write.
/// - series: at least one; each with equal-length, non-empty x and y.
/// - title, xlabel, ylabel: chart title and axis labels (may be empty).
/// Points whose y is NaN are skipped (the curve breaks there). Throws Error if
/// series is empty, a series is empty, its x and y lengths differ, an x is not
/// finite, a y is infinite, or all of a series' y are NaN.
CUMLP_API void plot_lines(const std::string& path, const std::vector<PlotSeries>& series,
                          const std::string& title, const std::string& xlabel,
                          const std::string& ylabel);

/// Confusion-matrix heatmap with the count printed in each cell.
/// - path: PNG file to write.
/// - counts: [rows, cols] row-major; counts[t * cols + p] is the number of samples
///   of true class t predicted as class p. Rows are drawn top to bottom (y axis
///   "true"), columns left to right (x axis "predicted").
/// - rows, cols: the matrix shape; must be equal (k classes), 1 <= k <= 1000.
/// - class_names: [k] tick labels.
/// - title: chart title.
/// Counts are printed in the cells while k <= 40 (beyond that they cannot be
/// read and only the colours are drawn). Throws Error if rows != cols, k is outside 1..1000,
/// counts.size() != rows * cols, class_names.size() != k, or a count is negative.
CUMLP_API void plot_confusion_matrix(const std::string& path, std::span<const int64_t> counts,
                                     int64_t rows, int64_t cols,
                                     const std::vector<std::string>& class_names,
                                     const std::string& title = "Confusion matrix");

/// A grid of sample images, each with its label written underneath.
/// - path: PNG file to write (8-bit RGB).
/// - pixels: [n, channels, height, width] uint8 intensities 0..255; channels is 1
///   (gray) or 3 (planar RGB, as in CIFAR-10 binary batches).
/// - labels: [n] text drawn under each image with a built-in 5x7 font (digits,
///   letters shown upper-case, space and - / . , : ; ( ) _ ' = + ? ! # % < >;
///   other characters show as '?'); cut short to the image width.
/// - columns: images per row (>= 1; fewer if n is smaller).
/// - scale: each pixel becomes a scale x scale block (1..16).
/// Throws Error if n < 1, channels is not 1 or 3, height or width is outside
/// 1..4096, pixels.size() != n * channels * height * width, labels.size() != n,
/// columns or scale is out of range, or the grid would exceed 2^27 pixels.
CUMLP_API void save_image_grid(const std::string& path, std::span<const uint8_t> pixels,
                               int64_t n, int64_t channels, int64_t height, int64_t width,
                               const std::vector<std::string>& labels, int64_t columns = 8,
                               int64_t scale = 3);

}  // namespace cumlp
