// The sample-image grid written with libpng.
#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "cumlp/error.h"
#include "cumlp/plot.h"
#include "host/plot/font5x7.h"
#include "png_check.h"

namespace cumlp::test {
namespace {

using ImageGrid = PlotTest;

// n gray 28x28 images, image i showing the digit i % 10 drawn with the label font
// at 3x, so the picture can be checked by eye as well as by numbers.
std::vector<uint8_t> digit_images(int n) {
  std::vector<uint8_t> px(static_cast<std::size_t>(n) * 28 * 28, 0);
  for (int i = 0; i < n; ++i) {
    const auto& g = plot_detail::glyph5x7(static_cast<char>('0' + i % 10));
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const int gx = (x - 6) / 3, gy = (y - 3) / 3;
        const bool on = x >= 6 && gx < 5 && y >= 3 && gy < 7 && (g[gy] >> (4 - gx) & 1);
        px[(i * 28 + y) * 28 + x] = on ? 255 : static_cast<uint8_t>(8 * (x + y) / 7);
      }
  }
  return px;
}

TEST_F(ImageGrid, GrayDigitsHaveExactLayout) {
  std::vector<std::string> labels;
  for (int i = 0; i < 10; ++i) labels.push_back(std::to_string(i));
  save_image_grid(file("digits.png"), digit_images(10), 10, 1, 28, 28, labels, 5, 3);
  const Png png = expect_picture("digits.png", 1, 1);
  // gap 6, cells 84 wide, labels 2x (7 * 2 + 6 = 20 rows): 6 + 5 * 90 by 6 + 2 * 110.
  EXPECT_EQ(png.width, 456u);
  EXPECT_EQ(png.height, 226u);
  // Top-left pixel of image 0 is its pixel (0, 0) = 0, gray.
  EXPECT_EQ(png.at(6, 6)[0], 0);
  // The label row under image 0 holds ink (dark pixels) and background only.
  int ink = 0;
  for (uint32_t y = 6 + 84; y < 6 + 84 + 20; ++y)
    for (uint32_t x = 6; x < 6 + 84; ++x) ink += png.at(x, y)[0] < 128;
  EXPECT_GT(ink, 10);
}

TEST_F(ImageGrid, PlanarRgbBecomesColour) {
  const int64_t n = 3, h = 32, w = 32;
  std::vector<uint8_t> px(static_cast<std::size_t>(n * 3 * h * w));
  const uint8_t colour[3][3] = {{200, 10, 50}, {10, 180, 20}, {30, 60, 220}};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < h * w; ++p) px[((i * 3 + c) * h * w) + p] = colour[i][c];
  save_image_grid(file("rgb.png"), px, n, 3, h, w, {"airplane", "automobile", "bird"}, 8, 3);
  const Png png = expect_picture("rgb.png", 3 * 96, 96);
  for (uint32_t i = 0; i < 3; ++i) {
    const uint8_t* p = png.at(6 + i * (96 + 6) + 10, 6 + 10);
    EXPECT_EQ(p[0], colour[i][0]);
    EXPECT_EQ(p[1], colour[i][1]);
    EXPECT_EQ(p[2], colour[i][2]);
  }
}

TEST_F(ImageGrid, LongLabelsAreCutAndOddCharactersDrawn) {
  save_image_grid(file("long.png"), digit_images(2), 2, 1, 28, 28,
                  {"a label far too long for 28 pixels", "\xC3\xA9~{}"}, 2, 1);
  expect_picture("long.png", 28, 28);
}

// Real samples when the Debian package dataset-fashion-mnist is installed.
TEST_F(ImageGrid, FashionMnistSamples) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  gzFile images = gzopen((dir + "t10k-images-idx3-ubyte.gz").c_str(), "rb");
  gzFile labels = gzopen((dir + "t10k-labels-idx1-ubyte.gz").c_str(), "rb");
  if (!images || !labels) {
    if (images) gzclose(images);
    if (labels) gzclose(labels);
    GTEST_SKIP() << "Fashion-MNIST not installed under " << dir;
  }
  const int n = 24;
  std::vector<uint8_t> px(n * 28 * 28), header(16), cls(n);
  gzread(images, header.data(), 16);
  ASSERT_EQ(gzread(images, px.data(), static_cast<unsigned>(px.size())), static_cast<int>(px.size()));
  gzread(labels, header.data(), 8);
  ASSERT_EQ(gzread(labels, cls.data(), n), n);
  gzclose(images);
  gzclose(labels);
  const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::vector<std::string> text;
  for (uint8_t c : cls) text.push_back(names[c % 10]);
  save_image_grid(file("image_grid.png"), px, n, 1, 28, 28, text, 8, 3);
  expect_picture("image_grid.png", 8 * 84, 3 * 84);
}

TEST_F(ImageGrid, RejectsBadInput) {
  const auto px = digit_images(2);
  const std::vector<std::string> two{"a", "b"};
  const std::string p = file("bad.png");
  auto expect_error = [](auto f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one containing: " << part;
    } catch (const Error& e) {
      EXPECT_NE(e.message().find(part), std::string::npos) << "message: " << e.message();
    }
  };
  expect_error([&] { save_image_grid(p, {}, 0, 1, 28, 28, {}); }, "at least one image, got n = 0");
  expect_error([&] { save_image_grid(p, px, 2, 2, 28, 28, two); }, "channels must be 1 (gray) or 3 (RGB), got 2");
  expect_error([&] { save_image_grid(p, px, 2, 3, 28, 28, two); }, "needs 2*3*28*28 pixels, got 1568");
  expect_error([&] { save_image_grid(p, px, 2, 1, 28, 28, {"a"}); }, "has 2 images but 1 labels");
  expect_error([&] { save_image_grid(p, px, 2, 1, 28, 28, two, 0); }, "columns must be >= 1, got 0");
  expect_error([&] { save_image_grid(p, px, 2, 1, 28, 28, two, 8, 0); }, "scale must be in 1..16, got 0");
  expect_error([&] { save_image_grid(p, px, 2, 1, 0, 28, two); }, "image size 0x28 is outside");
  expect_error([&] { save_image_grid((dir_ / "no" / "x.png").string(), px, 2, 1, 28, 28, two); },
               "cannot write '");
  EXPECT_TRUE(listing().empty());
}

}  // namespace
}  // namespace cumlp::test
