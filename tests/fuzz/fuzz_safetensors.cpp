// .safetensors reader (io::read_safetensors): the input is the file. A file
// that parses must hold tensors whose bytes match their shapes.
#include <cstdlib>

#include "cumlp/error.h"
#include "host/io/safetensors.h"
#include "tests/fuzz/mem_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cumlp::fuzz::MemFile file("st");
  try {
    const cumlp::io::SafetensorsFile f = cumlp::io::read_safetensors(file.set(data, size));
    size_t total = 0;
    for (const auto& [name, t] : f.tensors) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      if (static_cast<size_t>(n) * cumlp::io::dtype_size(t.dtype) != t.bytes.size()) std::abort();
      total += t.bytes.size();
    }
    if (total + 8 > size) std::abort();
  } catch (const cumlp::Error&) {
  }
  return 0;
}
