#include "cumlp/model.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
struct NamedActivation { const char* name; Activation act; };
constexpr NamedActivation kActivations[] = {
    {"identity", Activation::Identity}, {"step", Activation::Step},           {"sigmoid", Activation::Sigmoid},
    {"tanh", Activation::Tanh},         {"relu", Activation::ReLU},           {"leaky-relu", Activation::LeakyReLU},
    {"elu", Activation::ELU},           {"softmax", Activation::Softmax},
};
struct NamedLoss { const char* name; LossKind loss; };
constexpr NamedLoss kLosses[] = {{"cross-entropy", LossKind::CrossEntropy}, {"bce", LossKind::BCE},
                                 {"mse", LossKind::MSE}, {"mse-sum", LossKind::MSESum}, {"half-sse", LossKind::HalfSSE}};
}  // namespace

const char* activation_name(Activation a) {
  for (const auto& n : kActivations)
    if (n.act == a) return n.name;
  return "?";
}

Activation parse_activation(const std::string& name) {
  for (const auto& n : kActivations)
    if (name == n.name) return n.act;
  if (name == "leakyrelu" || name == "leaky_relu") return Activation::LeakyReLU;
  if (name == "none" || name == "linear") return Activation::Identity;
  CUMLP_THROW("unknown activation '", name, "' (expected identity, step, sigmoid, tanh, relu, leaky-relu, elu, softmax)");
}

double default_alpha(Activation a) {
  return a == Activation::LeakyReLU ? 0.01 : a == Activation::ELU ? 1.0 : 0.0;
}

double activation_value(Activation a, double x, double alpha) {
  switch (a) {
    case Activation::Identity: return x;
    case Activation::Step: return x > 0 ? 1 : 0;
    case Activation::Sigmoid: return 1 / (1 + std::exp(-x));
    case Activation::Tanh: return std::tanh(x);
    case Activation::ReLU: return x > 0 ? x : 0;
    case Activation::LeakyReLU: return x > 0 ? x : alpha * x;
    case Activation::ELU: return x > 0 ? x : alpha * std::expm1(x);
    case Activation::Softmax: break;
  }
  CUMLP_THROW("softmax is a row operation, not an elementwise function");
}

const char* loss_name(LossKind l) {
  for (const auto& n : kLosses)
    if (n.loss == l) return n.name;
  return "?";
}

LossKind parse_loss(const std::string& name) {
  for (const auto& n : kLosses)
    if (name == n.name) return n.loss;
  if (name == "ce" || name == "cross_entropy") return LossKind::CrossEntropy;
  CUMLP_THROW("unknown loss '", name, "' (expected cross-entropy, bce, mse, mse-sum, half-sse)");
}

bool loss_takes_classes(LossKind l) { return l == LossKind::CrossEntropy; }

ModelSpec ModelSpec::input(int64_t features) {
  CUMLP_CHECK(features >= 1, "model input must have at least 1 feature, got ", features);
  ModelSpec s;
  s.input_ = features;
  return s;
}

ModelSpec ModelSpec::parse(const std::string& text, Activation hidden, double alpha, Activation output) {
  std::vector<int64_t> sizes;
  std::size_t start = 0;
  while (true) {
    const std::size_t dash = text.find('-', start);
    const std::string field = text.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    CUMLP_CHECK(!field.empty(), "layer spec '", text, "': empty size at position ", start + 1);
    char* end = nullptr;
    const long long v = std::strtoll(field.c_str(), &end, 10);
    CUMLP_CHECK(*end == '\0' && field.find_first_not_of("0123456789") == std::string::npos,
                "layer spec '", text, "': '", field, "' is not a number");
    CUMLP_CHECK(v >= 1 && v <= (1LL << 24), "layer spec '", text, "': size ", field, " out of range [1, 16777216]");
    sizes.push_back(v);
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  CUMLP_CHECK(sizes.size() >= 2, "layer spec '", text, "' needs at least an input and an output size (e.g. 784-10)");
  ModelSpec s = input(sizes[0]);
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    s.linear(sizes[i]);
    const Activation a = i + 1 < sizes.size() ? hidden : output;
    if (a != Activation::Identity) s.activation(a, i + 1 < sizes.size() ? alpha : -1);
  }
  return s;
}

