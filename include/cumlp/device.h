// Devices a Network can run on. The types are registered by the backends this
// build contains (`cumlp info` and device_choices() list them); today:
//
//   cpu      the CPU backend (OpenBLAS GEMM), fp32 or fp64
//   sim      the CUDA kernels executed on the CPU by the SIMT simulator, fp32
//   cuda:N   GPU N (cuda = cuda:0), fp32
//   auto     the best usable device that supports the requested dtype: a
//            usable GPU for fp32, else the CPU (sim is never chosen by auto)
#pragma once

#include <string>
#include <vector>

#include "cumlp/export.h"
#include "cumlp/tensor.h"

namespace cumlp {

struct CUMLP_API Device {
  std::string type = "cpu";  // a registered device type: "cpu", "sim", "cuda"
  int index = 0;             // the instance of an indexed type (GPU ordinal)
  /// "cpu", "sim", "cuda:0".
  std::string name() const;
  /// Parses a --device value: a type name, `type:N` for indexed types, or
  /// "auto" (resolved to best(dtype)). Throws Error for an unknown value, and
  /// for a device this build or this machine cannot run, saying why
  /// ("sim: not built ...", "cuda:1: GPU index 1 out of range ...").
  static Device parse(const std::string& text, DType dtype = DType::F32);
  /// The best usable device that computes in `dtype`: the usable device type
  /// of highest rank (a GPU over the CPU) whose backend supports the dtype.
  static Device best(DType dtype = DType::F32);
  bool operator==(const Device&) const = default;
};

struct CUMLP_API DeviceInfo {
  std::string name;                 // "cpu", "sim", "cuda:0"
  std::string description;          // e.g. CPU model, GPU name and compute capability
  bool available = false;           // usable on this machine now
  std::string why_not;              // when not available: the reason
  double memory_gb = 0;             // GPU memory (0 for cpu/sim)
  std::vector<std::string> dtypes;  // what it computes in: "f32", "f64"
};

/// Every device this build knows, with whether it is usable here: each
/// registered type, and for GPUs every GPU found (cuda:0 at least, with the
/// reason when none is usable).
CUMLP_API std::vector<DeviceInfo> list_devices();

/// Throws Error unless `device` computes the Linear layers' GEMMs in
/// `precision` for `dtype`: FP32 everywhere; TF32 and TF32x3 on the devices
/// with a tensor-core GEMM (cuda, sim) in F32 only.
CUMLP_API void check_precision(const Device& device, DType dtype, Precision precision);

/// The accepted --device values, for help texts: "auto, cpu, sim, cuda, cuda:N".
CUMLP_API std::string device_choices();

}  // namespace cumlp
