#include "host/train/batch.h"

#include "host/shared/error_macros.h"

namespace cumlp {

void check_dataset_fits(const Network& net, const Dataset& data) {
  const ModelSpec& spec = net.spec();
  const std::string name = data.name().empty() ? "dataset" : "dataset '" + data.name() + "'";
  CUMLP_CHECK(data.size() > 0, name, " is empty");
  CUMLP_CHECK(data.features() == spec.input_features(), name, " has ", data.features(), " features per sample, the model takes ",
              spec.input_features());
  if (loss_takes_classes(spec.loss_kind())) {
    CUMLP_CHECK(data.num_classes() <= spec.output_features(), name, " has ", data.num_classes(),
                " classes, the model has ", spec.output_features(), " outputs");
  } else {
    CUMLP_CHECK(data.target_width() == spec.output_features(), name, " has targets of width ", data.target_width(),
                ", the model has ", spec.output_features(), " outputs (", loss_name(spec.loss_kind()), ")");
  }
}

BatchStage::BatchStage(const Network& net, const Dataset& data)
    : data_(data), dtype_(net.dtype()), classes_(loss_takes_classes(net.spec().loss_kind())),
      outputs_(net.spec().output_features()) {
  check_dataset_fits(net, data);
}

void BatchStage::gather(std::span<const int64_t> rows) {
  const auto n = static_cast<int64_t>(rows.size());
  if (x_.rank() != 2 || x_.dim(0) != n) {
    x_ = Tensor({n, data_.features()}, dtype_);
    t_ = classes_ ? Tensor({n}, dtype_) : Tensor({n, outputs_}, dtype_);
  }
  if (dtype_ == DType::F32) {
    data_.gather(rows.data(), n, x_.data<float>());
  } else {
    data_.gather(rows.data(), n, x_.data<double>());
  }
  if (classes_) {
    const std::vector<int32_t>& labels = data_.labels();
    for (int64_t i = 0; i < n; ++i) t_.set(i, labels[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])]);
  } else if (dtype_ == DType::F32) {
    data_.gather_targets(rows.data(), n, t_.data<float>());
  } else {
    data_.gather_targets(rows.data(), n, t_.data<double>());
  }
}

}  // namespace cumlp