ModelSpec& ModelSpec::linear(int64_t out, bool bias) {
  CUMLP_CHECK(out >= 1, "layer ", layers_.size(), ": Linear needs at least 1 output, got ", out);
  Layer l;
  l.kind = LayerKind::Linear;
  l.in = output_features();
  l.out = out;
  l.bias = bias;
  layers_.push_back(l);
  return *this;
}

ModelSpec& ModelSpec::activation(Activation a, double alpha) {
  Layer l;
  l.kind = LayerKind::Activation;
  l.act = a;
  l.alpha = alpha < 0 ? default_alpha(a) : alpha;
  layers_.push_back(l);
  return *this;
}

ModelSpec& ModelSpec::leaky_relu(double slope) {
  activation(Activation::LeakyReLU);
  layers_.back().alpha = slope;
  return *this;
}

ModelSpec& ModelSpec::elu(double alpha) {
  activation(Activation::ELU);
  layers_.back().alpha = alpha;
  return *this;
}

ModelSpec& ModelSpec::dropout(double p) {
  Layer l;
  l.kind = LayerKind::Dropout;
  l.p = p;
  layers_.push_back(l);
  return *this;
}

ModelSpec& ModelSpec::loss(LossKind l) {
  loss_ = l;
  return *this;
}

int64_t ModelSpec::output_features() const {
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    if (it->kind == LayerKind::Linear) return it->out;
  return input_;
}

int ModelSpec::linear_count() const {
  int n = 0;
  for (const auto& l : layers_) n += l.kind == LayerKind::Linear;
  return n;
}

std::string ModelSpec::describe() const {
  std::ostringstream os;
  os << input_;
  for (const auto& l : layers_) {
    if (l.kind == LayerKind::Linear) os << '-' << l.out << (l.bias ? "" : "(nobias)");
    if (l.kind == LayerKind::Activation) os << '(' << activation_name(l.act) << ')';
    if (l.kind == LayerKind::Dropout) os << "(dropout " << l.p << ')';
  }
  os << ' ' << loss_name(loss_);
  return os.str();
}

void ModelSpec::validate() const {
  CUMLP_CHECK(input_ >= 1, "model has no input size (start with ModelSpec::input(n))");
  CUMLP_CHECK(linear_count() > 0, "model is empty: it has no Linear layer");
  CUMLP_CHECK(layers_.front().kind == LayerKind::Linear, "layer 0: a model must start with a Linear layer");
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const LayerKind prev = i ? layers_[i - 1].kind : LayerKind::Linear;
    const bool after_last_linear = [&] {
      for (std::size_t j = i + 1; j < layers_.size(); ++j)
        if (layers_[j].kind == LayerKind::Linear) return false;
      return true;
    }();
    if (l.kind == LayerKind::Activation) {
      CUMLP_CHECK(prev == LayerKind::Linear, "layer ", i, ": activation ", activation_name(l.act),
                  " must directly follow a Linear layer");
      CUMLP_CHECK(l.act != Activation::LeakyReLU || (l.alpha >= 0 && std::isfinite(l.alpha)), "layer ", i,
                  ": LeakyReLU slope must be >= 0, got ", l.alpha);
      CUMLP_CHECK(l.act != Activation::ELU || (l.alpha > 0 && std::isfinite(l.alpha)), "layer ", i,
                  ": ELU alpha must be > 0, got ", l.alpha);
      CUMLP_CHECK(l.act != Activation::Softmax || after_last_linear, "layer ", i,
                  ": softmax is only allowed after the last Linear layer");
      CUMLP_CHECK(!(after_last_linear && loss_ == LossKind::CrossEntropy), "layer ", i, ": cross-entropy takes logits;",
                  " remove the final ", activation_name(l.act), " (softmax is applied inside the loss)");
    }
    if (l.kind == LayerKind::Dropout) {
      CUMLP_CHECK(prev != LayerKind::Dropout, "layer ", i, ": two dropouts in a row");
      CUMLP_CHECK(l.p >= 0 && l.p < 1, "layer ", i, ": dropout probability must be in [0, 1), got ", l.p);
      CUMLP_CHECK(!after_last_linear, "layer ", i, ": dropout after the last Linear layer is not supported");
    }
  }
}

}  // namespace cumlp
