// write_safetensors / read_safetensors: round trips, the exact byte layout, and
// refusal of bad input before any file is touched.
#include <cmath>
#include <cstdint>
#include <limits>

#include <gmock/gmock.h>

#include "host/io/safetensors.h"
#include "io_test_util.h"

namespace cumlp::io::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& v) {
  const auto b = std::as_bytes(std::span(v));
  return {b.begin(), b.end()};
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir dir;
  const auto path = dir.file("model.safetensors");
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> w0 = {0.5f, -1.25f, 3e-38f, inf, -0.0f, std::nanf("")};
  const std::vector<float> scalar = {42.0f};
  const std::vector<double> f64 = {1.0 / 3.0, -2.5e300, 0.0, 7.0};
  const std::vector<std::int32_t> i32 = {INT32_MIN, -1, 0, INT32_MAX};
  const std::vector<std::int64_t> i64 = {INT64_MIN, 1LL << 40, INT64_MAX};
  const std::vector<std::uint8_t> u8 = {0, 1, 127, 128, 255};
  const std::vector<std::uint8_t> none;
  const std::map<std::string, std::string> metadata = {
      {"layers", "[784,100,10]"}, {"note", "héllo \"quoted\"\nline"}, {"empty", ""}};
  write_safetensors(path,
                    {tensor_view<float>("layers.0.weight", {2, 3}, w0), tensor_view<float>("scale", {}, scalar),
                     tensor_view<double>("f64", {2, 2}, f64), tensor_view<std::int32_t>("i32", {4}, i32),
                     tensor_view<std::int64_t>("i64", {3, 1}, i64), tensor_view<std::uint8_t>("u8", {5}, u8),
                     tensor_view<std::uint8_t>("empty", {0, 3}, none)},
                    metadata);
  EXPECT_THAT(dir.entries(), ElementsAre("model.safetensors"));

  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.path, path);
  EXPECT_EQ(f.metadata, metadata);
  EXPECT_EQ(f.tensors.size(), 7u);
  const StTensor& t = f.at("layers.0.weight");
  EXPECT_EQ(t.dtype, StDType::F32);
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.bytes, bytes_of(w0));  // bytes, so NaN and -0 compare exactly
  EXPECT_EQ(f.at("scale").shape, std::vector<std::int64_t>{});
  EXPECT_EQ(f.at("scale").to_vector<float>(), scalar);
  EXPECT_EQ(f.at("f64").to_vector<double>(), f64);
  EXPECT_EQ(f.at("i32").to_vector<std::int32_t>(), i32);
  EXPECT_EQ(f.at("i64").to_vector<std::int64_t>(), i64);
  EXPECT_EQ(f.at("i64").shape, (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(f.at("u8").to_vector<std::uint8_t>(), u8);
  EXPECT_EQ(f.at("empty").shape, (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(f.at("empty").numel(), 0);
}

TEST(Safetensors, RoundTripsNoTensorsNoMetadata) {
  TempDir dir;
  const auto path = dir.file("empty.safetensors");
  write_safetensors(path, {}, {});
  // "{}" padded to 8 bytes.
  EXPECT_EQ(read_all(path), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_TRUE(f.tensors.empty());
}

TEST(Safetensors, ExactLayoutOfTinyFile) {
  TempDir dir;
  const auto path = dir.file("tiny.safetensors");
  const std::vector<float> b = {1.0f, -2.0f};
  const std::vector<std::uint8_t> a = {1, 2, 3};
  // Tensors go into the buffer in the caller's order (b first); the JSON keys come out sorted.
  write_safetensors(path, {tensor_view<float>("b", {2}, b), tensor_view<std::uint8_t>("a", {3}, a)},
                    {{"format", "pt"}});
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"data_offsets":[8,11],"dtype":"U8","shape":[3]},)"
      R"("b":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  ASSERT_EQ(json.size(), 138u);
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8)  // 144 = 138 + 6 spaces, little-endian
                               + json + "      "                      //
                               + std::string("\x00\x00\x80\x3f", 4)  // 1.0f
                               + std::string("\x00\x00\x00\xc0", 4)  // -2.0f
                               + std::string("\x01\x02\x03", 3);
  EXPECT_EQ(read_all(path), expected);
}

TEST(Safetensors, AtAndToVectorRejectMisuse) {
  TempDir dir;
  const auto path = dir.file("m.safetensors");
  const std::vector<double> v = {1.0};
  write_safetensors(path, {tensor_view<double>("w", {1}, v)}, {});
  const SafetensorsFile f = read_safetensors(path);
  try {
    f.at("missing");
    ADD_FAILURE() << "no throw";
  } catch (const cumlp::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("has no tensor 'missing'"));
    EXPECT_THAT(e.what(), HasSubstr(path));
  }
  try {
    f.at("w").to_vector<float>();
    ADD_FAILURE() << "no throw";
  } catch (const cumlp::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor holds F64, not F32"));
  }
}

