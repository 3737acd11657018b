// `cumlp demo ...`: the course notes' small experiments, run through the
// same Network API users call.
#include <cstdio>

#include "cli.h"
#include "cumlp/cumlp.h"

namespace cumlp::cli {

namespace {

struct DemoOptions {
  std::string device = "auto";
  std::string dtype = "f64";
  uint64_t seed = 777;
  int steps = 10001;
};

// Experiment 1: 2-2-2, no biases, sigmoid everywhere, E = sum 1/2 (t-o)^2, SGD lr 0.5.
void backprop(const DemoOptions& o, Output& out) {
  ModelSpec spec = ModelSpec::input(2).linear(2, false).sigmoid().linear(2, false).sigmoid().loss(LossKind::HalfSSE);
  const DType dt = parse_dtype(o.dtype);
  NetworkOptions opts{Device::parse(o.device, dt), dt, o.seed, 1};
  Network net(spec, Optimizer::sgd(0.5), opts);
  net.set_weight(0, Tensor::from({2, 2}, {0.3, 0.25, 0.4, 0.35}, dt));  // rows h1 = (W1, W2), h2 = (W3, W4)
  net.set_weight(1, Tensor::from({2, 2}, {0.45, 0.4, 0.7, 0.6}, dt));   // rows o1 = (W5, W6), o2 = (W7, W8)
  const Tensor x = Tensor::from({1, 2}, {0.1, 0.2}, dt), t = Tensor::from({1, 2}, {0.4, 0.6}, dt);
  const std::vector<Tensor> layers = net.forward_layers(x);
  const double before = net.train_step(x, t);
  const double after = net.evaluate_loss(x, t);
  const Tensor w1 = net.weight(0), w2 = net.weight(1);
  nlohmann::json weights = {{"W1", w1.at(0)}, {"W2", w1.at(1)}, {"W3", w1.at(2)}, {"W4", w1.at(3)},
                            {"W5", w2.at(0)}, {"W6", w2.at(1)}, {"W7", w2.at(2)}, {"W8", w2.at(3)}};
  out.report = {{"device", net.device().name()}, {"dtype", o.dtype},
                {"h1", layers[0].at(0)}, {"h2", layers[0].at(1)}, {"o1", layers[1].at(0)}, {"o2", layers[1].at(1)},
                {"loss_before", before}, {"loss_after", after}, {"weights_after", weights}};
  std::ostream& os = out.human();
  char line[160];
  std::snprintf(line, sizeof line, "forward: h1=%.8f h2=%.8f o1=%.8f o2=%.8f  E=%.8f\n", layers[0].at(0),
                layers[0].at(1), layers[1].at(0), layers[1].at(1), before);
  os << line;
  for (const auto& [name, value] : weights.items()) {
    std::snprintf(line, sizeof line, "  %s=%.8f", name.c_str(), value.get<double>());
    os << line;
  }
  std::snprintf(line, sizeof line, "\nafter one SGD step (lr 0.5): E=%.8f\n", after);
  os << line;
}

// Experiments 2 and 3: XOR with BCE and SGD lr 1, full batch.
void xor_demo(const DemoOptions& o, bool single, Output& out) {
  ModelSpec spec = single ? ModelSpec::parse("2-1", Activation::Sigmoid, -1, Activation::Sigmoid)
                          : ModelSpec::parse("2-10-10-10-1", Activation::Sigmoid, -1, Activation::Sigmoid);
  spec.loss(LossKind::BCE);
  const DType dt = parse_dtype(o.dtype);
  Network net(spec, Optimizer::sgd(1.0), NetworkOptions{Device::parse(o.device, dt), dt, o.seed, 4});
  const Tensor x = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}, dt), t = Tensor::from({4, 1}, {0, 1, 1, 0}, dt);
  double loss = 0;
  std::ostream& os = out.human();
  for (int step = 0; step < o.steps; ++step) {
    loss = net.train_step(x, t);
    if (step % 1000 == 0) os << "step " << step << "  loss " << loss << "\n";
  }
  const double final_loss = net.evaluate_loss(x, t);
  const Tensor prob = net.forward(x);
  const std::vector<int32_t> pred = net.predict_classes(x);
  int correct = 0;
  nlohmann::json probs = nlohmann::json::array();
  for (int i = 0; i < 4; ++i) {
    correct += pred[static_cast<std::size_t>(i)] == static_cast<int>(t.at(i));
    probs.push_back(prob.at(i));
  }
  const double accuracy = correct / 4.0;
  out.report = {{"model", spec.describe()}, {"device", net.device().name()}, {"dtype", o.dtype}, {"seed", o.seed},
                {"steps", o.steps},
                {"loss", final_loss}, {"probabilities", probs}, {"predictions", pred}, {"accuracy", accuracy}};
  os << (single ? "single layer" : "2-10-10-10-1") << ": loss " << final_loss << ", predictions " << pred[0] << pred[1]
     << pred[2] << pred[3] << ", accuracy " << accuracy << "\n";
}

