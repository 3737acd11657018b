// Every kernel bug and misuse the simulator promises to catch is reported as a
// cumlp::Error that names the kernel, block and thread (and the source line).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/sim/portable.h"
#include "tests/sim/planted_bugs.cuh"
#include "tests/sim/expect_error.h"

namespace {

using sim_test::error_of;

TEST(SimFaults, DivergentBarrierIsReportedInEveryOrder) {
  for (const sim::Schedule& s : sim::every_schedule()) {
    sim::ScheduleScope scope(s);
    std::vector<float> out(64);
    const std::string e = error_of([&] { launch_divergent_barrier(out.data(), nullptr); });
    EXPECT_HAS(e, "divergent __syncthreads");
    EXPECT_HAS(e, "kernel 'divergent_barrier_kernel', block (0,0,0), thread (");
    EXPECT_HAS(e, "planted_bugs.cu:");
  }
}

TEST(SimFaults, EarlyExitBeforeBarrierIsReported) {
  for (const sim::Schedule& s : sim::every_schedule()) {
    sim::ScheduleScope scope(s);
    std::vector<float> out(64);
    const std::string e = error_of([&] { launch_early_exit_barrier(out.data(), 40, nullptr); });
    EXPECT_HAS(e, "divergent __syncthreads");
    EXPECT_HAS(e, "exited the kernel");
  }
  std::vector<float> out(64);
  EXPECT_NO_THROW(launch_early_exit_barrier(out.data(), 64, nullptr));  // no thread exits early: fine
}

TEST(SimFaults, ShuffleFromALaneOutsideTheMask) {
  std::vector<float> out(32);
  const std::string e = error_of([&] { launch_shuffle_outside_mask(out.data(), nullptr); });
  EXPECT_HAS(e, "reads lane 20 in __shfl_sync");
  EXPECT_HAS(e, "outside the mask 0xffff");
  EXPECT_HAS(e, "block (0,0,0), thread (");
}

__global__ void own_lane_missing_kernel(int* out) { out[threadIdx.x] = __shfl_sync(0x1u, 1, 0); }
__global__ void bad_width_kernel(int* out) { out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1, 12); }
__global__ void exited_source_kernel(int* out, int n) {
  if (int(threadIdx.x) >= n) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, int(threadIdx.x), 1);  // the last live lane reads an exited one
}
__global__ void mismatched_ops_kernel(int* out) {
  if (threadIdx.x % 2) out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
  else out[threadIdx.x] = __ballot_sync(0xffffffffu, 1);
}

TEST(SimFaults, WarpOperationMisuse) {
  std::vector<int> out(32);
  EXPECT_HAS(error_of([&] { sim::launch(own_lane_missing_kernel, 1, 2, 0, nullptr, out.data()); }),
             "(lane 1) calls __shfl_sync");
  EXPECT_HAS(error_of([&] { sim::launch(bad_width_kernel, 1, 32, 0, nullptr, out.data()); }), "width 12");
  EXPECT_HAS(error_of([&] { sim::launch(exited_source_kernel, 1, 32, 0, nullptr, out.data(), 20); }),
             "reads lane 20 in __shfl_down_sync");
  EXPECT_HAS(error_of([&] { sim::launch(mismatched_ops_kernel, 1, 32, 0, nullptr, out.data()); }),
             "mismatched warp operations");
}

TEST(SimFaults, DeadlockIsReportedNotHung) {
  for (const sim::Schedule& s : sim::every_schedule()) {
    sim::ScheduleScope scope(s);
    std::vector<float> out(64);
    const std::string e = error_of([&] { launch_deadlock(out.data(), nullptr); });
    EXPECT_HAS(e, "deadlock in kernel 'deadlock_kernel', block (0,0,0)");
    EXPECT_HAS(e, "63 of 64 threads wait at __syncthreads");
  }
}

