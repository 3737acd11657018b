// Train a 2-10-10-10-1 sigmoid MLP on XOR with full-batch SGD and print its
// predictions. Exits 0 when it learned 0,1,1,0.
#include <cstdio>

#include <cumlp/cumlp.h>

int main() {
  try {
    cumlp::ModelSpec spec =
        cumlp::ModelSpec::parse("2-10-10-10-1", cumlp::Activation::Sigmoid, -1, cumlp::Activation::Sigmoid);
    spec.loss(cumlp::LossKind::BCE);
    cumlp::Network net(spec, cumlp::Optimizer::sgd(1.0), {.device = cumlp::Device::parse("auto"), .seed = 777});
    const auto x = cumlp::Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
    const auto y = cumlp::Tensor::from({4, 1}, {0, 1, 1, 0});
    double loss = 0;
    for (int step = 0; step < 10001; ++step) loss = net.train_step(x, y);
    const std::vector<int32_t> pred = net.predict_classes(x);
    std::printf("cumlp %s on %s: loss %.6f, predictions %d%d%d%d\n", cumlp::version(), net.device().name().c_str(), loss,
                pred[0], pred[1], pred[2], pred[3]);
    return pred == std::vector<int32_t>{0, 1, 1, 0} ? 0 : 1;
  } catch (const cumlp::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
