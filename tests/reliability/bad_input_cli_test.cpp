// Malformed inputs end to end: each defect, already rejected by its loader or
// parser at the library level (tests/data, tests/io, tests/cpu), reaches the
// user through `cumlp` as a normal non-zero exit (never a signal), one
// "error: ..." line naming the file or flag and the problem, nothing on
// stdout, and no output file in the run folder.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "tests/reliability/child.h"
#include "tests/reliability/data_files.h"

namespace cumlp::reliability {
namespace {

// `cumlp --json train <args> --out <scratch>/run --device cpu --quiet`: expects
// the bad-input contract and an empty (or absent) run folder.
void expect_train_fails(const ScratchDir& s, std::vector<std::string> args, const std::vector<std::string>& mentions) {
  const std::string run = s / "run";
  args.insert(args.begin(), {"--json", "train"});
  args.insert(args.end(), {"--out", run, "--device", "cpu", "--quiet", "--epochs", "1"});
  SCOPED_TRACE("cumlp " + join(args));
  expect_one_error(run_cumlp(args), mentions);
  EXPECT_TRUE(files_under(run).empty()) << "partial output: " << files_under(run).front();
}

class BadDataFile : public ::testing::Test {
 protected:
  ScratchDir s;
  std::string dir() const { return s / "data"; }
  void SetUp() override { std::filesystem::create_directories(dir()); }
  void mnist(const std::string& file, const std::string& bytes, const std::vector<std::string>& mentions) {
    write_mnist_dir(dir());
    write_bytes(dir() + "/" + file, bytes);
    expect_train_fails(s, {"--preset", "mnist-small", "--data-dir", dir()}, mentions);
  }
  void digits(const std::string& csv, const std::vector<std::string>& mentions) {
    write_bytes(dir() + "/digits.csv.gz", csv);  // gzip is detected by content: plain text is fine
    expect_train_fails(s, {"--preset", "digits", "--data-dir", dir()}, mentions);
  }
};

TEST_F(BadDataFile, IdxBadMagic) {
  std::string images = idx_images(200);
  images[2] = 0x0d;  // float elements
  mnist("train-images-idx3-ubyte", images, {"train-images-idx3-ubyte", "wrong IDX magic"});
}

TEST_F(BadDataFile, IdxTruncatedHeader) {
  mnist("train-images-idx3-ubyte", idx_images(200).substr(0, 10), {"train-images-idx3-ubyte", "truncated IDX header"});
}

TEST_F(BadDataFile, IdxTruncatedBody) {
  const std::string images = idx_images(200);
  mnist("train-images-idx3-ubyte", images.substr(0, images.size() - 1), {"train-images-idx3-ubyte", "truncated IDX body"});
}

TEST_F(BadDataFile, IdxDimensionsWhoseProductOverflows) {
  // 2^32-1 cubed overflows 64 bits; a 16-byte file must not cause a huge allocation.
  mnist("train-images-idx3-ubyte", be32(0x803) + be32(0xffffffff) + be32(0xffffffff) + be32(0xffffffff),
        {"train-images-idx3-ubyte", "overflow"});
}

TEST_F(BadDataFile, IdxZeroItems) {
  mnist("t10k-images-idx3-ubyte", idx_images(0), {"t10k-images-idx3-ubyte", "zero items"});
}

TEST_F(BadDataFile, IdxImageLabelCountMismatch) {
  mnist("train-labels-idx1-ubyte", idx_labels(199), {"train-labels-idx1-ubyte", "199 labels for 200 images"});
}

TEST_F(BadDataFile, IdxLabelOutOfRange) {
  std::string labels = idx_labels(200);
  labels[8 + 17] = 10;
  mnist("train-labels-idx1-ubyte", labels, {"train-labels-idx1-ubyte", "label 10 at index 17"});
}

TEST_F(BadDataFile, CorruptGzip) {
  write_mnist_dir(dir());
  std::filesystem::remove(dir() + "/train-images-idx3-ubyte");
  write_bytes(dir() + "/train-images-idx3-ubyte.gz", std::string("\x1f\x8b\x08\x00", 4) + std::string(40, '\x5a'));
  expect_train_fails(s, {"--preset", "mnist-small", "--data-dir", dir()}, {"train-images-idx3-ubyte.gz", "gzip"});
}

TEST_F(BadDataFile, CifarWrongSize) {
  write_cifar_dir(dir());
  write_bytes(dir() + "/data_batch_3.bin", cifar_batch(2) + "x");
  expect_train_fails(s, {"--preset", "cifar10", "--data-dir", dir()},
                     {"data_batch_3.bin", "is not a multiple of the 3073-byte"});
}

TEST_F(BadDataFile, CsvRaggedRow) { digits(digits_csv(20) + "1,2,3\n", {"digits.csv.gz:21", "ragged"}); }

TEST_F(BadDataFile, CsvNonNumeric) {
  std::string csv = digits_csv(20);
  csv.replace(0, 1, "x");
  digits(csv, {"digits.csv.gz:1", "not a number: 'x'"});
}

TEST_F(BadDataFile, CsvNaN) { digits(digits_csv(5) + std::string(64, '0').replace(0, 1, "nan") + ",1\n", {"digits.csv.gz:6"}); }

TEST_F(BadDataFile, CsvEmpty) { digits("", {"digits.csv.gz", "no data rows"}); }

// ---- checkpoints given to eval / predict, and CSV inputs given to them

class BadModelFile : public ::testing::Test {
 protected:
  static ScratchDir* s;
  static std::string model;
  static void SetUpTestSuite() {
    s = new ScratchDir;
    std::filesystem::create_directories(*s / "data");
    write_bytes(*s / "data/digits.csv.gz", digits_csv(100));
    const Outcome o = run_cumlp({"--json", "train", "--layers", "64-16-10", "--dataset", "digits", "--data-dir",
                                 *s / "data", "--epochs", "1", "--batch-size", "20", "--out", *s / "model", "--device", "cpu", "--quiet"});
    ASSERT_EQ(o.code, 0) << o.err;
    model = *s / "model/model.safetensors";
  }
  static void TearDownTestSuite() { delete s; }

