#include "cumlp/optim.h"

#include <cmath>
#include <sstream>

#include "host/shared/error_macros.h"

namespace cumlp {

Optimizer Optimizer::sgd(double lr, double momentum, bool nesterov) {
  Optimizer o;
  o.kind = OptimizerKind::SGD;
  o.lr = lr;
  o.momentum = momentum;
  o.nesterov = nesterov;
  return o;
}

Optimizer Optimizer::adam(double lr, double weight_decay) {
  Optimizer o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  return o;
}

Optimizer Optimizer::adamw(double lr, double weight_decay) {
  Optimizer o = adam(lr, weight_decay);
  o.kind = OptimizerKind::AdamW;
  return o;
}

void Optimizer::validate() const {
  CUMLP_CHECK(std::isfinite(lr) && lr > 0, "learning rate must be a positive number, got ", lr);
  CUMLP_CHECK(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got ", beta1);
  CUMLP_CHECK(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got ", beta2);
  CUMLP_CHECK(std::isfinite(eps) && eps > 0, "eps must be positive, got ", eps);
  CUMLP_CHECK(std::isfinite(weight_decay) && weight_decay >= 0, "weight decay must be >= 0, got ", weight_decay);
  CUMLP_CHECK(std::isfinite(l1) && l1 >= 0, "l1 penalty must be >= 0, got ", l1);
  CUMLP_CHECK(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got ", momentum);
  CUMLP_CHECK(momentum == 0 || kind == OptimizerKind::SGD, "momentum is an SGD setting; ", optimizer_name(kind),
              " uses beta1 instead (got momentum ", momentum, ")");
  CUMLP_CHECK(!nesterov || momentum > 0, "nesterov needs a momentum > 0");
}

std::string Optimizer::describe() const {
  std::ostringstream os;
  os << optimizer_name(kind) << "(lr=" << lr;
  if (weight_decay) os << ", weight_decay=" << weight_decay;
  if (l1) os << ", l1=" << l1;
  if (momentum) os << ", momentum=" << momentum;
  if (nesterov) os << ", nesterov";
  os << ")";
  return os.str();
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::SGD;
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "adamw") return OptimizerKind::AdamW;
  CUMLP_THROW("unknown optimizer '", name, "' (expected sgd, adam, adamw)");
}

const char* optimizer_name(OptimizerKind k) {
  return k == OptimizerKind::SGD ? "sgd" : k == OptimizerKind::Adam ? "adam" : "adamw";
}

}  // namespace cumlp
