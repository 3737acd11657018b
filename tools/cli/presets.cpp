#include "presets.h"

#include <cmath>

namespace cumlp::cli {

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";
const std::string kDigitsCsv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

Preset small(const std::string& name, const std::string& dataset) {
  // Experiment 4: 784-100-100-10 ReLU, Adam lr 0.01, batch 100, 3 epochs, whole training set.
  return {name, dataset, "784-100-100-10", Activation::ReLU, Activation::Identity, LossKind::CrossEntropy,
          Optimizer::adam(0.01), 3, 100, 0.0, 0};
}

Preset deep(const std::string& name, const std::string& dataset, const std::string& inputs) {
  // Experiment 5/6: LeakyReLU MLP, Adam defaults, batch 256, up to 100 epochs, 80/20 split, early stopping.
  return {name, dataset, inputs + "-500-400-300-200-100-50-10", Activation::LeakyReLU, Activation::Identity,
          LossKind::CrossEntropy, Optimizer::adam(), 100, 256, 0.2, 5};
}

std::vector<Preset> all_presets() {
  Preset xor_preset{"xor", "xor", "2-10-10-10-1", Activation::Sigmoid, Activation::Sigmoid, LossKind::BCE,
                    Optimizer::sgd(1.0), 10001, 0, 0.0, 0};
  Preset digits{"digits", "digits", "64-32-16-10", Activation::ReLU, Activation::Identity, LossKind::CrossEntropy,
                Optimizer::adam(), 100, 0, 0.0, 0};
  return {small("mnist-small", "mnist"), deep("mnist-deep", "mnist", "784"), small("fashion-small", "fashion"),
          deep("fashion-deep", "fashion", "784"), deep("cifar10", "cifar10", "3072"), digits, xor_preset};
}

}  // namespace

std::string preset_names() {
  std::string s;
  for (const Preset& p : all_presets()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

Preset find_preset(const std::string& name) {
  for (const Preset& p : all_presets())
    if (p.name == name) return p;
  throw Error("unknown preset '" + name + "' (expected " + preset_names() + ")");
}

DataSplit load_dataset(const std::string& name, const std::string& data_dir, uint64_t seed) {
  if (name == "xor") {
    if (!data_dir.empty()) throw Error("--data-dir: the xor data set is built in and reads no files");
    return {xor_table(), xor_table()};
  }
  if (name == "fashion" || name == "mnist") {
    const ImageSet set = name == "fashion" ? ImageSet::fashion_mnist : ImageSet::mnist;
    const std::string dir = !data_dir.empty() ? data_dir : name == "fashion" ? kFashionDir : "";
    if (dir.empty()) throw Error("the mnist presets need --data-dir with the MNIST IDX files (train-images-idx3-ubyte[.gz], ...)");
    return {load_mnist_dir(dir, Part::train, set), load_mnist_dir(dir, Part::test, set)};
  }
  if (name == "cifar10") {
    if (data_dir.empty()) throw Error("the cifar10 preset needs --data-dir with the CIFAR-10 binary batches");
    return {load_cifar10_dir(data_dir, Part::train), load_cifar10_dir(data_dir, Part::test)};
  }
  if (name == "digits") {
    // Raw pixel values 0..16 as in the notes (no scaling); 80/20 train/test
    // with the test part rounded up as sklearn's train_test_split does, so the
    // notes' 1797 rows give their 1437 training rows (round() would give 1438).
    const Dataset all = load_csv(data_dir.empty() ? kDigitsCsv : data_dir + "/digits.csv.gz");
    const double n = static_cast<double>(all.size());
    const Split split = split_indices(all.size(), std::ceil(0.2 * n) / n, seed);
    return {all.subset(split.train), all.subset(split.valid)};
  }
  throw Error("unknown dataset '" + name + "' (expected mnist, fashion, cifar10, digits, xor)");
}

}  // namespace cumlp::cli
