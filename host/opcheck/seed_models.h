// The four seed models: the shapes the op table checks at full size and the
// training steps `cumlp bench` times (include/cumlp/bench.h describes them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cumlp/model.h"
#include "cumlp/optim.h"

namespace cumlp {

struct SeedModel {
  std::string name;  // "A", "B", "C", "D"
  ModelSpec spec;
  Optimizer optimizer;
  int64_t batch;
};

std::vector<SeedModel> seed_models();

}  // namespace cumlp