struct BadWrite {
  std::string label;
  TensorView first, second;
  std::map<std::string, std::string> metadata;
  std::string needle;
};

TEST(Safetensors, RejectsBadTensorsBeforeWriting) {
  TempDir dir;
  const auto path = dir.file("out.safetensors");
  const std::vector<float> four(4, 1.0f);
  const auto ok = tensor_view<float>("ok", {4}, four);
  const std::vector<BadWrite> cases = {
      {"empty name", ok, tensor_view<float>("", {4}, four), {}, "empty name"},
      {"duplicate", ok, ok, {}, "duplicate tensor name 'ok'"},
      {"reserved", ok, tensor_view<float>("__metadata__", {4}, four), {}, "'__metadata__' is reserved"},
      {"negative dim", ok, tensor_view<float>("n", {-1, -4}, four), {}, "negative dimension -1"},
      {"too few bytes", ok, tensor_view<float>("s", {5}, four), {}, "has 16 bytes but its shape and dtype F32 need 20"},
      {"wrong dtype size", ok, {"d", StDType::F64, {4}, std::as_bytes(std::span(four))}, {}, "need 32"},
      {"overflow", ok, tensor_view<float>("o", {1LL << 62, 1LL << 62}, four), {}, "too large"},
      {"bad utf-8", ok, tensor_view<float>("u", {4}, four), {{"k", "\xff\xfe"}}, "not valid UTF-8"},
  };
  for (const BadWrite& c : cases) {
    SCOPED_TRACE(c.label);
    try {
      write_safetensors(path, {c.first, c.second}, c.metadata);
      ADD_FAILURE() << "no throw";
    } catch (const cumlp::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.needle));
      EXPECT_THAT(e.what(), HasSubstr(path));
    }
    EXPECT_THAT(dir.entries(), ElementsAre());
  }
}

// A checkpoint already on disk and a much larger replacement for it.
struct Replacement {
  std::string path;
  std::string old_bytes;
  std::vector<float> big = std::vector<float>(256 * 1024, 0.25f);
  void write_new() const { write_safetensors(path, {tensor_view<float>("w", {256, 1024}, big)}, {{"epoch", "2"}}); }
};

Replacement existing_checkpoint(const TempDir& dir) {
  Replacement r;
  r.path = dir.file("model.safetensors");
  const std::vector<float> small = {1, 2, 3};
  write_safetensors(r.path, {tensor_view<float>("w", {3}, small)}, {{"epoch", "1"}});
  r.old_bytes = read_all(r.path);
  return r;
}

TEST(Safetensors, DiskFullKeepsPreviousCheckpoint) {
  TempDir dir;
  const Replacement r = existing_checkpoint(dir);
  const std::string message = error_with_file_size_limit(100'000, [&] { r.write_new(); });
  EXPECT_THAT(message, HasSubstr("cannot write '" + r.path + "'"));
  EXPECT_THAT(message, HasSubstr("File too large"));
  EXPECT_EQ(read_all(r.path), r.old_bytes);
  EXPECT_THAT(dir.entries(), ElementsAre("model.safetensors"));
  EXPECT_EQ(read_safetensors(r.path).metadata.at("epoch"), "1");
}

TEST(Safetensors, ReadOnlyFolderKeepsPreviousCheckpoint) {
  TempDir dir;
  const Replacement r = existing_checkpoint(dir);
  const std::optional<std::string> message = error_in_read_only_folder(dir.path(), [&] { r.write_new(); });
  if (!message) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_THAT(*message, HasSubstr("cannot write '" + r.path + "'"));
  EXPECT_THAT(*message, HasSubstr("Permission denied"));
  EXPECT_EQ(read_all(r.path), r.old_bytes);
  EXPECT_THAT(dir.entries(), ElementsAre("model.safetensors"));
}

}  // namespace
}  // namespace cumlp::io::test