__global__ void spin_kernel(int* flag) {
  if (threadIdx.x == 0) {
    while (atomicAdd(flag, 0) == 0) __nanosleep(100);  // nobody will set it: the others wait below
  }
  __syncthreads();
}
__global__ void spin_then_release_kernel(int* flag, int* seen) {
  if (threadIdx.x == 0) {
    while (atomicAdd(flag, 0) == 0) __nanosleep(100);  // thread 1 sets it: a legitimate wait
    *seen = 1;
  } else if (threadIdx.x == 1) {
    atomicExch(flag, 1);
  }
}

TEST(SimFaults, SpinWaitsThatCannotEndAreDeadlocks) {
  int flag = 0, seen = 0;
  EXPECT_HAS(error_of([&] { sim::launch(spin_kernel, 1, 64, 0, nullptr, &flag); }), "threads spun in __nanosleep");
  for (const sim::Schedule& s : sim::every_schedule()) {
    sim::ScheduleScope scope(s);
    flag = seen = 0;
    sim::launch(spin_then_release_kernel, 1, 64, 0, nullptr, &flag, &seen);
    EXPECT_EQ(seen, 1);
  }
}

__global__ void empty_kernel() {}
__global__ void big_static_shared_kernel(float* out) {
  CUMLP_SHARED(float, big, [13000]);
  big[threadIdx.x] = 1.0f;
  out[0] = big[0];
}

TEST(SimFaults, LaunchConfigurationLimits) {
  EXPECT_HAS(error_of([] { sim::launch(empty_kernel, 1, 1025, 0, nullptr); }), "1025 threads");
  EXPECT_HAS(error_of([] { sim::launch(empty_kernel, 1, dim3(1, 1, 65), 0, nullptr); }), "outside CUDA's limits");
  EXPECT_HAS(error_of([] { sim::launch(empty_kernel, dim3(1, 65536), 1, 0, nullptr); }), "grid (1,65536,1)");
  EXPECT_HAS(error_of([] { sim::launch(empty_kernel, 0, 32, 0, nullptr); }), "grid (0,1,1)");
  EXPECT_HAS(error_of([] { sim::launch(empty_kernel, 1, 32, 48 * 1024 + 4, nullptr); }), "dynamic shared memory");
  sim::set_max_dynamic_shared(reinterpret_cast<const void*>(&empty_kernel), 100 * 1024);
  EXPECT_NO_THROW(sim::launch(empty_kernel, 1, 32, 100 * 1024, nullptr));
  float out = 0;
  EXPECT_HAS(error_of([&] { sim::launch(big_static_shared_kernel, 1, 32, 0, nullptr, &out); }),
             "static shared array 'big' (52000 bytes)");
}

#if !defined(__SANITIZE_ADDRESS__)
// Without ASan the canary behind each shared array still catches the overflow
// (with the block, not the thread; the ASan build names the thread).
TEST(SimFaults, SharedOverflowIsCaughtByTheCanary) {
  std::vector<float> out(2 * 65);
  const std::string e = error_of([&] { launch_overflow_shared(out.data(), nullptr); });
  EXPECT_HAS(e, "shared memory overflow in kernel 'overflow_shared_kernel', block (1,0,0)");
  EXPECT_HAS(e, "past the end of 'buf' (256 bytes)");
}
#endif

__global__ void trap_kernel() {
  if (blockIdx.x == 2 && threadIdx.x == 5) __trap();
}

__global__ void nested_launch_kernel() { sim::launch(empty_kernel, 1, 1, 0, nullptr); }

TEST(SimFaults, LaunchFromInsideAKernelIsRefused) {
  EXPECT_HAS(error_of([] { sim::launch(nested_launch_kernel, 1, 2, 0, nullptr); }), "launched from inside a kernel");
}

TEST(SimFaults, ErrorsThrownInsideAKernelUnwindTheBlock) {
  const std::string e = error_of([] { sim::launch(trap_kernel, 4, 64, 0, nullptr); });
  EXPECT_HAS(e, "block (2,0,0), thread (5,0,0): __trap() called");
  EXPECT_NO_THROW(sim::launch(empty_kernel, 4, 64, 0, nullptr));  // the simulator is usable afterwards
}

}  // namespace
