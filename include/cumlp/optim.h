// Optimizer settings. One optimizer updates every parameter (weights and
// biases) of a network, as torch.optim does with model.parameters().
#pragma once

#include <string>

#include "cumlp/export.h"

namespace cumlp {

enum class OptimizerKind { SGD, Adam, AdamW };

struct CUMLP_API Optimizer {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 1e-3;            // learning rate, > 0
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam / AdamW
  /// SGD, Adam: L2 penalty added to the gradient (g += weight_decay * p), as
  /// torch.optim's weight_decay. AdamW: decoupled decay p -= lr * wd * p.
  double weight_decay = 0;
  /// L1 penalty: g += l1 * sign(p), the gradient of l1 * sum |p|.
  double l1 = 0;

  static Optimizer sgd(double lr);
  static Optimizer adam(double lr = 1e-3, double weight_decay = 0);
  static Optimizer adamw(double lr = 1e-3, double weight_decay = 1e-2);

  /// Throws Error naming the offending field: lr <= 0 or not finite, betas
  /// outside [0, 1), eps <= 0, weight_decay or l1 negative.
  void validate() const;
  /// "adam(lr=0.001)" and the non-zero penalties.
  std::string describe() const;
};

/// sgd, adam, adamw; throws Error listing the valid names.
CUMLP_API OptimizerKind parse_optimizer(const std::string& name);
CUMLP_API const char* optimizer_name(OptimizerKind k);

}  // namespace cumlp
