// CIFAR-10 binary batches: 3073-byte records (label, then 32x32 R, G, B planes).
#include <filesystem>

#include "cumlp/data.h"
#include "host/shared/error_macros.h"
#include "host/data/read.h"

namespace cumlp {

namespace {
constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int64_t kRecord = 1 + kPixels;
}  // namespace

Dataset load_cifar10(const std::vector<std::string>& files, bool scale) {
  CUMLP_CHECK(!files.empty(), "load_cifar10: no files given");
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (const std::string& path : files) {
    const std::vector<uint8_t> bytes = data::read_file(path);
    CUMLP_CHECK(!bytes.empty(), path, ": empty CIFAR-10 file");
    CUMLP_CHECK(bytes.size() % kRecord == 0, path, ": size ", bytes.size(), " is not a multiple of the ", kRecord,
                "-byte CIFAR-10 record");
    const size_t records = bytes.size() / kRecord;
    std::vector<int32_t> file_labels(records);
    for (size_t r = 0; r < records; ++r) file_labels[r] = bytes[r * kRecord];
    data::check_labels(file_labels, 10, path);
    labels.insert(labels.end(), file_labels.begin(), file_labels.end());
    pixels.reserve(labels.size() * kPixels);
    for (size_t r = 0; r < records; ++r) {
      const auto* record = bytes.data() + r * kRecord + 1;
      pixels.insert(pixels.end(), record, record + kPixels);
    }
  }
  return Dataset(std::move(pixels), {3, 32, 32}, scale ? 1.0 / 255.0 : 1.0, std::move(labels), 10,
                 cifar10_class_names(), files.front());
}

Dataset load_cifar10_dir(const std::string& dir, Part part, bool scale) {
  // The official archive unpacks to cifar-10-batches-bin/; accept its parent too.
  std::filesystem::path root = dir;
  if (std::filesystem::is_directory(root / "cifar-10-batches-bin")) root /= "cifar-10-batches-bin";
  std::vector<std::string> names;
  if (part == Part::train) {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  std::vector<std::string> files;
  for (const std::string& name : names) {
    const std::filesystem::path path = root / name;
    CUMLP_CHECK(std::filesystem::is_regular_file(path), path.string(), ": no such file");
    files.push_back(path.string());
  }
  return load_cifar10(files, scale);
}

}  // namespace cumlp
