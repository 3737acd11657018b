// The parts of the _cumlp module, one function per file.
#pragma once

#include <nanobind/nanobind.h>

namespace cumlp::py {

/// Network, load_network / save_checkpoint / read_checkpoint.
void bind_network(nanobind::module_& m);
/// Dataset, the loaders and the Trainer (GIL released, Ctrl-C honoured).
void bind_train(nanobind::module_& m);

}  // namespace cumlp::py
