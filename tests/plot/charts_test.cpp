// The gnuplot pictures: loss history, line plot, confusion matrix.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "cumlp/error.h"
#include "cumlp/plot.h"
#include "host/plot/gnuplot.h"
#include "png_check.h"

namespace cumlp::test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Charts = PlotTest;

// Runs f and expects a one-line cumlp::Error whose message contains `part`.
template <class F>
void expect_error(F f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(part), std::string::npos) << "message: " << e.message();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
  }
}

// A plausible early-stopping run: train keeps falling, valid turns up after epoch 12.
void loss_curves(std::vector<double>& train, std::vector<double>& valid) {
  for (int e = 1; e <= 20; ++e) {
    train.push_back(0.1 + 2.0 * std::exp(-0.25 * e));
    valid.push_back(0.25 + 2.0 * std::exp(-0.25 * e) + 0.004 * (e - 12) * (e - 12) * (e > 12));
  }
}

TEST_F(Charts, LossHistoryWithValidAndBestEpoch) {
  std::vector<double> train, valid;
  loss_curves(train, valid);
  plot_loss_history(file("loss_history.png"), train, valid, 12, "MNIST deep: loss per epoch");
  expect_picture("loss_history.png", 600, 400);
  EXPECT_EQ(listing(), std::vector<std::string>{"loss_history.png"});
}

TEST_F(Charts, LossHistoryTrainOnlySingleEpochAndNaNGaps) {
  const std::vector<double> one{0.7};
  plot_loss_history(file("one.png"), one, {});
  expect_picture("one.png", 600, 400);
  const std::vector<double> train{1.0, 0.8, kNaN, 0.5, 0.4};
  const std::vector<double> valid{kNaN, 0.9, 0.7, kNaN, 0.6};
  plot_loss_history(file("gaps.png"), train, valid, 0, "gaps");
  expect_picture("gaps.png", 600, 400);
}

TEST_F(Charts, LossHistoryHundredEpochs) {
  std::vector<double> train, valid;
  for (int e = 1; e <= 100; ++e) {
    train.push_back(2.0 / e);
    valid.push_back(2.2 / e + 0.0002 * e);
  }
  plot_loss_history(file("hundred_epochs.png"), train, valid, 33);
  expect_picture("hundred_epochs.png", 600, 400);
}

TEST_F(Charts, LossHistoryRejectsBadInput) {
  const std::vector<double> three{1, 2, 3};
  const std::string p = file("bad.png");
  expect_error([&] { plot_loss_history(p, {}, {}); }, "train loss is empty");
  expect_error([&] { plot_loss_history(p, three, std::vector<double>{1, 2}); },
               "valid loss has 2 epochs but train loss has 3");
  expect_error([&] { plot_loss_history(p, std::vector<double>{kNaN, kNaN}, {}); },
               "train loss: all 2 values are NaN");
  expect_error([&] { plot_loss_history(p, three, std::vector<double>{1, kInf, 2}); },
               "valid loss: y[1] is inf");
  expect_error([&] { plot_loss_history(p, three, {}, 4); }, "best epoch 4 is outside [0, 3]");
  expect_error([&] { plot_loss_history(p, three, {}, -1); }, "best epoch -1 is outside");
  EXPECT_TRUE(listing().empty());
}

// The activation functions of the course notes, sampled over [-5, 5].
std::vector<PlotSeries> activations() {
  std::vector<PlotSeries> s{{"identity", {}, {}}, {"step", {}, {}}, {"sigmoid", {}, {}}, {"tanh", {}, {}},
                            {"ReLU", {}, {}},     {"LeakyReLU(a=0.1)", {}, {}}, {"ELU(alpha=1)", {}, {}}};
  for (int i = 0; i <= 400; ++i) {
    const double x = -5.0 + i * 0.025;
    const double y[] = {x, x > 0 ? 1.0 : 0.0, 1 / (1 + std::exp(-x)), std::tanh(x), x > 0 ? x : 0.0,
                        x > 0 ? x : 0.1 * x, x > 0 ? x : std::expm1(x)};
    for (std::size_t k = 0; k < s.size(); ++k) {
      s[k].x.push_back(x);
      s[k].y.push_back(y[k]);
    }
  }
  return s;
}

TEST_F(Charts, LinePlotOfActivations) {
  plot_lines(file("activations.png"), activations(), "Activation functions", "x", "f(x)");
  expect_picture("activations.png", 600, 400);
}

