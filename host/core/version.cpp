#include "cumlp/cumlp.h"

namespace cumlp {

const char* version() { return CUMLP_VERSION_STRING; }

std::string build_info() {
  std::string s;
#if defined(CUMLP_HAVE_CUDA)
  s += "cuda=on";
#else
  s += "cuda=off";
#endif
#if defined(CUMLP_HAVE_SIM)
  s += " sim=on";
#else
  s += " sim=off";
#endif
  s += " blas=openblas";
#if defined(NDEBUG)
  s += " build=release";
#else
  s += " build=debug";
#endif
  return s;
}

}  // namespace cumlp
