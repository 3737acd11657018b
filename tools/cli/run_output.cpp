#include "run_output.h"

#include "cumlp/plot.h"

namespace cumlp::cli {

nlohmann::json metrics_json(const Metrics& m, const std::vector<std::string>& class_names) {
  nlohmann::json confusion = nlohmann::json::array();
  for (int r = 0; r < m.classes; ++r) {
    auto first = m.confusion.begin() + static_cast<std::ptrdiff_t>(r) * m.classes;
    confusion.push_back(std::vector<int64_t>(first, first + m.classes));
  }
  nlohmann::json j = {{"test_loss", m.loss}, {"test_accuracy", m.accuracy}, {"confusion", confusion},
                      {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}};
  if (!class_names.empty()) j["class_names"] = class_names;
  return j;
}

void save_confusion_png(const std::string& path, const Metrics& m, std::vector<std::string> names) {
  if (names.size() != static_cast<std::size_t>(m.classes)) {
    names.clear();
    for (int c = 0; c < m.classes; ++c) names.push_back(std::to_string(c));
  }
  plot_confusion_matrix(path, m.confusion, m.classes, m.classes, names);
}

bool save_samples_png(const std::string& path, const Dataset& data, const std::vector<int32_t>* predicted) {
  const std::vector<int64_t>& shape = data.sample_shape();
  if (data.storage() != Storage::u8 || shape.size() != 3) return false;
  const int64_t n = std::min<int64_t>(32, data.size()), per = data.features();
  std::vector<std::string> labels;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = data.labels()[static_cast<std::size_t>(i)];
    std::string text = static_cast<std::size_t>(label) < data.class_names().size()
                           ? data.class_names()[static_cast<std::size_t>(label)] : std::to_string(label);
    if (predicted) text += (*predicted)[static_cast<std::size_t>(i)] == label ? "" : " X";
    labels.push_back(text);
  }
  const std::span<const uint8_t> pixels(data.u8().data(), static_cast<std::size_t>(n * per));
  save_image_grid(path, pixels, n, shape[0], shape[1], shape[2], labels, 8, 3);
  return true;
}

}  // namespace cumlp::cli
