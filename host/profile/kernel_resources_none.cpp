// A build without nvcc has no ptxas figures; the profile says so instead of guessing.
#include "host/profile/kernel_resources.h"

namespace cumlp {

const std::vector<KernelResources>& compiled_kernel_resources() {
  static const std::vector<KernelResources> none;
  return none;
}

std::string kernel_resources_source() {
  return "none: this build has no CUDA (configure with nvcc to capture ptxas figures)";
}

}  // namespace cumlp
