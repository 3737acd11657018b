// The single perceptron of the course notes: a step activation over w.x + b.
//
// Fixed-weight logic gates (outputs 0/1, step(w.x + b) = 1 if w.x + b > 0):
//   AND  w=( 0.5,  0.5) b=-0.7     NAND w=(-0.5, -0.5) b= 0.7
//   OR   w=( 0.6,  0.6) b=-0.5     XOR(x) = AND(NAND(x), OR(x))  (two layers)
//
// Perceptron: Rosenblatt's learning rule with predictions in {-1, 1}:
//   w += rate * (t - predict(x)) * x,   b += rate * (t - predict(x)).
#pragma once

#include <cstdint>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

enum class Gate { AND, NAND, OR, XOR };

/// Output (0 or 1) of a fixed-weight gate for inputs x1, x2 in {0, 1}.
/// Throws Error if an input is not 0 or 1.
CUMLP_API int gate_output(Gate gate, int x1, int x2);
/// "AND", "NAND", "OR", "XOR".
CUMLP_API const char* gate_name(Gate gate);

class CUMLP_API Perceptron {
 public:
  /// inputs >= 1, rate > 0 (throws Error otherwise). Weights and bias start at 0.
  Perceptron(int inputs, double rate);
  /// 1 if w.x + b > 0 else -1. x has inputs() values (throws Error otherwise).
  int predict(const std::vector<double>& x) const;
  /// Runs `epochs` passes of the learning rule over the samples in order and
  /// returns the number of misclassified samples in each epoch. targets must
  /// be -1 or 1, one per sample; every sample must have inputs() values.
  std::vector<int> fit(const std::vector<std::vector<double>>& samples, const std::vector<int>& targets, int epochs);

  int inputs() const { return static_cast<int>(w_.size()); }
  const std::vector<double>& weights() const { return w_; }
  double bias() const { return b_; }

 private:
  std::vector<double> w_;
  double b_ = 0, rate_;
};

}  // namespace cumlp
