// Host staging of one batch: gathers dataset rows into reusable tensors in
// the network's dtype (no allocation once the largest batch has been seen).
#pragma once

#include <span>

#include "cumlp/data.h"
#include "cumlp/network.h"

namespace cumlp {

class BatchStage {
 public:
  BatchStage(const Network& net, const Dataset& data);
  /// Gathers rows into x [n, features] and the target (class indices for
  /// cross-entropy, else [n, outputs] values).
  void gather(std::span<const int64_t> rows);
  const Tensor& x() const { return x_; }
  const Tensor& target() const { return t_; }

 private:
  const Dataset& data_;
  DType dtype_;
  bool classes_;
  int64_t outputs_;
  Tensor x_, t_;
};


}  // namespace cumlp
