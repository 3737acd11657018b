// CSV loader: plain and gzipped tables the test writes, options, and every
// malformed table rejected with the file and line in the message.
#include <algorithm>

#include "cumlp/data.h"
#include "util.h"

namespace cumlp {
namespace {

using test::expect_error;

class CsvTest : public test::TempDirTest {
 protected:
  Dataset load(const std::string& text, const CsvOptions& options = {}) {
    path_ = write("t.csv", text);
    return load_csv(path_, options);
  }
  std::string path_;
};

void expect_table(const Dataset& d) {
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.storage(), Storage::f32);
  EXPECT_EQ(d.sample_shape(), (std::vector<int64_t>{3}));
  EXPECT_TRUE(std::ranges::equal(d.f32(), std::vector<float>{0, 1.5f, 16, -2, 3e2f, 4, 5, 6, 7}));
  EXPECT_EQ(d.labels(), (std::vector<int32_t>{2, 0, 1}));
  EXPECT_EQ(d.num_classes(), 3);
}

TEST_F(CsvTest, PlainRoundTripLabelLast) { expect_table(load("0,1.5,16,2\n-2,3e2,4,0\n5,6,7,1\n")); }

TEST_F(CsvTest, GzipRoundTrip) {
  const std::string path = write("t.csv.gz", test::gzip("0,1.5,16,2\n-2,3e2,4,0\n5,6,7,1\n"));
  expect_table(load_csv(path));
}

TEST_F(CsvTest, HeaderCrlfBlankLinesSpacesAndLabelFirst) {
  CsvOptions o;
  o.header = true;
  o.label_column = 0;
  expect_table(load("label,a,b,c\r\n2, 0 ,1.5,16\r\n\r\n0,-2,3e2,4\r\n1,5,6,7", o));
}

TEST_F(CsvTest, NumClassesAndScale) {
  CsvOptions o;
  o.num_classes = 10;
  o.scale = 1.0 / 16.0;
  const Dataset d = load("16,8,3\n0,4,9\n", o);
  EXPECT_EQ(d.num_classes(), 10);
  std::vector<float> x(4);
  const int64_t rows[] = {0, 1};
  d.gather(rows, 2, x.data());
  EXPECT_EQ(x, (std::vector<float>{1.0f, 0.5f, 0.0f, 0.25f}));
}

TEST_F(CsvTest, EmptyFile) {
  expect_error([&] { load(""); }, {"t.csv", "no data rows"});
  expect_error([&] { load("\n \n"); }, {"t.csv", "no data rows"});
  CsvOptions o;
  o.header = true;
  expect_error([&] { load("a,b\n", o); }, {"t.csv", "no data rows"});
}

TEST_F(CsvTest, RaggedRows) {
  expect_error([&] { load("1,2,0\n3,4,5,1\n"); }, {"t.csv:2", "4 columns, expected 3"});
  expect_error([&] { load("1,2,0\n3,1\n"); }, {"t.csv:2", "2 columns, expected 3"});
}

TEST_F(CsvTest, NonNumeric) {
  expect_error([&] { load("1,2,0\n3,x4,1\n"); }, {"t.csv:2", "column 2 is not a number: 'x4'"});
  expect_error([&] { load("1,,0\n"); }, {"t.csv:1", "column 2 is not a number: ''"});
  expect_error([&] { load("1,2 3,0\n"); }, {"t.csv:1", "not a number"});
}

TEST_F(CsvTest, NonFinite) {
  expect_error([&] { load("1,nan,0\n"); }, {"t.csv:1", "column 2 is not a finite float: 'nan'"});
  expect_error([&] { load("1,inf,0\n"); }, {"t.csv:1", "not a finite float"});
  expect_error([&] { load("1e39,2,0\n"); }, {"t.csv:1", "not a finite float"});  // overflows float
}

TEST_F(CsvTest, BadLabels) {
  expect_error([&] { load("1,2,0\n1,2,1.5\n"); }, {"t.csv:2", "label 1.5 is not a non-negative integer"});
  expect_error([&] { load("1,2,-1\n"); }, {"t.csv:1", "label -1 is not a non-negative integer"});
  CsvOptions o;
  o.num_classes = 3;
  expect_error([&] { load("1,2,0\n1,2,3\n", o); }, {"t.csv:2", "label 3 is outside [0, 3)"});
}

TEST_F(CsvTest, BadLayout) {
  expect_error([&] { load("1\n2\n"); }, {"t.csv:1", "1 column; need features and a label"});
  CsvOptions o;
  o.label_column = 5;
  expect_error([&] { load("1,2,0\n", o); }, {"t.csv:1", "label column 5 is outside a row of 3 columns"});
}

TEST_F(CsvTest, CorruptGzip) {
  test::Bytes gz = test::gzip("1,2,0\n3,4,1\n");
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC32 of the trailer
  const std::string path = write("t.csv.gz", gz);
  expect_error([&] { load_csv(path); }, {"t.csv.gz", "corrupt gzip"});
}

}  // namespace
}  // namespace cumlp
