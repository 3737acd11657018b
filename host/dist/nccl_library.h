// libnccl.so.2, loaded at run time (dlopen) by the first cuda rank that needs
// it, so libcumlp never requires NCCL: a process without GPUs ranks, or a
// machine without NCCL, runs everything else. The types come from the nccl.h
// found at build time (CUMLP_NCCL); each function used is looked up by name.
#pragma once

#include <nccl.h>

#include <string>

namespace cumlp {

struct NcclLibrary {
  std::string name;  // as passed to dlopen
  int version = 0;   // ncclGetVersion: major*10000 + minor*100 + patch
  decltype(&::ncclGetVersion) GetVersion = nullptr;
  decltype(&::ncclGetErrorString) GetErrorString = nullptr;
  decltype(&::ncclGetUniqueId) GetUniqueId = nullptr;
  decltype(&::ncclCommInitRankConfig) CommInitRankConfig = nullptr;
  decltype(&::ncclCommGetAsyncError) CommGetAsyncError = nullptr;
  decltype(&::ncclCommFinalize) CommFinalize = nullptr;
  decltype(&::ncclCommDestroy) CommDestroy = nullptr;
  decltype(&::ncclCommAbort) CommAbort = nullptr;
  decltype(&::ncclAllReduce) AllReduce = nullptr;
  decltype(&::ncclRedOpCreatePreMulSum) RedOpCreatePreMulSum = nullptr;
  decltype(&::ncclRedOpDestroy) RedOpDestroy = nullptr;

  /// "what: <NCCL's text for r>".
  std::string error(const char* what, ncclResult_t r) const;
};

/// The oldest NCCL accepted: non-blocking communicators (ncclCommInitRankConfig
/// with config.blocking = 0, ncclCommFinalize) arrived in 2.14.
constexpr int kNcclMinVersion = 21400;

/// Loads `name` (dlopen's search: LD_LIBRARY_PATH, the ld.so cache, ...) and
/// every function above. Throws Error naming the library and what failed:
/// not found, a missing function, or a version older than kNcclMinVersion.
NcclLibrary load_nccl_library(const std::string& name);

/// libnccl.so.2, loaded once per process (and never unloaded: NCCL keeps
/// threads running until exit).
const NcclLibrary& nccl_library();

}  // namespace cumlp
