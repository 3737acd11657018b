#include "host/dist/nccl_library.h"

#include <dlfcn.h>

#include <mutex>

#include "host/shared/error_macros.h"

namespace cumlp {

std::string NcclLibrary::error(const char* what, ncclResult_t r) const {
  return std::string(what) + ": " + (GetErrorString ? GetErrorString(r) : "NCCL error") + " (ncclResult_t " +
         std::to_string(static_cast<int>(r)) + ")";
}

NcclLibrary load_nccl_library(const std::string& name) {
  void* h = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = ::dlerror();
    CUMLP_THROW("cuda ranks need NCCL: cannot load ", name, " (", why ? why : "not found",
                "); install NCCL (e.g. libnccl2, or the nvidia-nccl-cu13 wheel) and put its folder on "
                "LD_LIBRARY_PATH");
  }
  NcclLibrary lib;
  lib.name = name;
  const auto find = [&](auto& fn, const char* symbol) {
    ::dlerror();
    void* p = ::dlsym(h, symbol);
    if (!p) {
      ::dlclose(h);
      CUMLP_THROW(name, " has no ", symbol, ": NCCL ", kNcclMinVersion / 10000, ".", kNcclMinVersion / 100 % 100,
                  " or newer is needed");
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  find(lib.GetVersion, "ncclGetVersion");
  find(lib.GetErrorString, "ncclGetErrorString");
  find(lib.GetUniqueId, "ncclGetUniqueId");
  find(lib.CommInitRankConfig, "ncclCommInitRankConfig");
  find(lib.CommGetAsyncError, "ncclCommGetAsyncError");
  find(lib.CommFinalize, "ncclCommFinalize");
  find(lib.CommDestroy, "ncclCommDestroy");
  find(lib.CommAbort, "ncclCommAbort");
  find(lib.AllReduce, "ncclAllReduce");
  find(lib.RedOpCreatePreMulSum, "ncclRedOpCreatePreMulSum");
  find(lib.RedOpDestroy, "ncclRedOpDestroy");
  const ncclResult_t r = lib.GetVersion(&lib.version);
  if (r != ncclSuccess) {
    ::dlclose(h);
    CUMLP_THROW(lib.error(("ncclGetVersion of " + name).c_str(), r));
  }
  if (lib.version < kNcclMinVersion) {
    ::dlclose(h);
    CUMLP_THROW(name, " is NCCL ", lib.version, "; ", kNcclMinVersion, " or newer is needed (non-blocking "
                "communicators, for the --dist-timeout bound)");
  }
  return lib;  // the handle stays open for the process's lifetime
}

const NcclLibrary& nccl_library() {
  static std::once_flag once;
  static NcclLibrary lib;
  std::call_once(once, [] { lib = load_nccl_library("libnccl.so.2"); });
  return lib;
}

}  // namespace cumlp
