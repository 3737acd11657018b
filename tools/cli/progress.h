// Progress display for `cumlp train`: a live bar redrawn in place when
// stderr is a terminal, one plain line per epoch otherwise.
#pragma once

#include "cumlp/train.h"

namespace cumlp::cli {

class ProgressPrinter {
 public:
  /// quiet: print nothing (e.g. --quiet).
  explicit ProgressPrinter(bool quiet);
  void operator()(const Progress& p);

 private:
  bool quiet_, tty_;
};

}  // namespace cumlp::cli