  // The model file split into header JSON and tensor bytes.
  static std::pair<nlohmann::json, std::string> parts() {
    const std::string bytes = read_text(model);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
  }
  static std::string assemble(const std::string& header, const std::string& buffer) {
    const uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header + buffer;
  }
  std::string write(const std::string& name, const std::string& bytes) {
    write_bytes(*s / name, bytes);
    return *s / name;
  }
  static void expect_eval_fails(const std::string& path, const std::vector<std::string>& mentions) {
    SCOPED_TRACE("cumlp eval " + path);
    expect_one_error(run_cumlp({"--json", "eval", path, "--data-dir", *s / "data", "--device", "cpu"}), mentions);
  }
};
ScratchDir* BadModelFile::s = nullptr;
std::string BadModelFile::model;

TEST_F(BadModelFile, ValidModelEvaluates) {
  // The baseline the damaged copies are made from.
  const Outcome o = run_cumlp({"--json", "eval", model, "--data-dir", *s / "data", "--device", "cpu"});
  EXPECT_EQ(o.code, 0) << o.err;
}

TEST_F(BadModelFile, HeaderLengthPastEndOfFile) {
  std::string bytes = read_text(model);
  const uint64_t n = bytes.size();  // 8 + header + buffer > what follows the length field
  std::memcpy(bytes.data(), &n, 8);
  expect_eval_fails(write("past_end.safetensors", bytes), {"past_end.safetensors", "runs past the end"});
}

TEST_F(BadModelFile, InvalidJson) {
  auto [h, buf] = parts();
  std::string text = h.dump();
  text.pop_back();  // drop the closing brace
  expect_eval_fails(write("json.safetensors", assemble(text + " ", buf)), {"json.safetensors", "not valid JSON"});
}

TEST_F(BadModelFile, OffsetsOutOfRange) {
  auto [h, buf] = parts();
  h["layers.1.bias"]["data_offsets"][1] = buf.size() + 4;
  expect_eval_fails(write("range.safetensors", assemble(h.dump(), buf)), {"range.safetensors", "run past the end"});
}

TEST_F(BadModelFile, OverlappingTensors) {
  auto [h, buf] = parts();
  h["layers.1.bias"]["data_offsets"] = h["layers.0.bias"]["data_offsets"];  // the same 16 floats twice
  h["layers.1.bias"]["shape"] = h["layers.0.bias"]["shape"];
  expect_eval_fails(write("overlap.safetensors", assemble(h.dump(), buf)), {"overlap.safetensors", "overlap"});
}

TEST_F(BadModelFile, DtypeNotMatchingTheModel) {
  auto [h, buf] = parts();
  // Same bytes, read as half as many doubles: a valid file, the wrong dtype for an f32 model.
  auto& e = h["layers.1.bias"];
  ASSERT_EQ(e["shape"][0].get<int>(), 10);
  e["dtype"] = "F64";
  e["shape"] = {5};
  expect_eval_fails(write("dtype.safetensors", assemble(h.dump(), buf)),
                    {"dtype.safetensors", "layers.1.bias", "is F64, expected F32"});
}

TEST_F(BadModelFile, ShapeNotMatchingTheSpec) {
  auto [h, buf] = parts();
  auto& e = h["layers.0.weight"];  // [16, 64] stored as [64, 16]: same bytes, wrong shape
  e["shape"] = {64, 16};
  expect_eval_fails(write("shape.safetensors", assemble(h.dump(), buf)),
                    {"shape.safetensors", "layers.0.weight", "wrong shape"});
}

TEST_F(BadModelFile, HugeSpecIsRejectedBeforeAllocating) {
  // A small file whose metadata claims a 64-1000000000-10 model: the tensors
  // are checked against the spec before the network (4 GB of weights, 4 x) is built.
  auto [h, buf] = parts();
  nlohmann::json spec = nlohmann::json::parse(h["__metadata__"]["spec"].get<std::string>());
  spec["layers"][0]["out"] = 1000000000;
  h["__metadata__"]["spec"] = spec.dump();
  expect_eval_fails(write("huge.safetensors", assemble(h.dump(), buf)),
                    {"huge.safetensors", "layers.0.weight", "wrong shape"});
}

TEST_F(BadModelFile, MissingMetadataKey) {
  auto [h, buf] = parts();
  h["__metadata__"].erase("dtype");
  expect_eval_fails(write("nodtype.safetensors", assemble(h.dump(), buf)), {"nodtype.safetensors", "'dtype'"});
}

TEST_F(BadModelFile, BadCsvForEvalAndPredict) {
  // (predict of ragged or too-narrow rows: tests/train/cli_errors_test.cpp)
  const std::string ragged = write("ragged.csv", digits_csv(3) + "1,2\n");
  expect_one_error(run_cumlp({"--json", "eval", model, "--data", ragged, "--device", "cpu"}), {"ragged.csv:4", "ragged"});
  const std::string nan = write("nan.csv", "1,2,nan\n");
  expect_one_error(run_cumlp({"--json", "predict", model, nan, "--device", "cpu"}), {"nan.csv:1", "column 3"});
}

// ---- bad command-line values (tests/train/cli_errors_test.cpp covers --lr,
// --batch-size 0, --epochs 0, --dropout, unknown preset/device, 784--10)

class BadFlag : public ::testing::Test {
 protected:
  ScratchDir s;
  void SetUp() override {
    std::filesystem::create_directories(s / "data");
    write_bytes(s / "data/digits.csv.gz", digits_csv(100));
  }
  void fails(std::vector<std::string> args, const std::vector<std::string>& mentions) {
    args.insert(args.begin(), {"--layers", "64-16-10", "--dataset", "digits", "--data-dir", s / "data"});
    expect_train_fails(s, args, mentions);
  }
};

TEST_F(BadFlag, BatchSizeLargerThanTheData) {
  // 80 training rows: the trainer names both numbers, before anything of that size is allocated.
  fails({"--batch-size", "4000000000000"}, {"batch size 4000000000000", "80 training rows"});
}
TEST_F(BadFlag, UnknownActivation) { fails({"--activation", "swish"}, {"unknown activation 'swish'"}); }
TEST_F(BadFlag, LayerSpecs) {
  expect_train_fails(s, {"--layers", "64-x-10", "--dataset", "digits", "--data-dir", s / "data"}, {"'x' is not a number"});
  expect_train_fails(s, {"--layers", "64", "--dataset", "digits", "--data-dir", s / "data"}, {"'64'", "at least"});
}
TEST_F(BadFlag, ModelTooLargeForMemory) {
  // 2^48 weights: reported with the bytes needed and the bytes the machine has,
  // checked before allocating (calloc would also refuse this one, but smaller
  // oversized models would be granted lazily and OOM-killed mid-run).
  expect_train_fails(s, {"--layers", "64-16777216-16777216-10", "--dataset", "digits", "--data-dir", s / "data"},
                     {"needs about", "bytes of memory"});
}

}  // namespace
}  // namespace cumlp::reliability
