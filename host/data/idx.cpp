// IDX files (MNIST, Fashion-MNIST): big-endian header "00 00 <type> <ndims>",
// ndims uint32 sizes, then the values. Only unsigned-byte images (3 dims)
// and labels (1 dim) are datasets here.
#include <filesystem>

#include "cumlp/data.h"
#include "host/shared/error_macros.h"
#include "host/data/read.h"

namespace cumlp {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The dimensions of an IDX file of ndims unsigned bytes, after checking that
// the header is complete and the body holds exactly their product in bytes.
std::vector<int64_t> idx_dims(const std::vector<uint8_t>& bytes, uint32_t ndims, const std::string& path) {
  const uint32_t want = (uint32_t{kUnsignedByte} << 8) | ndims;
  CUMLP_CHECK(bytes.size() >= 4, path, ": truncated IDX header (", bytes.size(), " bytes)");
  const uint32_t magic = big_endian32(bytes.data());
  CUMLP_CHECK(magic == want, path, ": wrong IDX magic 0x", std::hex, magic, ", expected 0x", want, std::dec,
              " (unsigned bytes, ", ndims, " dimensions)");
  const size_t header = 4 + 4 * size_t{ndims};
  CUMLP_CHECK(bytes.size() >= header, path, ": truncated IDX header (", bytes.size(), " of ", header, " bytes)");
  std::vector<int64_t> dims(ndims);
  uint64_t body = 1;
  for (uint32_t d = 0; d < ndims; ++d) {
    dims[d] = big_endian32(bytes.data() + 4 + 4 * d);
    CUMLP_CHECK(dims[d] > 0, path, d == 0 ? ": zero items" : ": IDX dimension is zero", " (dimension ", d, ")");
    CUMLP_CHECK(!__builtin_mul_overflow(body, static_cast<uint64_t>(dims[d]), &body), path,
                ": IDX dimensions overflow");
  }
  const uint64_t have = bytes.size() - header;
  CUMLP_CHECK(have >= body, path, ": truncated IDX body (", have, " of ", body, " bytes)");
  CUMLP_CHECK(have == body, path, ": ", have - body, " trailing bytes after the IDX body");
  return dims;
}

std::string find_idx(const std::filesystem::path& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"}) {
    if (std::filesystem::is_regular_file(dir / name)) return (dir / name).string();
  }
  CUMLP_THROW((dir / stem).string(), "[.gz]: no such file");
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, ImageSet set, bool scale) {
  std::vector<uint8_t> images = data::read_file(images_path);
  const std::vector<int64_t> shape = idx_dims(images, 3, images_path);
  std::vector<uint8_t> label_bytes = data::read_file(labels_path);
  const std::vector<int64_t> count = idx_dims(label_bytes, 1, labels_path);
  CUMLP_CHECK(count[0] == shape[0], labels_path, ": ", count[0], " labels for ", shape[0], " images in ",
              images_path);
  std::vector<int32_t> labels(label_bytes.begin() + 8, label_bytes.end());
  data::check_labels(labels, 10, labels_path);
  // Drop the header in place rather than copying the body out.
  images.erase(images.begin(), images.begin() + 16);
  const bool fashion = set == ImageSet::fashion_mnist;
  return Dataset(std::move(images), {1, shape[1], shape[2]}, scale ? 1.0 / 255.0 : 1.0, std::move(labels), 10,
                 fashion ? fashion_mnist_class_names() : std::vector<std::string>{}, images_path);
}

Dataset load_mnist_dir(const std::string& dir, Part part, ImageSet set, bool scale) {
  const std::string prefix = part == Part::train ? "train" : "t10k";
  return load_idx(find_idx(dir, prefix + "-images-idx3-ubyte"), find_idx(dir, prefix + "-labels-idx1-ubyte"), set,
                  scale);
}

}  // namespace cumlp
