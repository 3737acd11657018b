// CIFAR-10 binary batches (load_cifar10): the input is one batch file (raw or
// gzipped), loaded twice as two batches to exercise concatenation.
#include <vector>

#include "cumlp/data.h"
#include "cumlp/error.h"
#include "tests/fuzz/mem_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cumlp::fuzz::MemFile file("cifar");
  try {
    const std::string& path = file.set(data, size);
    const cumlp::Dataset d = cumlp::load_cifar10({path, path});
    const int64_t rows[1] = {d.size() - 1};
    std::vector<float> x(static_cast<size_t>(d.features()));
    d.gather(rows, 1, x.data());
  } catch (const cumlp::Error&) {
  }
  return 0;
}
