// Helper for read_with_safetensors.py: writes, or checks, one fixed set of tensors
// and metadata, so that Python's `safetensors` package can check our files and we
// can check its files against the same expectations (mirrored in the script).
//   safetensors_interop_tool write PATH
//   safetensors_interop_tool verify PATH   (exit 0 and "ok" when PATH holds exactly that set)
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <vector>

#include "host/io/safetensors.h"

namespace {

using cumlp::io::StDType;

struct Expected {
  std::vector<float> weight, bias, empty;
  std::vector<double> stats;
  std::vector<std::int64_t> step, labels;
  std::vector<std::int32_t> counts = {INT32_MIN, -1, 0, INT32_MAX};
  std::vector<std::uint8_t> mask;
  std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"layers", "[784, 100, 10]"}, {"note", "unicode \u2713"}};

  Expected() {
    for (int i = 0; i < 12; ++i) weight.push_back(static_cast<float>(i - 5) * 0.25f);
    for (int i = 0; i < 4; ++i) bias.push_back(static_cast<float>(i) * 1.5f - 2.0f);
    for (int i = 0; i < 6; ++i) stats.push_back(i / 3.0);
    step.push_back(1234567890123);
    for (std::int64_t i = 0; i < 5; ++i) labels.push_back((i - 2) * (std::int64_t{1} << 40));
    for (int i = 0; i < 6; ++i) mask.push_back(static_cast<std::uint8_t>(i * 50));
  }

  std::vector<cumlp::io::TensorView> views() const {
    using cumlp::io::tensor_view;
    return {tensor_view<float>("layers.0.weight", {3, 4}, weight), tensor_view<float>("layers.0.bias", {4}, bias),
            tensor_view<double>("stats.f64", {2, 3}, stats),       tensor_view<std::int64_t>("step", {}, step),
            tensor_view<std::int64_t>("labels", {5}, labels),      tensor_view<std::int32_t>("counts", {2, 2}, counts),
            tensor_view<std::uint8_t>("mask", {6}, mask),          tensor_view<float>("empty", {0, 4}, empty)};
  }
};

// Returns the first difference between the file and the expected set, or "".
std::string difference(const cumlp::io::SafetensorsFile& f, const Expected& want) {
  if (f.metadata != want.metadata) return "metadata differs";
  const auto views = want.views();
  if (f.tensors.size() != views.size()) return "file has " + std::to_string(f.tensors.size()) + " tensors, not " +
                                               std::to_string(views.size());
  for (const auto& v : views) {
    const auto it = f.tensors.find(v.name);
    if (it == f.tensors.end()) return "tensor '" + v.name + "' missing";
    const auto& t = it->second;
    if (t.dtype != v.dtype) return "tensor '" + v.name + "' has dtype " + std::string(dtype_name(t.dtype));
    if (t.shape != v.shape) return "tensor '" + v.name + "' has the wrong shape";
    if (!std::equal(t.bytes.begin(), t.bytes.end(), v.bytes.begin(), v.bytes.end()))
      return "tensor '" + v.name + "' has the wrong values";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode != "write" && mode != "verify") {
    std::cerr << "usage: " << argv[0] << " write|verify PATH\n";
    return 2;
  }
  try {
    const Expected want;
    if (mode == "write") {
      cumlp::io::write_safetensors(argv[2], want.views(), want.metadata);
      return 0;
    }
    const std::string diff = difference(cumlp::io::read_safetensors(argv[2]), want);
    if (!diff.empty()) {
      std::cerr << "error: " << argv[2] << ": " << diff << "\n";
      return 1;
    }
    std::cout << "ok\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
