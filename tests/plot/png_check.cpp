#include "png_check.h"

#include <png.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

namespace cumlp::test {

std::size_t Png::colours() const {
  std::set<uint32_t> seen;
  for (std::size_t i = 0; i + 2 < rgb.size(); i += 3) seen.insert(rgb[i] << 16 | rgb[i + 1] << 8 | rgb[i + 2]);
  return seen.size();
}

Png read_png(const std::filesystem::path& path) {
  Png out;
  std::ifstream in(path, std::ios::binary);
  png_byte sig[8] = {};
  in.read(reinterpret_cast<char*>(sig), sizeof sig);
  EXPECT_EQ(png_sig_cmp(sig, 0, sizeof sig), 0) << path << " does not start with the PNG signature";
  if (png_sig_cmp(sig, 0, sizeof sig) != 0) return out;

  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  const bool begun = png_image_begin_read_from_file(&image, path.c_str()) != 0;
  EXPECT_TRUE(begun) << path << ": " << image.message;
  if (!begun) return out;
  image.format = PNG_FORMAT_RGB;
  out.width = image.width;
  out.height = image.height;
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  const bool read = png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr) != 0;
  EXPECT_TRUE(read) << path << ": " << image.message;
  png_image_free(&image);
  if (!read) out = Png{};
  return out;
}

void PlotTest::SetUp() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cumlp-plot-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
}

void PlotTest::TearDown() { std::filesystem::remove_all(dir_); }

std::vector<std::string> PlotTest::listing() const {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) names.insert(e.path().filename().string());
  return {names.begin(), names.end()};
}

Png PlotTest::expect_picture(const std::string& name, uint32_t min_w, uint32_t min_h) const {
  const Png png = read_png(dir_ / name);
  EXPECT_GE(png.width, min_w) << name;
  EXPECT_GE(png.height, min_h) << name;
  EXPECT_LE(png.width, 8192u) << name;
  EXPECT_LE(png.height, 8192u) << name;
  EXPECT_GT(png.colours(), 1u) << name << " is a single flat colour";
  if (const char* keep = std::getenv("CUMLP_PLOT_EXAMPLES")) {
    std::filesystem::create_directories(keep);
    std::filesystem::copy_file(dir_ / name, std::filesystem::path(keep) / name,
                               std::filesystem::copy_options::overwrite_existing);
  }
  return png;
}

}  // namespace cumlp::test
