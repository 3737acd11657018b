// The README's example: train 784-100-100-10 ReLU on Fashion-MNIST for three
// epochs with Adam and report the test accuracy. Exits 0 above 0.80.
#include <cstdio>

#include <cumlp/cumlp.h>
#include <cumlp/train.h>

int main() {
  try {
    auto train = cumlp::load_mnist_dir("/usr/share/datasets/fashion-mnist", cumlp::Part::train,
                                       cumlp::ImageSet::fashion_mnist);
    auto test = cumlp::load_mnist_dir("/usr/share/datasets/fashion-mnist", cumlp::Part::test,
                                      cumlp::ImageSet::fashion_mnist);
    auto spec = cumlp::ModelSpec::parse("784-100-100-10", cumlp::Activation::ReLU, -1);
    spec.loss(cumlp::LossKind::CrossEntropy);
    cumlp::Network net(spec, cumlp::Optimizer::adam(0.01), {.device = cumlp::Device::parse("auto"), .seed = 777});
    cumlp::Trainer trainer(net, {.epochs = 3, .batch_size = 100, .valid_fraction = 0});
    cumlp::TrainReport r = trainer.fit(train, &test);
    std::printf("test accuracy %.4f on %s\n", r.test->accuracy, net.device().name().c_str());
    cumlp::save_checkpoint("model.safetensors", net);
    return r.test->accuracy > 0.80 ? 0 : 1;
  } catch (const cumlp::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
