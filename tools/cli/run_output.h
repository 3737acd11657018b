// What `cumlp train` and `cumlp eval` leave in a run folder: the JSON report
// and the pictures, each written whole or not at all.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cumlp/train.h"

namespace cumlp::cli {

/// JSON of a Metrics: test_loss, test_accuracy, confusion, precision/recall/f1.
nlohmann::json metrics_json(const Metrics& m, const std::vector<std::string>& class_names);
/// Confusion-matrix heatmap; names default to the class indices.
void save_confusion_png(const std::string& path, const Metrics& m, std::vector<std::string> names);
/// A grid of the first (up to 32) images of an image dataset with their labels
/// (and predicted classes when given). Returns false for non-image datasets.
bool save_samples_png(const std::string& path, const Dataset& data, const std::vector<int32_t>* predicted = nullptr);

}  // namespace cumlp::cli
