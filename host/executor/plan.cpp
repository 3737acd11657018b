#include "host/executor/plan.h"

#include <algorithm>

namespace cumlp {

int32_t act_code(Activation a) {
  switch (a) {
    case Activation::Identity: return ops::kIdentity;
    case Activation::Step: return ops::kStep;
    case Activation::Sigmoid: return ops::kSigmoid;
    case Activation::Tanh: return ops::kTanh;
    case Activation::ReLU: return ops::kReLU;
    case Activation::LeakyReLU: return ops::kLeakyReLU;
    case Activation::ELU: return ops::kELU;
    case Activation::Softmax: return ops::kSoftmax;
  }
  return ops::kIdentity;
}

Plan Plan::compile(const ModelSpec& spec) {
  spec.validate();
  Plan plan;
  plan.loss = spec.loss_kind();
  plan.inputs = spec.input_features();
  plan.outputs = spec.output_features();
  int64_t offset = 0;
  for (const Layer& l : spec.layers()) {
    switch (l.kind) {
      case LayerKind::Linear: {
        FusedLayer f;
        f.in = l.in;
        f.out = l.out;
        f.bias = l.bias;
        f.w_offset = offset;
        offset += l.in * l.out;
        if (l.bias) {
          f.b_offset = offset;
          offset += l.out;
        }
        plan.max_width = std::max(plan.max_width, l.out);
        plan.layers.push_back(f);
        break;
      }
      case LayerKind::Activation:  // validate() guarantees it follows a Linear
        plan.layers.back().act = act_code(l.act);
        plan.layers.back().alpha = l.alpha;
        break;
      case LayerKind::Dropout:
        plan.layers.back().dropout_p = l.p;
        break;
    }
  }
  plan.param_count = offset;
  return plan;
}

bool Plan::narrow() const {
  if (layers.empty() || layers.size() > static_cast<std::size_t>(kNarrowMaxLayers) || layers.back().dropout_p > 0)
    return false;
  for (const FusedLayer& l : layers)
    if (l.out > kNarrowMaxWidth) return false;
  return true;
}

}  // namespace cumlp
