#include "host/opcheck/seed_models.h"

namespace cumlp {

std::vector<SeedModel> seed_models() {
  using enum Activation;
  return {
      {"A", ModelSpec::parse("784-100-100-10", ReLU, -1), Optimizer::adam(0.01), 100},
      {"B", ModelSpec::parse("784-500-400-300-200-100-50-10", LeakyReLU, -1), Optimizer::adam(), 256},
      {"C", ModelSpec::parse("2-10-10-10-1", Sigmoid, -1, Sigmoid).loss(LossKind::BCE), Optimizer::sgd(1.0), 4},
      {"D", ModelSpec::parse("64-32-16-10", ReLU, -1), Optimizer::adam(), 1437},
  };
}

}  // namespace cumlp
