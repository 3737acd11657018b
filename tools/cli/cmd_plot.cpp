// `cumlp plot activations|samples|loss`: the course notes' pictures.
#include <fstream>

#include "cli.h"
#include "cumlp/plot.h"
#include "presets.h"
#include "run_output.h"

namespace cumlp::cli {

namespace {

struct PlotArgs {
  std::string out, preset, data_dir, report;
  uint64_t seed = 777;  // the digits split (no option: samples come from the training rows)
};

void activations(const PlotArgs& a, Output& out) {
  std::vector<PlotSeries> series;
  for (Activation act : {Activation::Identity, Activation::Step, Activation::Sigmoid, Activation::Tanh,
                         Activation::ReLU, Activation::LeakyReLU, Activation::ELU}) {
    PlotSeries s;
    // LeakyReLU drawn with slope 0.1 so its negative side is visible at this scale.
    const double alpha = act == Activation::LeakyReLU ? 0.1 : default_alpha(act);
    s.name = std::string(activation_name(act)) + (act == Activation::LeakyReLU ? " (0.1)" : "");
    for (int i = 0; i <= 400; ++i) {
      const double x = -5.0 + i * 0.025;
      s.x.push_back(x);
      s.y.push_back(activation_value(act, x, alpha));
    }
    series.push_back(std::move(s));
  }
  plot_lines(a.out, series, "Activation functions", "x", "f(x)");
  out.report = {{"plot", a.out}};
  out.human() << "wrote " << a.out << "\n";
}

void samples(const PlotArgs& a, Output& out) {
  const std::string dataset = find_preset(a.preset).dataset;
  const DataSplit data = load_dataset(dataset, a.data_dir, a.seed);
  if (!save_samples_png(a.out, data.train)) throw Error("preset '" + a.preset + "' has no images to show");
  out.report = {{"plot", a.out}, {"dataset", dataset}, {"data", data.train.name()}};
  out.human() << "wrote " << a.out << "\n";
}

// Loss history from a run's report.json.
void loss(const PlotArgs& a, Output& out) {
  std::ifstream in(a.report);
  if (!in) throw Error("cannot read '" + a.report + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error("'" + a.report + "' is not valid JSON: " + e.what());
  }
  if (!j.contains("train_loss")) throw Error("'" + a.report + "' has no train_loss (is it a cumlp train report?)");
  const auto train = j.at("train_loss").get<std::vector<double>>();
  const auto valid = j.value("valid_loss", std::vector<double>{});
  plot_loss_history(a.out, train, valid, valid.empty() ? 0 : j.value("best_epoch", 0), j.value("preset", "") + " loss");
  out.report = {{"plot", a.out}, {"report", a.report}};
  out.human() << "wrote " << a.out << "\n";
}

}  // namespace

namespace {
void add_plot(CLI::App& app, Output& out) {
  static PlotArgs a;
  auto* plot = app.add_subcommand("plot", "Pictures: activation functions, sample images, loss history");
  plot->require_subcommand(1);
  auto* act = plot->add_subcommand("activations", "The activation functions over [-5, 5]");
  act->add_option("--out", a.out, "PNG file")->required();
  act->callback([&out] { activations(a, out); });
  auto* smp = plot->add_subcommand("samples", "A grid of training images with their labels");
  smp->add_option("--preset", a.preset, "Dataset of this preset")->required();
  smp->add_option("--data-dir", a.data_dir, "Folder with the dataset files (refused for xor, which is built in)");
  smp->add_option("--out", a.out, "PNG file")->required();
  smp->callback([&out] { samples(a, out); });
  auto* ls = plot->add_subcommand("loss", "Loss history of a training run");
  ls->add_option("report", a.report, "report.json of a run")->required();
  ls->add_option("--out", a.out, "PNG file")->required();
  ls->callback([&out] { loss(a, out); });
}

}  // namespace

CUMLP_CLI_COMMAND(50, add_plot);

}  // namespace cumlp::cli
