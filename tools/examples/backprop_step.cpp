// The backpropagation worked example (2-2-2, sigmoid, no biases, one SGD step
// of lr 0.5 on E = sum 1/2 (t - o)^2) in double precision. Prints the loss
// before and after and the updated weights; exits 0 when E after matches.
#include <cmath>
#include <cstdio>

#include <cumlp/cumlp.h>

int main() {
  using cumlp::DType;
  using cumlp::Tensor;
  try {
    auto spec = cumlp::ModelSpec::input(2).linear(2, false).sigmoid().linear(2, false).sigmoid();
    spec.loss(cumlp::LossKind::HalfSSE);
    cumlp::Network net(spec, cumlp::Optimizer::sgd(0.5), {.device = cumlp::Device::parse("cpu"), .dtype = DType::F64});
    net.set_weight(0, Tensor::from({2, 2}, {0.3, 0.25, 0.4, 0.35}, DType::F64));
    net.set_weight(1, Tensor::from({2, 2}, {0.45, 0.4, 0.7, 0.6}, DType::F64));
    const Tensor x = Tensor::from({1, 2}, {0.1, 0.2}, DType::F64), t = Tensor::from({1, 2}, {0.4, 0.6}, DType::F64);
    const double before = net.train_step(x, t), after = net.evaluate_loss(x, t);
    const Tensor w = net.weight(1);
    std::printf("E before %.8f, after %.8f; W5..W8 = %.8f %.8f %.8f %.8f\n", before, after, w.at(0), w.at(1), w.at(2),
                w.at(3));
    return std::fabs(after - 0.02323634) < 1e-8 ? 0 : 1;
  } catch (const cumlp::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
