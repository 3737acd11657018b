// What ptxas gave each compiled kernel (registers, shared and local memory),
// captured at build time when the library is built with CUDA
// (cmake/capture_ptxas.sh, cmake/kernel_resources.cmake); empty in a build without nvcc.
#pragma once

#include <string>
#include <vector>

namespace cumlp {

struct KernelResources {
  const char* mangled;  ///< the kernel's symbol
  int arch;             ///< SASS architecture: 80, 90
  int registers;        ///< per thread
  int static_smem;      ///< bytes per block
  int spill_bytes;      ///< spill stores per thread (0: the CUDA build fails on a spill)
  int stack_bytes;
};

/// Every kernel of every compiled architecture; empty without CUDA.
const std::vector<KernelResources>& compiled_kernel_resources();
/// Where the figures came from, or why there are none.
std::string kernel_resources_source();

}  // namespace cumlp
