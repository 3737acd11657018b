#include "host/train/batch.h"

#include "cumlp/train.h"
#include "host/shared/error_macros.h"

namespace cumlp {

BatchStage::BatchStage(const Network& net, const Dataset& data)
    : data_(data), dtype_(net.dtype()), classes_(loss_takes_classes(net.spec().loss_kind())),
      outputs_(net.spec().output_features()) {
  (void)check_targets(net.spec(), data);
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
