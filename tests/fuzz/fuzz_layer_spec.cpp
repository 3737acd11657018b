// Layer-spec strings (ModelSpec::parse, as given to --layers) and activation
// names. Input: one byte picking the hidden activation and whether the rest
// is an activation name, then the text.
#include <string>

#include "cumlp/error.h"
#include "cumlp/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto hidden = static_cast<cumlp::Activation>(data[0] % 7);  // Identity..ELU (not Softmax)
  try {
    if (data[0] & 0x80) {
      cumlp::parse_activation(text);
      return 0;
    }
    const cumlp::ModelSpec s = cumlp::ModelSpec::parse(text, hidden, -1);
    s.validate();
    (void)s.describe();
    (void)s.output_features();
  } catch (const cumlp::Error&) {
  }
  return 0;
}
