// Whether a data set fits a model and its loss, and how its labels become
// targets (cumlp/train.h documents the rules): checked before any training or
// evaluation, by the trainer, Network::upload_dataset and the CLI.
#include <algorithm>

#include "cumlp/train.h"
#include "host/shared/error_macros.h"

namespace cumlp {

namespace {

// The activation after the last Linear layer (Identity when there is none).
Activation output_activation(const ModelSpec& spec) {
  Activation out = Activation::Identity;
  for (const Layer& l : spec.layers()) {
    if (l.kind == LayerKind::Linear) out = Activation::Identity;
    if (l.kind == LayerKind::Activation) out = l.act;
  }
  return out;
}

// BCE takes probabilities: explicit targets must lie in [0, 1].
void check_probability_targets(const Dataset& data, const std::string& name) {
  const int64_t width = data.target_width(), block = 1024;
  std::vector<int64_t> rows;
  std::vector<float> values;
  for (int64_t first = 0; first < data.size(); first += block) {
    const int64_t n = std::min(block, data.size() - first);
    rows.resize(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = first + i;
    values.resize(static_cast<std::size_t>(n * width));
    data.gather_targets(rows.data(), n, values.data());
    for (std::size_t i = 0; i < values.size(); ++i)
      CUMLP_CHECK(values[i] >= 0 && values[i] <= 1, name, ": target ", values[i], " of row ",
                  first + static_cast<int64_t>(i) / width, " is outside [0, 1] (bce takes 0/1 targets)");
  }
}

}  // namespace

const char* target_kind_name(TargetKind k) {
  switch (k) {
    case TargetKind::ClassIndex: return "class-index";
    case TargetKind::OneHot: return "one-hot";
    case TargetKind::Given: return "given";
  }
  return "?";
}

TargetKind check_targets(const ModelSpec& spec, const Dataset& data) {
  const std::string name = data.name().empty() ? "dataset" : "dataset '" + data.name() + "'";
  const LossKind loss = spec.loss_kind();
  const int64_t outputs = spec.output_features();
  CUMLP_CHECK(data.size() > 0, name, " is empty");
  CUMLP_CHECK(data.features() == spec.input_features(), name, " has ", data.features(),
              " features per sample, the model takes ", spec.input_features());
  if (loss_takes_classes(loss)) {
    CUMLP_CHECK(outputs >= 2, "cross-entropy needs one output per class (at least 2), the model has ", outputs,
                "; for one 0/1 output use bce with a sigmoid output");
    CUMLP_CHECK(data.num_classes() <= outputs, name, " has ", data.num_classes(), " classes, the model has ", outputs,
                " outputs (cross-entropy needs every label below the output count)");
    return TargetKind::ClassIndex;
  }
  if (loss == LossKind::BCE) {
    const Activation out = output_activation(spec);
    CUMLP_CHECK(out == Activation::Sigmoid || out == Activation::Softmax, "bce takes probabilities: the model's ",
                "last layer must end in sigmoid (or softmax), it ends in ", activation_name(out));
  }
  if (data.has_targets()) {
    CUMLP_CHECK(data.target_width() == outputs, name, " has targets of width ", data.target_width(), ", the model has ",
                outputs, " outputs (", loss_name(loss), ")");
    if (loss == LossKind::BCE) check_probability_targets(data, name);
    return TargetKind::Given;
  }
  CUMLP_CHECK(data.num_classes() == outputs, name, " has class labels 0..", data.num_classes() - 1, ", which ",
              loss_name(loss), " takes as one-hot targets: the model needs one output per class (",
              data.num_classes(), "), it has ", outputs);
  return TargetKind::OneHot;
}

}  // namespace cumlp
