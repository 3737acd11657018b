// Builds without the traced kernels (no simulator, a non-GNU compiler, or
// CUMLP_SANITIZE): tracing says why it is missing instead of failing to link.
#include "host/shared/backend.h"
#include "host/shared/error_macros.h"
#include "host/shared/kernel_trace.h"

namespace cumlp {

namespace {
constexpr const char* kWhy =
    "this build has no access-traced kernels (they need CUMLP_SIM=ON, g++ and CUMLP_SANITIZE=OFF)";
}

bool kernel_tracing_built() { return false; }
std::unique_ptr<Backend> make_traced_sim_backend() { CUMLP_THROW(kWhy); }

#if defined(CUMLP_NO_SIM)
KernelTrace::KernelTrace() { CUMLP_THROW(kWhy); }
KernelTrace::~KernelTrace() = default;
std::vector<KernelCounters> KernelTrace::launches() const { return {}; }
#endif

}  // namespace cumlp
