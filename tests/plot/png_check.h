// Test helpers for the pictures: read a PNG back with libpng, a scratch folder
// per test, and an optional copy of each picture for a person to look at.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cumlp::test {

struct Png {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  const uint8_t* at(uint32_t x, uint32_t y) const { return &rgb[(std::size_t{y} * width + x) * 3]; }
  /// Number of distinct colours (so a blank picture reads as 1).
  std::size_t colours() const;
};

/// Checks the PNG signature, then decodes to RGB. Fails the test (and returns an
/// empty Png) if the file is not a readable PNG.
Png read_png(const std::filesystem::path& path);

/// A fresh folder under the system temp folder, removed at the end of the test.
class PlotTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  /// Names of everything in the folder, sorted (to see that nothing was left behind).
  std::vector<std::string> listing() const;
  /// Reads a written picture, checks it is a PNG of plausible size that is not
  /// one flat colour, and copies it to $CUMLP_PLOT_EXAMPLES/<name> when that is set.
  Png expect_picture(const std::string& name, uint32_t min_w, uint32_t min_h) const;

  std::filesystem::path dir_;
};

}  // namespace cumlp::test
