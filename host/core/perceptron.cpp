#include "cumlp/perceptron.h"

#include <cmath>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
struct GateWeights { double w1, w2, b; };
GateWeights weights_of(Gate g) {
  switch (g) {
    case Gate::AND: return {0.5, 0.5, -0.7};
    case Gate::NAND: return {-0.5, -0.5, 0.7};
    default: return {0.6, 0.6, -0.5};  // OR
  }
}
int step(double v) { return v > 0 ? 1 : 0; }
}  // namespace

const char* gate_name(Gate g) {
  switch (g) {
    case Gate::AND: return "AND";
    case Gate::NAND: return "NAND";
    case Gate::OR: return "OR";
    case Gate::XOR: return "XOR";
  }
  return "?";
}

int gate_output(Gate g, int x1, int x2) {
  CUMLP_CHECK((x1 == 0 || x1 == 1) && (x2 == 0 || x2 == 1), "gate inputs must be 0 or 1, got (", x1, ", ", x2, ")");
  if (g == Gate::XOR) return gate_output(Gate::AND, gate_output(Gate::NAND, x1, x2), gate_output(Gate::OR, x1, x2));
  const GateWeights w = weights_of(g);
  return step(w.w1 * x1 + w.w2 * x2 + w.b);
}

Perceptron::Perceptron(int inputs, double rate) : w_(inputs > 0 ? static_cast<std::size_t>(inputs) : 0), rate_(rate) {
  CUMLP_CHECK(inputs >= 1, "perceptron needs at least 1 input, got ", inputs);
  CUMLP_CHECK(std::isfinite(rate) && rate > 0, "perceptron learning rate must be positive, got ", rate);
}

int Perceptron::predict(const std::vector<double>& x) const {
  CUMLP_CHECK(x.size() == w_.size(), "perceptron input has ", x.size(), " values, expected ", w_.size());
  double z = b_;
  for (std::size_t i = 0; i < w_.size(); ++i) z += w_[i] * x[i];
  return z > 0 ? 1 : -1;
}

std::vector<int> Perceptron::fit(const std::vector<std::vector<double>>& samples, const std::vector<int>& targets,
                                 int epochs) {
  CUMLP_CHECK(samples.size() == targets.size() && !samples.empty(), "perceptron fit: ", samples.size(),
              " samples but ", targets.size(), " targets");
  CUMLP_CHECK(epochs >= 1, "perceptron fit: epochs must be >= 1, got ", epochs);
  for (std::size_t i = 0; i < targets.size(); ++i)
    CUMLP_CHECK(targets[i] == 1 || targets[i] == -1, "perceptron target ", i, " must be -1 or 1, got ", targets[i]);
  std::vector<int> errors;
  for (int e = 0; e < epochs; ++e) {
    int wrong = 0;
    for (std::size_t s = 0; s < samples.size(); ++s) {
      const double update = rate_ * (targets[s] - predict(samples[s]));
      for (std::size_t i = 0; i < w_.size(); ++i) w_[i] += update * samples[s][i];
      b_ += update;
      wrong += update != 0;
    }
    errors.push_back(wrong);
  }
  return errors;
}

}  // namespace cumlp
