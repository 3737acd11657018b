// IDX images + labels (load_idx). Input: 2 bytes little-endian = length of
// the images file, then the images file, then the labels file (either may be
// gzipped). Any input must load or throw cumlp::Error; nothing else.
#include <vector>

#include "cumlp/data.h"
#include "cumlp/error.h"
#include "tests/fuzz/mem_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cumlp::fuzz::MemFile images("images"), labels("labels");
  if (size < 2) return 0;
  size_t split = data[0] | (size_t{data[1]} << 8);
  data += 2;
  size -= 2;
  if (split > size) split = size;
  try {
    const cumlp::Dataset d = cumlp::load_idx(images.set(data, split), labels.set(data + split, size - split),
                                             cumlp::ImageSet::fashion_mnist);
    // Use what was loaded: gather the first and last rows.
    const int64_t rows[2] = {0, d.size() - 1};
    std::vector<float> x(static_cast<size_t>(2 * d.features()));
    d.gather(rows, 2, x.data());
  } catch (const cumlp::Error&) {
  }
  return 0;
}
