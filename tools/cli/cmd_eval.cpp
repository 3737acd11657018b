// `cumlp eval MODEL` and `cumlp predict MODEL INPUT`.
#include <cstdio>
#include <optional>

#include "cli.h"
#include "presets.h"
#include "run_output.h"

namespace cumlp::cli {

namespace {

struct EvalArgs {
  std::string model, preset, data_dir, data, device = "auto", out, input;
  std::optional<uint64_t> seed;  // default: the model's (the seed its training split used)
};

Network open_model(const EvalArgs& a, Checkpoint& info) {
  // The file's dtype picks `auto`'s device (an f64 model stays off f32-only GPUs).
  return load_network(a.model, NetworkOptions{Device::parse(a.device, read_checkpoint(a.model).dtype)}, &info);
}

void eval(const EvalArgs& a, Output& out) {
  Checkpoint info;
  Network net = open_model(a, info);
  Dataset test;
  std::string dataset = "csv";
  std::optional<uint64_t> split_seed;
  if (!a.data.empty()) {
    if (!a.preset.empty()) throw Error("give either --preset or --data, not both");
    if (!a.data_dir.empty()) throw Error("--data-dir: --data '" + a.data + "' names the file to read; give one or the other");
    if (a.seed) throw Error("--seed: --data '" + a.data + "' is evaluated whole, no split is drawn");
    test = load_csv(a.data);
  } else {
    // The preset names the dataset; by default the one the model was trained on.
    dataset = !a.preset.empty() ? find_preset(a.preset).dataset
              : info.extra.count("dataset") ? info.extra.at("dataset") : "";
    if (dataset.empty()) throw Error("model '" + a.model + "' does not name its dataset: give --preset or --data");
    // Only digits has no test file: its test rows are drawn with the seed.
    if (a.seed && dataset != "digits")
      throw Error("--seed: only the digits test split is drawn with a seed; data set " + dataset +
                  " has its own test rows");
    if (dataset == "digits") split_seed = a.seed ? *a.seed : net.seed();
    DataSplit split = load_dataset(dataset, a.data_dir, split_seed.value_or(net.seed()));
    test = split.test ? std::move(*split.test) : std::move(split.train);
  }
  const TargetKind targets = check_targets(net.spec(), test);
  const Metrics m = evaluate(net, test);
  out.report = metrics_json(m, test.class_names());
  out.report["model"] = a.model;
  out.report["device"] = net.device().name();
  out.report["rows"] = test.size();
  out.report["dataset"] = dataset;
  out.report["data"] = test.name();
  out.report["targets"] = target_kind_name(targets);
  if (split_seed) out.report["split_seed"] = *split_seed;
  std::ostream& os = out.human();
  os << "test loss " << m.loss << ", accuracy " << m.accuracy << " on " << test.size() << " rows\n";
  char line[128];
  for (int c = 0; c < m.classes; ++c) {
    const auto i = static_cast<std::size_t>(c);
    std::snprintf(line, sizeof line, "  class %-12s precision %.4f  recall %.4f  f1 %.4f\n",
                  i < test.class_names().size() ? test.class_names()[i].c_str() : std::to_string(c).c_str(),
                  m.precision[i], m.recall[i], m.f1[i]);
    os << line;
  }
  if (!a.out.empty()) {
    save_confusion_png(a.out, m, test.class_names());
    out.report["confusion_png"] = a.out;
  }
}

void predict(const EvalArgs& a, Output& out) {
  Checkpoint info;
  Network net = open_model(a, info);
  CsvOptions csv;
  csv.labelled = false;
  if (info.extra.count("input_scale")) csv.scale = std::stod(info.extra.at("input_scale"));
  const Dataset input = load_csv(a.input, csv);
  if (input.features() != net.spec().input_features())
    throw Error("input '" + a.input + "' has " + std::to_string(input.features()) + " values per row, model '" +
                a.model + "' takes " + std::to_string(net.spec().input_features()));
  Tensor x({input.size(), input.features()}, net.dtype());
  std::vector<int64_t> rows(static_cast<std::size_t>(input.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  if (net.dtype() == DType::F32)
    input.gather(rows.data(), input.size(), x.data<float>());
  else
    input.gather(rows.data(), input.size(), x.data<double>());
  const Tensor y = net.forward(x);
  const std::vector<int32_t> classes = net.predict_classes(x);
  nlohmann::json outputs = nlohmann::json::array();
  for (int64_t r = 0; r < y.dim(0); ++r) {
    std::vector<double> row;
    for (int64_t c = 0; c < y.dim(1); ++c) row.push_back(y.at(r * y.dim(1) + c));
    outputs.push_back(row);
    out.human() << classes[static_cast<std::size_t>(r)] << "\n";
  }
  out.report = {{"model", a.model}, {"device", net.device().name()}, {"rows", input.size()}, {"predictions", classes}, {"outputs", outputs}};
}

}  // namespace

namespace {
void add_eval(CLI::App& app, Output& out) {
  static EvalArgs a;
  auto* ev = app.add_subcommand("eval", "Test loss, accuracy, confusion matrix and per-class scores of a model");
  ev->add_option("model", a.model, "model.safetensors")->required();
  ev->add_option("--preset", a.preset, "Dataset of this preset (default: the one the model was trained on)");
  ev->add_option("--data", a.data, "A CSV file (features..., label) instead of a preset's test set (not with "
                                   "--preset, --data-dir or --seed)");
  ev->add_option("--data-dir", a.data_dir, "Folder with the dataset files (refused for xor, which is built in)");
  ev->add_option("--device", a.device, device_help())->capture_default_str();
  ev->add_option("--seed", a.seed, "Seed of the digits test split (default: the model's seed; refused for "
                                   "data sets with their own test files)");
  ev->add_option("--confusion-png", a.out, "Also write the confusion matrix picture here");
  ev->callback([&out] { eval(a, out); });
  auto* pr = app.add_subcommand("predict", "Class (and outputs) for each row of a CSV file of inputs");
  pr->add_option("model", a.model, "model.safetensors")->required();
  pr->add_option("input", a.input, "CSV file, one sample per row (raw values; the model's input scale is applied)")
      ->required();
  pr->add_option("--device", a.device, device_help())->capture_default_str();
  pr->callback([&out] { predict(a, out); });
}

}  // namespace

CUMLP_CLI_COMMAND(40, add_eval);

}  // namespace cumlp::cli