// Fixed-weight gates and the perceptron learning rule on AND and OR.
void gates(Output& out) {
  std::ostream& os = out.human();
  nlohmann::json tables = nlohmann::json::object();
  for (Gate g : {Gate::AND, Gate::NAND, Gate::OR, Gate::XOR}) {
    nlohmann::json rows = nlohmann::json::array();
    os << gate_name(g) << ":";
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        rows.push_back({a, b, gate_output(g, a, b)});
        os << "  " << a << b << "->" << gate_output(g, a, b);
      }
    os << "\n";
    tables[gate_name(g)] = rows;
  }
  const std::vector<std::vector<double>> xs = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  nlohmann::json learned = nlohmann::json::object();
  for (auto [name, targets] : {std::pair<const char*, std::vector<int>>{"AND", {-1, -1, -1, 1}},
                               std::pair<const char*, std::vector<int>>{"OR", {-1, 1, 1, 1}}}) {
    Perceptron p(2, 0.1);
    const std::vector<int> errors = p.fit(xs, targets, 10);
    std::vector<int> pred;
    for (const auto& x : xs) pred.push_back(p.predict(x));
    learned[name] = {{"errors_per_epoch", errors}, {"weights", p.weights()}, {"bias", p.bias()},
                     {"predictions", pred}, {"learned", pred == targets}};
    os << "perceptron " << name << ": errors per epoch";
    for (int e : errors) os << " " << e;
    os << "; predictions " << nlohmann::json(pred).dump() << (pred == targets ? " (learned)" : " (NOT learned)")
       << "\n";
  }
  out.report = {{"gates", tables}, {"perceptron", learned}};
}

}  // namespace

namespace {
void add_demo(CLI::App& app, Output& out) {
  auto* demo = app.add_subcommand("demo", "The course notes' small experiments");
  demo->require_subcommand(1);
  static DemoOptions o;
  // backprop sets every weight itself: it has no --seed (nothing random) and no --steps (one step).
  auto common = [](CLI::App* c, bool trains) {
    c->add_option("--device", o.device, device_help())->capture_default_str();
    c->add_option("--dtype", o.dtype, "f32 or f64")->capture_default_str()->check(CLI::IsMember({"f32", "f64"}));
    if (!trains) return;
    c->add_option("--seed", o.seed, "Seed of the weight initialisation")->capture_default_str();
    c->add_option("--steps", o.steps, "Full-batch SGD steps")->capture_default_str()->check(CLI::PositiveNumber);
  };
  auto* bp = demo->add_subcommand("backprop", "The 2-2-2 backpropagation worked example, one SGD step");
  common(bp, false);
  bp->callback([&out] { backprop(o, out); });
  auto* g = demo->add_subcommand("gates", "AND/NAND/OR/XOR perceptrons and the perceptron learning rule");
  g->callback([&out] { gates(out); });
  auto* xs = demo->add_subcommand("xor-single", "XOR with one Linear(2,1)+sigmoid layer (it must fail)");
  common(xs, true);
  xs->callback([&out] { xor_demo(o, true, out); });
  auto* x = demo->add_subcommand("xor", "XOR with a 2-10-10-10-1 sigmoid MLP");
  common(x, true);
  x->callback([&out] { xor_demo(o, false, out); });
}

}  // namespace

CUMLP_CLI_COMMAND(20, add_demo);

}  // namespace cumlp::cli
