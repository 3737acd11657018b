// CSV tables (load_csv). Input: one byte of options (bit 0 header, bit 1
// unlabelled, bit 2 label column first, bits 3-5 num_classes), then the file.
#include <vector>

#include "cumlp/data.h"
#include "cumlp/error.h"
#include "tests/fuzz/mem_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cumlp::fuzz::MemFile file("csv");
  if (size < 1) return 0;
  cumlp::CsvOptions o;
  o.header = data[0] & 1;
  o.labelled = !(data[0] & 2);
  o.label_column = (data[0] & 4) ? 0 : -1;
  o.num_classes = (data[0] >> 3) & 7;
  try {
    const cumlp::Dataset d = cumlp::load_csv(file.set(data + 1, size - 1), o);
    const int64_t rows[1] = {d.size() - 1};
    std::vector<double> x(static_cast<size_t>(d.features()));
    d.gather(rows, 1, x.data());
    // One-hot targets of a label-range the file chose: bounded by the check below.
    if (d.num_classes() <= 4096) {
      std::vector<float> t(static_cast<size_t>(d.target_width()));
      d.gather_targets(rows, 1, t.data());
    }
  } catch (const cumlp::Error&) {
  }
  return 0;
}
