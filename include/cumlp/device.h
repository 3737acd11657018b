// Devices a Network can run on.
//
//   cpu      the CPU backend (OpenBLAS GEMM), fp32 or fp64
//   sim      the CUDA kernels executed on the CPU by the SIMT simulator
//   cuda:N   GPU N (cuda = cuda:0)
//   auto     cuda:0 if a GPU is usable, else cpu
#pragma once

#include <string>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

enum class DeviceKind { CPU, Sim, CUDA };

struct CUMLP_API Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;  // GPU ordinal for CUDA
  /// "cpu", "sim", "cuda:0".
  std::string name() const;
  /// Parses a --device value. "auto" resolves to the best device available.
  /// Throws Error for an unknown value, and for a device this build or this
  /// machine cannot run ("sim: not built ...", "cuda: no GPU ...").
  static Device parse(const std::string& text);
  /// The best available device: the first usable GPU, else the CPU.
  static Device best();
};

struct CUMLP_API DeviceInfo {
  std::string name;         // "cpu", "sim", "cuda:0"
  std::string description;  // e.g. CPU model, GPU name
  bool available = false;   // usable on this machine now
  std::string why_not;      // when not available: the reason
  double memory_gb = 0;     // GPU memory (0 for cpu/sim)
};

/// Every device kind this build knows, with whether it is usable here.
CUMLP_API std::vector<DeviceInfo> list_devices();

}  // namespace cumlp
