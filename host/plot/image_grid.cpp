// Grid of sample images with their labels, written with libpng directly: no
// gnuplot needed, and pixels stay exact (nearest-neighbour upscaling).
#include <png.h>

#include <algorithm>
#include <cstring>

#include "cumlp/plot.h"
#include "host/shared/error_macros.h"
#include "host/io/atomic_file.h"
#include "host/plot/font5x7.h"

namespace cumlp {

namespace {

constexpr uint8_t kBackground = 255;
constexpr uint8_t kInk = 32;
constexpr int kGlyphW = 5, kGlyphH = 7, kAdvance = kGlyphW + 1;  // one blank column between glyphs

// An 8-bit RGB canvas, row-major, 3 bytes per pixel.
struct Canvas {
  int64_t width, height;
  std::vector<uint8_t> rgb;
  Canvas(int64_t w, int64_t h) : width(w), height(h), rgb(static_cast<std::size_t>(w * h * 3), kBackground) {}
  uint8_t* at(int64_t x, int64_t y) { return &rgb[static_cast<std::size_t>((y * width + x) * 3)]; }
};

// Draws `text` at (x, y), each font pixel a ts x ts block. The caller cuts text to fit the cell.
void draw_text(Canvas& canvas, int64_t x, int64_t y, const std::string& text, int64_t ts) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto& rows = plot_detail::glyph5x7(text[i]);
    const int64_t gx = x + static_cast<int64_t>(i) * kAdvance * ts;
    for (int r = 0; r < kGlyphH; ++r) {
      for (int c = 0; c < kGlyphW; ++c) {
        if (!(rows[r] >> (kGlyphW - 1 - c) & 1)) continue;
        for (int64_t dy = 0; dy < ts; ++dy)
          for (int64_t dx = 0; dx < ts; ++dx) std::memset(canvas.at(gx + c * ts + dx, y + r * ts + dy), kInk, 3);
      }
    }
  }
}

// One byte per glyph: UTF-8 continuation bytes are dropped, so a character
// outside the font shows as a single '?' however many bytes it takes.
std::string glyph_text(const std::string& label) {
  std::string out;
  for (char c : label) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) out += c;
  }
  return out;
}

int64_t text_width(std::size_t chars, int64_t ts) {
  return chars == 0 ? 0 : static_cast<int64_t>(chars) * kAdvance * ts - ts;
}

}  // namespace

void save_image_grid(const std::string& path, std::span<const uint8_t> pixels, int64_t n,
                     int64_t channels, int64_t height, int64_t width,
                     const std::vector<std::string>& labels, int64_t columns, int64_t scale) {
  CUMLP_CHECK(n >= 1, "image grid needs at least one image, got n = ", n);
  CUMLP_CHECK(channels == 1 || channels == 3, "image grid: channels must be 1 (gray) or 3 (RGB), got ", channels);
  CUMLP_CHECK(height >= 1 && width >= 1 && height <= 4096 && width <= 4096,
              "image grid: image size ", height, "x", width, " is outside 1..4096");
  CUMLP_CHECK(columns >= 1, "image grid: columns must be >= 1, got ", columns);
  CUMLP_CHECK(scale >= 1 && scale <= 16, "image grid: scale must be in 1..16, got ", scale);
  int64_t expected = 0;
  CUMLP_CHECK(!__builtin_mul_overflow(n, channels * height * width, &expected) &&
                  static_cast<int64_t>(pixels.size()) == expected,
              "image grid: [", n, ", ", channels, ", ", height, ", ", width, "] needs ", n, "*", channels,
              "*", height, "*", width, " pixels, got ", pixels.size());
  CUMLP_CHECK(static_cast<int64_t>(labels.size()) == n, "image grid has ", n, " images but ",
              labels.size(), " labels");

  const int64_t cell_w = width * scale, cell_h = height * scale;
  std::vector<std::string> texts;
  std::size_t longest = 0;
  for (const auto& l : labels) {
    texts.push_back(glyph_text(l));
    longest = std::max(longest, texts.back().size());
  }
  // Double-size text when every label fits under its image that way; one size for the whole grid.
  const int64_t ts = text_width(longest, 2) <= cell_w ? 2 : 1;
  const auto max_chars = static_cast<std::size_t>((cell_w + ts) / (kAdvance * ts));
  const int64_t gap = std::max<int64_t>(4, 2 * scale);
  const int64_t label_h = longest ? kGlyphH * ts + 6 : 0;
  const int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  const int64_t grid_w = gap + cols * (cell_w + gap), grid_h = gap + rows * (cell_h + label_h + gap);
  CUMLP_CHECK(grid_w * grid_h <= (int64_t{1} << 27), "image grid would be ", grid_w, "x", grid_h,
              " pixels; use fewer images or a smaller scale");

  Canvas canvas(grid_w, grid_h);
  const int64_t plane = height * width;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = gap + (i % cols) * (cell_w + gap), y0 = gap + (i / cols) * (cell_h + label_h + gap);
    const uint8_t* img = pixels.data() + i * channels * plane;
    for (int64_t y = 0; y < cell_h; ++y) {
      for (int64_t x = 0; x < cell_w; ++x) {
        const int64_t src = (y / scale) * width + x / scale;
        uint8_t* px = canvas.at(x0 + x, y0 + y);
        // Gray repeats its one plane; CIFAR's planar RGB interleaves the three.
        for (int c = 0; c < 3; ++c) px[c] = img[(channels == 3 ? c * plane : 0) + src];
      }
    }
    const std::string text = texts[i].substr(0, max_chars);
    draw_text(canvas, x0 + (cell_w - text_width(text.size(), ts)) / 2, y0 + cell_h + 3, text, ts);
  }

  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(grid_w);
  image.height = static_cast<png_uint_32>(grid_h);
  image.format = PNG_FORMAT_RGB;
  const auto stride = static_cast<png_int_32>(grid_w * 3);
  // Encode in memory (first call sizes the buffer), then publish atomically.
  png_alloc_size_t size = 0;
  std::vector<std::byte> png;
  bool ok = png_image_write_to_memory(&image, nullptr, &size, 0, canvas.rgb.data(), stride, nullptr);
  if (ok) {
    png.resize(size);
    ok = png_image_write_to_memory(&image, png.data(), &size, 0, canvas.rgb.data(), stride, nullptr);
  }
  const std::string why = image.message;
  png_image_free(&image);
  CUMLP_CHECK(ok, "cannot encode image grid ", path, ": ", why);
  png.resize(size);
  io::write_file_atomically(path, png);
}

}  // namespace cumlp
