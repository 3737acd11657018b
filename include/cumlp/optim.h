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
  /// SGD only, as torch.optim.SGD (dampening 0): a velocity buffer b (zero at
  /// the start) follows b = momentum * b + g, and the step uses b, or with
  /// nesterov g + momentum * b. 0 is plain SGD. In [0, 1).
  double momentum = 0;
  /// SGD only: Nesterov's momentum (needs momentum > 0).
  bool nesterov = false;

  static Optimizer sgd(double lr, double momentum = 0, bool nesterov = false);
  static Optimizer adam(double lr = 1e-3, double weight_decay = 0);
  static Optimizer adamw(double lr = 1e-3, double weight_decay = 1e-2);

  /// Throws Error naming the offending field: lr <= 0 or not finite, betas
  /// outside [0, 1), eps <= 0, weight_decay or l1 negative, momentum outside
  /// [0, 1) or set for Adam/AdamW, nesterov without momentum.
  void validate() const;
  /// "adam(lr=0.001)" and the non-zero penalties, momentum and nesterov.
  std::string describe() const;
};

/// sgd, adam, adamw; throws Error listing the valid names.
CUMLP_API OptimizerKind parse_optimizer(const std::string& name);
CUMLP_API const char* optimizer_name(OptimizerKind k);

}  // namespace cumlp
