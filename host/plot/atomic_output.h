// All-or-nothing output file for the pictures: writers fill tmp_path(), and only
// commit() makes the result visible under the final name, so a failed or
// interrupted picture never leaves a half PNG (or clobbers an older one).
#pragma once

#include <string>

namespace cumlp::plot_detail {

class AtomicOutput {
 public:
  /// tmp_path() is "<path>.tmp.<pid>", next to path so the rename stays on one filesystem.
  explicit AtomicOutput(std::string path);
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& path() const { return path_; }
  const std::string& tmp_path() const { return tmp_; }
  /// Renames the temporary file onto path. Throws Error if it is missing or empty
  /// (the writer claimed success but produced nothing) or the rename fails.
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  bool committed_ = false;
};

}  // namespace cumlp::plot_detail
