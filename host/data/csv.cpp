// CSV tables of numbers: features are every column but the label column.
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "cumlp/data.h"
#include "host/shared/error_macros.h"
#include "host/data/read.h"

namespace cumlp {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// One field as a finite number; where = "<file>:<line>" for the message.
double parse_field(std::string_view field, const std::string& where, size_t column) {
  const std::string_view text = trim(field);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  CUMLP_CHECK(!text.empty() && ec == std::errc() && end == text.data() + text.size(), where, ": column ", column + 1,
              " is not a number: '", text, "'");
  CUMLP_CHECK(std::isfinite(value) && std::isfinite(static_cast<float>(value)), where, ": column ", column + 1,
              " is not a finite float: '", text, "'");
  return value;
}

}  // namespace

Dataset load_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<uint8_t> bytes = data::read_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<float> features;
  std::vector<int32_t> labels;
  size_t columns = 0, label_column = 0;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if ((options.header && line_no == 1) || trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    std::vector<double> row;
    for (size_t start = 0;;) {
      const size_t comma = std::min(line.find(',', start), line.size());
      row.push_back(parse_field(line.substr(start, comma - start), where, row.size()));
      if (comma == line.size()) break;
      start = comma + 1;
    }
    if (columns == 0) {  // the first data row fixes the layout
      columns = row.size();
      CUMLP_CHECK(columns >= 2 || !options.labelled, where, ": ", columns, " column; need features and a label");
      const int64_t c = options.label_column < 0 ? static_cast<int64_t>(columns) + options.label_column
                                                 : options.label_column;
      CUMLP_CHECK(!options.labelled || (c >= 0 && c < static_cast<int64_t>(columns)), where, ": label column ",
                  options.label_column, " is outside a row of ", columns, " columns");
      label_column = options.labelled ? static_cast<size_t>(c) : columns;  // columns: no label column
    }
    CUMLP_CHECK(row.size() == columns, where, ": ", row.size(), " columns, expected ", columns, " (ragged rows)");
    if (!options.labelled) {
      labels.push_back(0);
      features.insert(features.end(), row.begin(), row.end());
      continue;
    }
    const double label = row[label_column];
    CUMLP_CHECK(label == std::floor(label) && label >= 0 && label < std::numeric_limits<int32_t>::max(), where,
                ": label ", label, " is not a non-negative integer");
    CUMLP_CHECK(options.num_classes <= 0 || label < options.num_classes, where, ": label ", label, " is outside [0, ",
                options.num_classes, ")");
    labels.push_back(static_cast<int32_t>(label));
    for (size_t c = 0; c < columns; ++c) {
      if (c != label_column) features.push_back(static_cast<float>(row[c]));
    }
  }
  CUMLP_CHECK(!labels.empty(), path, ": no data rows");
  int num_classes = options.num_classes;
  if (num_classes == 0) {
    for (int32_t l : labels) num_classes = std::max(num_classes, l + 1);
  }
  CUMLP_CHECK(num_classes >= 1, path, ": num_classes ", num_classes, " must be at least 1");
  const auto feature_columns = static_cast<int64_t>(options.labelled ? columns - 1 : columns);
  return Dataset(std::move(features), {feature_columns}, options.scale, std::move(labels),
                 num_classes, {}, path);
}

}  // namespace cumlp
