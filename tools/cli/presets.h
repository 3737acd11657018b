// Training presets: the course notes' experiments (SPEC §2) as named recipes,
// and the datasets they read.
#pragma once

#include <optional>
#include <string>

#include "cumlp/cumlp.h"
#include "cumlp/data.h"

namespace cumlp::cli {

struct Preset {
  std::string name;
  std::string dataset;   // mnist, fashion, cifar10, digits, xor
  std::string layers;    // "784-100-100-10"
  Activation hidden = Activation::ReLU;
  Activation output = Activation::Identity;
  LossKind loss = LossKind::CrossEntropy;
  Optimizer optimizer;
  int epochs = 1;
  int64_t batch_size = 100;  // 0: full batch
  double valid_fraction = 0;
  int patience = 0;
};

/// The preset called `name`; throws Error listing the known names.
Preset find_preset(const std::string& name);
/// "mnist-small, mnist-deep, ...".
std::string preset_names();

struct DataSplit {
  Dataset train;
  std::optional<Dataset> test;
};

/// Loads a dataset by name. data_dir overrides the default location (the
/// Debian package's folder for fashion, sklearn's digits.csv.gz for digits);
/// mnist and cifar10 need it. digits has no test file: 20% of its rows,
/// chosen by a permutation seeded with `seed`, become the test set.
DataSplit load_dataset(const std::string& name, const std::string& data_dir, uint64_t seed);

}  // namespace cumlp::cli
