// The memory half of a Backend whose buffers are host memory (the cpu device
// and the plain reference): calloc'd, copied with memcpy, nothing to wait for.
#pragma once

#include <cstdlib>
#include <cstring>

#include "host/shared/backend.h"

namespace cumlp {

class HostMemoryBackend : public Backend {
 public:
  void* alloc(std::size_t bytes) override {
    count_allocation();
    void* p = std::calloc(bytes ? bytes : 1, 1);
    CUMLP_CHECK(p, name(), ": out of host memory allocating ", bytes, " bytes");
    return p;
  }
  void release(void* p) noexcept override { std::free(p); }
  void upload(void* dst, const void* src, std::size_t n) override { std::memcpy(dst, src, n); }
  void download(void* dst, const void* src, std::size_t n) override {
    count_host_sync();
    std::memcpy(dst, src, n);
  }
  void copy(void* dst, const void* src, std::size_t n) override { std::memmove(dst, src, n); }
  void synchronize() override { count_host_sync(); }
  bool memory_is_host() const override { return true; }
};

}  // namespace cumlp
