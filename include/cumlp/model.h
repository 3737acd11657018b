// Model specification: an ordered list of layers and a loss.
//
// A model is built in code (ModelSpec::input(784).linear(100).relu()...) or
// parsed from the CLI form "784-100-100-10" plus one hidden activation. The
// spec is plain data; Network compiles it into a plan for a device.
//
// Layout conventions (PyTorch's): a Linear layer with `in` inputs and `out`
// outputs has weight [out, in] row-major and bias [out]; a batch of inputs is
// [batch, in] row-major; y = x W^T + b.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

enum class Activation { Identity, Step, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax };

/// Lower-case name as used on the command line: identity, step, sigmoid, tanh,
/// relu, leaky-relu, elu, softmax.
CUMLP_API const char* activation_name(Activation a);
/// Parses a name (also accepts "leakyrelu", "leaky_relu", "none", "linear").
/// Throws Error naming the unknown value and listing the valid ones.
CUMLP_API Activation parse_activation(const std::string& name);
/// f(x) for a scalar, with alpha the LeakyReLU slope or ELU alpha. Step is
/// 1 for x > 0 and 0 otherwise (its derivative is taken as 0). Softmax is
/// not elementwise; this throws Error for it.
CUMLP_API double activation_value(Activation a, double x, double alpha);
/// The default alpha of an activation: 0.01 for LeakyReLU, 1 for ELU, 0 otherwise.
CUMLP_API double default_alpha(Activation a);

enum class LayerKind { Linear, Activation, Dropout };

struct Layer {
  LayerKind kind = LayerKind::Linear;
  int64_t in = 0, out = 0;        // Linear: features in and out
  bool bias = true;               // Linear: has a bias
  Activation act = Activation::Identity;
  double alpha = 0;               // Activation: LeakyReLU slope or ELU alpha
  double p = 0;                   // Dropout: probability of zeroing, in [0, 1)
};

enum class LossKind {
  CrossEntropy,   // logits [B, C] + class indices [B]; softmax inside; mean over the batch
  BCE,            // probabilities [B, N] in (0,1) + float targets [B, N]; mean over elements
  MSE,            // outputs [B, N] + float targets [B, N]; mean over elements
  MSESum,         // as MSE, summed
  HalfSSE,        // sum over elements of 0.5 * (t - y)^2 (the backprop worked example)
};

/// cross-entropy, bce, mse, mse-sum, half-sse.
CUMLP_API const char* loss_name(LossKind l);
/// Parses a loss name; throws Error listing the valid ones.
CUMLP_API LossKind parse_loss(const std::string& name);
/// True for the losses whose targets are class indices (cross-entropy).
CUMLP_API bool loss_takes_classes(LossKind l);

class CUMLP_API ModelSpec {
 public:
  ModelSpec() = default;
  /// Starts a model taking `features` inputs per sample.
  static ModelSpec input(int64_t features);
  /// Parses "784-100-100-10": Linear layers between consecutive sizes, `hidden`
  /// after every Linear but the last, `output` after the last (Identity gives
  /// logits). Throws Error on an empty field ("784--10"), a size < 1, a
  /// non-number, or fewer than two sizes.
  static ModelSpec parse(const std::string& layers, Activation hidden, double alpha,
                         Activation output = Activation::Identity);

  /// Appends Linear(current features -> out). Throws Error if out < 1.
  ModelSpec& linear(int64_t out, bool bias = true);
  /// Appends an activation; alpha < 0 means the activation's default.
  ModelSpec& activation(Activation a, double alpha = -1);
  ModelSpec& relu() { return activation(Activation::ReLU); }
  ModelSpec& sigmoid() { return activation(Activation::Sigmoid); }
  ModelSpec& tanh() { return activation(Activation::Tanh); }
  /// The slope / alpha is kept as given: a negative one is rejected by
  /// validate() (activation() would read it as "the default").
  ModelSpec& leaky_relu(double slope = 0.01);
  ModelSpec& elu(double alpha = 1.0);
  /// Appends inverted dropout: in training each value is zeroed with
  /// probability p and the rest scaled by 1/(1-p); identity in evaluation.
  ModelSpec& dropout(double p);
  /// Sets the loss (default: cross-entropy).
  ModelSpec& loss(LossKind l);

  int64_t input_features() const { return input_; }
  /// Features produced by the last layer.
  int64_t output_features() const;
  const std::vector<Layer>& layers() const { return layers_; }
  LossKind loss_kind() const { return loss_; }
  /// Number of Linear layers.
  int linear_count() const;
  /// "784-100(relu)-10 cross-entropy".
  std::string describe() const;
  /// Throws Error with the layer index if the model cannot be compiled: no
  /// input, no Linear, an activation or dropout not following a Linear, two
  /// activations in a row, dropout after the last Linear, softmax anywhere but
  /// at the end, cross-entropy after a final activation (it takes logits),
  /// LeakyReLU slope < 0 or ELU alpha <= 0, dropout p outside [0, 1).
  void validate() const;

 private:
  int64_t input_ = 0;
  std::vector<Layer> layers_;
  LossKind loss_ = LossKind::CrossEntropy;
};

}  // namespace cumlp
