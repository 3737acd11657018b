// DeviceType: what a backend registers so that the library, the CLI and the
// tests can name, parse, describe and create it without knowing it. A device
// folder (host/cpu, cuda/) defines one function returning its DeviceType;
// host/core/device_registry.cpp lists those functions, one line each.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cumlp/tensor.h"
#include "host/shared/backend.h"

namespace cumlp {

struct DeviceType {
  std::string name;       // the --device word: "cpu", "sim", "cuda"
  std::string summary;    // one line for help texts and `cumlp info`
  bool indexed = false;   // instances are named name:N ("cuda:1"); the bare name means name:0
  int auto_rank = 0;      // `auto` picks the usable type of highest rank that supports the dtype; 0: never
  std::vector<DType> dtypes;  // what its backend computes in
  /// Its backend has the tensor-core GEMM: Backend::set_precision takes TF32 and TF32x3 (for F32).
  bool tensor_gemm = false;
  /// Instances on this machine (GPUs found); types that are not indexed have 1.
  std::function<int()> count = [] { return 1; };
  /// Why instance `index` cannot be used in this build or on this machine; "" when it can.
  std::function<std::string(int index)> unavailable;
  /// A description of instance `index` (CPU model, GPU name and capability) and
  /// its memory in GiB (0 when it has none of its own). Called only when usable.
  std::function<std::string(int index, double* memory_gb)> describe;
  /// A fresh backend on instance `index` (called only when usable).
  std::function<std::unique_ptr<Backend>(int index)> make;

  bool supports(DType dt) const {
    for (DType d : dtypes)
      if (d == dt) return true;
    return false;
  }
};

/// The entry of a type this build does not contain: known by name, so that
/// asking for it says why it cannot be used instead of "unknown device".
inline DeviceType not_built_device(std::string name, std::string summary, bool indexed, std::string why) {
  DeviceType t;
  t.name = std::move(name);
  t.summary = std::move(summary);
  t.indexed = indexed;
  t.unavailable = [why = std::move(why)](int) { return why; };
  return t;
}

}  // namespace cumlp