TEST_F(Charts, LinePlotRejectsBadInput) {
  const std::string p = file("bad.png");
  expect_error([&] { plot_lines(p, {}, "t", "x", "y"); }, "line plot has no series");
  expect_error([&] { plot_lines(p, {{"a", {}, {}}}, "t", "x", "y"); }, "series 0 'a' is empty");
  expect_error([&] { plot_lines(p, {{"a", {1}, {1}}, {"b", {1, 2}, {1}}}, "t", "x", "y"); },
               "series 1 'b': x has 2 values but y has 1");
  expect_error([&] { plot_lines(p, {{"a", {1, kNaN}, {1, 2}}}, "t", "x", "y"); },
               "series 0 'a': x[1] is nan");
  expect_error([&] { plot_lines(p, {{"a", {1, 2}, {kNaN, kNaN}}}, "t", "x", "y"); },
               "all 2 values are NaN");
  EXPECT_TRUE(listing().empty());
}

TEST_F(Charts, ConfusionMatrixTenClasses) {
  const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::vector<int64_t> counts(100);
  for (int t = 0; t < 10; ++t) {
    for (int p = 0; p < 10; ++p) counts[t * 10 + p] = t == p ? 850 + 13 * t : (t * 7 + p * 3) % 17 * ((t + p) % 3);
  }
  plot_confusion_matrix(file("confusion_matrix.png"), counts, 10, 10, names, "Fashion-MNIST test set");
  expect_picture("confusion_matrix.png", 500, 500);
}

TEST_F(Charts, ConfusionMatrixOneClassAndAllZero) {
  plot_confusion_matrix(file("one.png"), std::vector<int64_t>{5}, 1, 1, {"only"});
  expect_picture("one.png", 500, 500);
  plot_confusion_matrix(file("zero.png"), std::vector<int64_t>(4, 0), 2, 2, {"a", "b"});
  expect_picture("zero.png", 500, 500);
}

TEST_F(Charts, ConfusionMatrixHundredClassesDrawsColoursOnly) {
  std::vector<int64_t> counts(100 * 100);
  std::vector<std::string> names;
  for (int t = 0; t < 100; ++t) {
    names.push_back("c");
    names.back() += std::to_string(t);
    counts[t * 100 + t] = 80;
    counts[t * 100 + (t * 37) % 100] += 20;
  }
  plot_confusion_matrix(file("hundred.png"), counts, 100, 100, names, "CIFAR-100");
  expect_picture("hundred.png", 1500, 1500);
}

TEST_F(Charts, ConfusionMatrixRejectsBadInput) {
  const std::string p = file("bad.png");
  const std::vector<int64_t> four{1, 2, 3, 4};
  expect_error([&] { plot_confusion_matrix(p, four, 2, 3, {"a", "b"}); },
               "confusion matrix must be square, got [2, 3]");
  expect_error([&] { plot_confusion_matrix(p, {}, 0, 0, {}); }, "confusion matrix has no classes");
  expect_error([&] { plot_confusion_matrix(p, {}, int64_t{1} << 40, int64_t{1} << 40, {}); },
               "at most 1000 can be drawn");
  expect_error([&] { plot_confusion_matrix(p, four, 3, 3, {"a", "b", "c"}); },
               "needs 9 counts, got 4");
  expect_error([&] { plot_confusion_matrix(p, four, 2, 2, {"a"}); },
               "has 2 classes but 1 class names");
  expect_error([&] { plot_confusion_matrix(p, std::vector<int64_t>{1, -2, 3, 4}, 2, 2, {"a", "b"}); },
               "count [0, 1] is negative (-2)");
  EXPECT_TRUE(listing().empty());
}

TEST_F(Charts, GnuplotErrorIsQuotedOnOneLine) {
  // Valid input never makes gnuplot fail, so drive the shared runner directly.
  expect_error([&] { plot_detail::render_gnuplot(file("x.png"), 400, 300, "plot no_such_thing\n"); },
               "undefined variable: no_such_thing");
  EXPECT_TRUE(listing().empty());
}

TEST_F(Charts, UnwritablePathLeavesNothing) {
  const std::string p = (dir_ / "missing-folder" / "x.png").string();
  expect_error([&] { plot_lines(p, activations(), "t", "x", "y"); }, "cannot write '" + p + "'");
  EXPECT_TRUE(listing().empty());
}

TEST_F(Charts, FailedRedrawKeepsTheOldPicture) {
  const std::string p = file("keep.png");
  { std::ofstream(p) << "old"; }
  // A folder where the temporary file should go makes the write fail.
  std::filesystem::create_directory(p + ".tmp." + std::to_string(::getpid()));
  expect_error([&] { plot_lines(p, activations(), "t", "x", "y"); }, "cannot write '" + p + "'");
  std::ifstream in(p);
  std::stringstream body;
  body << in.rdbuf();
  EXPECT_EQ(body.str(), "old");
}

TEST_F(Charts, MissingGnuplotSaysWhatToInstall) {
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", dir_.c_str(), 1);
  std::string message;
  try {
    plot_lines(file("x.png"), activations(), "t", "x", "y");
  } catch (const Error& e) {
    message = e.message();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(message.find("gnuplot not found on PATH: install gnuplot-nox"), std::string::npos) << message;
  EXPECT_TRUE(listing().empty());
}

}  // namespace
}  // namespace cumlp::test
