// Runs the planted shared-memory overflow in a build with AddressSanitizer; the
// CTest entry passes when ASan's report names the simulated block and thread.
#include <cstdio>
#include <vector>

#include "tests/sim/planted_bugs.cuh"

int main() {
  std::vector<float> out(2 * 65);
  launch_overflow_shared(out.data(), nullptr);
  std::puts("no overflow reported");  // reached only if ASan missed it
  return 0;
}
