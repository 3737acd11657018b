// Helper of kill_test: saves checkpoint versions 1, 2, 3, ... to argv[1] in an
// endless loop with the library's save_checkpoint, until it is killed. Version
// v is a network whose every parameter equals v and whose state says
// epochs_done = v, so a reader can tell a complete version from a torn one.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cumlp/train.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: checkpoint_writer PATH\n");
    return 2;
  }
  using namespace cumlp;
  // ~300k parameters and Adam moments: a few MB per write, so kills land mid-write.
  Network net(ModelSpec::input(256).linear(512).relu().linear(256).relu().linear(10), Optimizer::adam(),
              NetworkOptions{Device::parse("cpu")});
  TrainState state;
  for (int v = 1;; ++v) {
    net.set_parameters(Tensor::from({net.parameter_count()},
                                    std::vector<double>(static_cast<std::size_t>(net.parameter_count()), v),
                                    DType::F32));
    state.epochs_done = v;
    state.train_loss.assign(static_cast<std::size_t>(v), 0.5);
    save_checkpoint(argv[1], net, &state);
  }
}
