// read_safetensors on hostile or broken files: each defect gives cumlp::Error
// naming the file and the defect, never a crash, an abort or a huge allocation.
#include <cstdint>
#include <cstring>

#include <gmock/gmock.h>

#include "host/io/safetensors.h"
#include "io_test_util.h"

namespace cumlp::io::test {
namespace {

using ::testing::HasSubstr;

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s;
}

// A file with the given header JSON (length field computed) and `buffer_bytes` zero bytes.
std::string file_with(const std::string& json, std::size_t buffer_bytes) {
  return le64(json.size()) + json + std::string(buffer_bytes, '\0');
}

// Header for one F32 tensor "w" whose entry fields are spliced in as given.
std::string one_tensor(const std::string& fields) { return R"({"w":{)" + fields + "}}"; }

struct Malformed {
  std::string name;  // test name suffix
  std::string bytes;
  std::string needle;  // expected in the message
};

std::ostream& operator<<(std::ostream& os, const Malformed& m) { return os << m.name; }

const std::vector<Malformed> kCases = {
    {"Empty", "", "file is 0 bytes, too short"},
    {"SevenBytes", std::string(7, '\0'), "file is 7 bytes, too short"},
    {"AbsurdHeaderLength", le64(200'000'000) + "{}      ", "header length 200000000 exceeds the limit"},
    {"HeaderPastEnd", le64(100) + "{}      ", "header length 100 runs past the end of the 16-byte file"},
    {"HugeHeaderLength", le64(UINT64_MAX), "exceeds the limit"},
    {"InvalidJson", file_with(R"({"w":)", 0), "header is not valid JSON"},
    {"TrailingGarbage", file_with("{} x", 0), "header is not valid JSON"},
    {"NotAnObject", file_with("[1,2]", 0), "header is not a JSON object"},
    {"DuplicateTensor", file_with(R"({"w":{},"w":{}})", 0), "header repeats the key 'w'"},
    {"DuplicateField",
     file_with(one_tensor(R"("dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,4])"), 4),
     "header repeats the key 'dtype'"},
    {"EntryNotObject", file_with(R"({"w":3})", 0), "entry for tensor 'w' is not an object"},
    {"EmptyName", file_with(R"({"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", 0), "empty name"},
    {"NoDtype", file_with(one_tensor(R"("shape":[1],"data_offsets":[0,4])"), 4), "tensor 'w' has no 'dtype'"},
    {"NoShape", file_with(one_tensor(R"("dtype":"F32","data_offsets":[0,4])"), 4), "tensor 'w' has no 'shape'"},
    {"NoOffsets", file_with(one_tensor(R"("dtype":"F32","shape":[1])"), 4), "tensor 'w' has no 'data_offsets'"},
    {"DtypeNotString", file_with(one_tensor(R"("dtype":4,"shape":[1],"data_offsets":[0,4])"), 4),
     "'dtype' is not a string"},
    {"UnknownDtype", file_with(one_tensor(R"("dtype":"BF16","shape":[1],"data_offsets":[0,2])"), 2),
     "unknown dtype 'BF16'"},
    {"ShapeNotArray", file_with(one_tensor(R"("dtype":"F32","shape":4,"data_offsets":[0,16])"), 16),
     "'shape' is not an array"},
    {"NegativeDim", file_with(one_tensor(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), 4),
     "shape entry -1 is not a non-negative integer"},
    {"FractionalDim", file_with(one_tensor(R"("dtype":"F32","shape":[1.5],"data_offsets":[0,4])"), 4),
     "shape entry 1.5 is not a non-negative integer"},
    {"StringDim", file_with(one_tensor(R"("dtype":"F32","shape":["1"],"data_offsets":[0,4])"), 4),
     "is not a non-negative integer"},
    {"ShapeOverflow",
     file_with(one_tensor(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4])"), 4),
     "shape [4294967296,4294967296] overflows"},
    {"DimAboveInt64", file_with(one_tensor(R"("dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,4])"), 4),
     "overflows"},
    {"OffsetsNotPair", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4])"), 4),
     "'data_offsets' is not a pair of non-negative integers"},
    {"NegativeOffset", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[-4,0])"), 4),
     "'data_offsets' is not a pair of non-negative integers"},
    {"StringOffset", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0,"4"])"), 4),
     "'data_offsets' is not a pair of non-negative integers"},
    {"BeginAfterEnd", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[8,4])"), 8),
     "data_offsets [8, 4] begin after end"},
    {"OffsetsPastBuffer", file_with(one_tensor(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])"), 8),
     "data_offsets [0, 16] run past the end of the 8-byte buffer"},
    {"HugeOffsets",
     file_with(one_tensor(R"("dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615])"), 1),
     "run past the end of the 1-byte buffer"},
    {"BytesNotShape", file_with(one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), 8),
     "hold 8 bytes but shape [3] of F32 needs 12"},
    {"BytesNotDtype", file_with(one_tensor(R"("dtype":"F64","shape":[2],"data_offsets":[0,8])"), 8),
     "hold 8 bytes but shape [2] of F64 needs 16"},
    {"Overlap",
     file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
               12),
     "tensors 'a' and 'b' overlap"},
    {"SameRange",
     file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
               R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
               4),
     "tensors 'a' and 'b' overlap"},
    {"Gap",
     file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
               12),
     "bytes [4, 8) before tensor 'b' belong to no tensor"},
    {"GapAtStart", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"), 8),
     "bytes [0, 4) before tensor 'w' belong to no tensor"},
    {"UnusedTail", file_with(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"), 6),
     "bytes [4, 6) at the end of the buffer belong to no tensor"},
    {"BufferWithoutTensors", file_with("{}", 3), "bytes [0, 3) at the end of the buffer"},
    {"MetadataNotObject", file_with(R"({"__metadata__":"x"})", 0), "'__metadata__' is not an object"},
    {"MetadataValueNumber", file_with(R"({"__metadata__":{"epoch":3}})", 0),
     "metadata value for 'epoch' is not a string"},
    {"MetadataValueNull", file_with(R"({"__metadata__":{"note":null}})", 0),
     "metadata value for 'note' is not a string"},
};

class SafetensorsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(SafetensorsMalformed, ThrowsNamingFileAndDefect) {
  TempDir dir;
  const auto path = dir.file("bad.safetensors");
  write_all(path, GetParam().bytes);
  try {
    read_safetensors(path);
    ADD_FAILURE() << "no throw";
  } catch (const cumlp::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("malformed safetensors file '" + path + "': "));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().needle));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsMalformed, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(SafetensorsRead, MissingFileNamesPathAndReason) {
  TempDir dir;
  const auto path = dir.file("absent.safetensors");
  try {
    read_safetensors(path);
    ADD_FAILURE() << "no throw";
  } catch (const cumlp::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read '" + path + "': cannot open: No such file or directory"));
  }
}

// What the format allows even though this library's writer never produces it.
TEST(SafetensorsRead, AcceptsUnpaddedHeaderAnyOrderAndZeroSizeTensors) {
  TempDir dir;
  const auto path = dir.file("ok.safetensors");
  const std::string json =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"z":{"dtype":"F64","shape":[0],"data_offsets":[4,4]},)"
      R"("a":{"dtype":"I32","shape":[],"data_offsets":[0,4]},"__metadata__":{}})";
  write_all(path, le64(json.size()) + json + std::string("\x07\x00\x00\x00\x05\x06", 6));
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.at("a").to_vector<std::int32_t>(), std::vector<std::int32_t>{7});
  EXPECT_EQ(f.at("b").to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{5, 6}));
  EXPECT_EQ(f.at("z").numel(), 0);
  EXPECT_TRUE(f.metadata.empty());
}

}  // namespace
}  // namespace cumlp::io::test
