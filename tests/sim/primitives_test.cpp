// Semantics of each simulated primitive against hand-computed expectations,
// under every schedule order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <numeric>
#include <vector>

#include "cuda/sim/portable.h"

namespace {

// Runs `body` once under each schedule order, naming the order on failure.
template <class F>
void for_each_schedule(F body) {
  for (const sim::Schedule& s : sim::every_schedule(7)) {
    SCOPED_TRACE(std::string(sim::order_name(s.order)));
    sim::ScheduleScope scope(s);
    body();
  }
}

__global__ void coords_kernel(int* out) {
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[b * per_block + t] = int(b * 1000 + t);
}

TEST(SimPrimitives, BuiltinVariablesCoverTheGrid) {
  for_each_schedule([] {
    std::vector<int> out(2 * 3 * 2 * 4 * 2 * 3, -1);
    sim::launch(coords_kernel, dim3(2, 3, 2), dim3(4, 2, 3), 0, nullptr, out.data());
    for (int b = 0; b < 12; ++b)
      for (int t = 0; t < 24; ++t) ASSERT_EQ(out[b * 24 + t], b * 1000 + t);
  });
}

enum Shuffle { kIdx, kUp, kDown, kXor };

__global__ void shuffle_kernel(int* out, int kind, int arg, int width) {
  const int lane = int(threadIdx.x);
  const int v = 100 + lane;
  int r = 0;
  switch (kind) {
    case kIdx: r = __shfl_sync(0xffffffffu, v, arg, width); break;
    case kUp: r = __shfl_up_sync(0xffffffffu, v, unsigned(arg), width); break;
    case kDown: r = __shfl_down_sync(0xffffffffu, v, unsigned(arg), width); break;
    default: r = __shfl_xor_sync(0xffffffffu, v, arg, width); break;
  }
  out[lane] = r;
}

// What CUDA documents: lanes are split into segments of `width`; idx reads
// segment_start + arg % width, up/down keep their value past the segment edge.
int expected_shuffle(int kind, int lane, int arg, int width) {
  const int start = lane / width * width;
  switch (kind) {
    case kIdx: return 100 + start + arg % width;
    case kUp: return 100 + (lane - arg >= start ? lane - arg : lane);
    case kDown: return 100 + (lane + arg < start + width ? lane + arg : lane);
    default: return 100 + ((lane ^ arg) < start + width ? lane ^ arg : lane);
  }
}

TEST(SimPrimitives, ShufflesWithEveryWidth) {
  for_each_schedule([] {
    for (int kind : {kIdx, kUp, kDown, kXor})
      for (int width : {1, 2, 4, 8, 16, 32})
        for (int arg : {0, 1, 3, 5, 17}) {
          if (kind == kXor && arg >= width) continue;  // would leave the segment: undefined in CUDA
          std::vector<int> out(32, -1);
          sim::launch(shuffle_kernel, 1, 32, 0, nullptr, out.data(), kind, arg, width);
          for (int lane = 0; lane < 32; ++lane)
            ASSERT_EQ(out[lane], expected_shuffle(kind, lane, arg, width))
                << "kind " << kind << " width " << width << " arg " << arg << " lane " << lane;
        }
  });
}

// The two half-warps shuffle independently with disjoint partial masks.
__global__ void half_warp_kernel(double* out) {
  const double v = threadIdx.x * 1.5;
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0x0000ffffu, v, 1, 16);
  else out[threadIdx.x] = __shfl_sync(0xffff0000u, v, 31);
}

TEST(SimPrimitives, PartialMasksAndEightByteValues) {
  for_each_schedule([] {
    std::vector<double> out(32);
    sim::launch(half_warp_kernel, 1, 32, 0, nullptr, out.data());
    for (int lane = 0; lane < 16; ++lane) EXPECT_EQ(out[lane], (lane == 15 ? 15 : lane + 1) * 1.5);
    for (int lane = 16; lane < 32; ++lane) EXPECT_EQ(out[lane], 31 * 1.5);
  });
}

__global__ void vote_kernel(unsigned* out) {
  const unsigned lane = threadIdx.x % 32;
  const bool odd = lane % 2;
  if (lane >= 24) return;  // lanes 24..31 have exited: they drop out of full-mask votes
  out[threadIdx.x * 5 + 0] = __ballot_sync(0xffffffffu, odd);
  out[threadIdx.x * 5 + 1] = __any_sync(0xffffffffu, lane == 23);
  out[threadIdx.x * 5 + 2] = __all_sync(0xffffffffu, lane < 24);
  out[threadIdx.x * 5 + 3] = __activemask();
  if (lane < 8) out[threadIdx.x * 5 + 4] = __ballot_sync(0xffu, lane < 3);
}

TEST(SimPrimitives, VotesCountOnlyParticipatingLanes) {
  for_each_schedule([] {
    std::vector<unsigned> out(64 * 5, 99);
    sim::launch(vote_kernel, 1, 64, 0, nullptr, out.data());
    for (unsigned t = 0; t < 64; ++t) {
      if (t % 32 >= 24) continue;
      EXPECT_EQ(out[t * 5 + 0], 0x00aaaaaau) << t;
      EXPECT_EQ(out[t * 5 + 1], 1u) << t;
      EXPECT_EQ(out[t * 5 + 2], 1u) << t;
      EXPECT_EQ(out[t * 5 + 3] & 0xff000000u, 0u) << t;  // lanes that exited are inactive
      EXPECT_NE(out[t * 5 + 3] & (1u << t % 32), 0u) << t;  // the caller always is
      EXPECT_EQ(out[t * 5 + 4], t % 32 < 8 ? 0x7u : 99u) << t;
    }
  });
}

__global__ void atomics_kernel(int* counter, float* fsum, int* imax, int* imin, unsigned* bits, int* cas_count,
                               float* exch) {
  const int id = int(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicMax(imax, id * 3 % 1001);
  atomicMin(imin, 5000 - id);
  atomicOr(bits, 1u << (id % 32));
  // An increment built from compare-and-swap, retried until it wins.
  for (int old = atomicAdd(cas_count, 0);;) {
    const int seen = atomicCAS(cas_count, old, old + 2);
    if (seen == old) break;
    old = seen;
  }
  atomicExch(exch, 3.0f);
}

TEST(SimPrimitives, AtomicsFromManyThreadsAndBlocks) {
  for (unsigned workers : {1u, 4u}) {
    int counter = 0, imax = -1, imin = 1 << 30, cas_count = 0;
    float fsum = 0.0f, exch = 0.0f;
    unsigned bits = 0;
    const sim::Schedule random{sim::Order::random, 3};
    sim::launch_with({&random, workers}, atomics_kernel, 64, 256, 0, nullptr, &counter, &fsum, &imax, &imin, &bits,
                     &cas_count, &exch);
    const int threads = 64 * 256;
    EXPECT_EQ(counter, threads);
    EXPECT_EQ(fsum, threads * 0.5f);  // exact: every partial sum is a multiple of 0.5 below 2^24
    EXPECT_EQ(imax, 1000);
    EXPECT_EQ(imin, 5000 - (threads - 1));
    EXPECT_EQ(bits, 0xffffffffu);
    EXPECT_EQ(cas_count, 2 * threads);
    EXPECT_EQ(exch, 3.0f);
  }
}

__global__ void barrier_counts_kernel(int* out) {
  const unsigned t = threadIdx.x;
  out[t * 4 + 0] = __syncthreads_count(t % 3 == 0);
  out[t * 4 + 1] = __syncthreads_and(t < 1000);
  out[t * 4 + 2] = __syncthreads_and(t != 17);
  out[t * 4 + 3] = __syncthreads_or(t == 99);
}

TEST(SimPrimitives, BarrierPredicatesReduceOverTheBlock) {
  for_each_schedule([] {
    std::vector<int> out(100 * 4);
    sim::launch(barrier_counts_kernel, 1, 100, 0, nullptr, out.data());
    for (int t = 0; t < 100; ++t) {
      EXPECT_EQ(out[t * 4 + 0], 34);
      EXPECT_EQ(out[t * 4 + 1], 1);
      EXPECT_EQ(out[t * 4 + 2], 0);
      EXPECT_EQ(out[t * 4 + 3], 1);
    }
  });
}

// Each thread reads its neighbour's entry after the barrier; shared memory read
// before anything is written holds the poison.
__global__ void shared_kernel(float* out, int* poison) {
  CUMLP_SHARED(float, fresh, [4]);
  CUMLP_SHARED(int, ints, [4]);
  CUMLP_DYNAMIC_SHARED(float, ring);
  if (threadIdx.x == 0) {
    out[blockDim.x] = fresh[2];
    *poison = ints[1];
  }
  __syncthreads();
  ring[threadIdx.x] = float(blockIdx.x * 100 + threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = ring[(threadIdx.x + 1) % blockDim.x];
}

TEST(SimPrimitives, SharedMemoryIsPerBlockAndPoisoned) {
  for_each_schedule([] {
    std::vector<float> out(33);
    int poison = 0;
    sim::launch(shared_kernel, 1, 32, 32 * sizeof(float), nullptr, out.data(), &poison);
    for (int t = 0; t < 32; ++t) EXPECT_EQ(out[t], float((t + 1) % 32));
    EXPECT_TRUE(std::isnan(out[32]));
    EXPECT_EQ(poison, int(0xCDCDCDCDu));
  });
}

__global__ void stamp_kernel(int* counter, int* first, int* second) {
  first[threadIdx.x] = atomicAdd(counter, 1);
  __syncwarp();
  second[threadIdx.x] = atomicAdd(counter, 1);
}

// The orders differ observably: who runs first, and whether a warp runs ahead.
TEST(SimPrimitives, ScheduleOrdersInterleaveDifferently) {
  auto run = [](sim::Schedule s) {
    int counter = 0;
    std::vector<int> first(64), second(64);
    sim::launch_with({&s, 1}, stamp_kernel, 1, 64, 0, nullptr, &counter, first.data(), second.data());
    return first;
  };
  const auto forward = run({sim::Order::forward});
  const auto reverse = run({sim::Order::reverse});
  const auto warp = run({sim::Order::warp});
  const auto random = run({sim::Order::random, 5});
  EXPECT_EQ(forward[0], 0);
  EXPECT_EQ(forward[32], 33);  // warp 0's last lane passed __syncwarp and stamped before warp 1 started
  EXPECT_EQ(reverse[63], 0);
  EXPECT_EQ(warp[0], 0);
  EXPECT_EQ(warp[32], 64);  // warp 0 finished entirely before warp 1 started
  EXPECT_NE(random, forward);
  EXPECT_NE(random, reverse);
  EXPECT_EQ(random, run({sim::Order::random, 5}));  // seeded: reproducible
}

// Run by CTest a second time with CUMLP_SIM_SCHEDULE=reverse (see CMakeLists.txt).
TEST(SimPrimitives, EnvironmentSelectsTheDefaultSchedule) {
  const char* env = std::getenv("CUMLP_SIM_SCHEDULE");
  if (!env || std::string(env) != "reverse") GTEST_SKIP() << "needs CUMLP_SIM_SCHEDULE=reverse";
  int counter = 0;
  std::vector<int> first(64), second(64);
  sim::launch(stamp_kernel, 1, 64, 0, nullptr, &counter, first.data(), second.data());
  EXPECT_EQ(first[63], 0);
}

TEST(SimPrimitives, ScheduleNamesParse) {
  EXPECT_EQ(sim::parse_schedule("reverse").order, sim::Order::reverse);
  EXPECT_EQ(sim::parse_schedule("warp").order, sim::Order::warp);
  EXPECT_EQ(sim::parse_schedule("random:42").seed, 42u);
  EXPECT_THROW(sim::parse_schedule("sideways"), cumlp::Error);
  EXPECT_THROW(sim::parse_schedule("forward:3"), cumlp::Error);
}

__global__ void math_kernel(float* out) {
  out[0] = __expf(1.0f);
  out[1] = rsqrtf(4.0f);
  out[2] = __fdividef(1.0f, 8.0f);
  out[3] = __int_as_float(__float_as_int(2.5f));
  out[4] = float(__popc(0xF0F0u) + __ffs(8) + __clz(1));
  out[5] = __ldg(out + 2);
  const float4 v = make_float4(1, 2, 3, 4);
  out[6] = v.x + v.y + v.z + v.w;
}

TEST(SimPrimitives, MathIntrinsicsAndVectorTypes) {
  std::vector<float> out(7);
  sim::launch(math_kernel, 1, 1, 0, nullptr, out.data());
  EXPECT_NEAR(out[0], std::exp(1.0f), 1e-6);
  EXPECT_EQ(out[1], 0.5f);
  EXPECT_EQ(out[2], 0.125f);
  EXPECT_EQ(out[3], 2.5f);
  EXPECT_EQ(out[4], 8.0f + 4.0f + 31.0f);
  EXPECT_EQ(out[5], 0.125f);
  EXPECT_EQ(out[6], 10.0f);
  static_assert(alignof(float4) == 16 && sizeof(float4) == 16 && alignof(float2) == 8);
}

}  // namespace

namespace {

int no_arg_runs = 0;  // host-side counter: only touched from the launching thread (1 block, 1 thread)
__global__ void no_arg_kernel() { ++no_arg_runs; }

template <class T, int kScale>
__global__ void scale_kernel(T* x) { x[threadIdx.x] *= T(kScale); }

// The launch macro with no kernel arguments, and a multi-argument template
// kernel passed through a pointer, as the launch.h comment prescribes.
TEST(SimPrimitives, LaunchMacroForms) {
  const sim::Schedule one{sim::Order::forward};
  sim::ScheduleScope scope(one);
  CUMLP_LAUNCH(no_arg_kernel, 1, 1, 0, nullptr);
  EXPECT_EQ(no_arg_runs, 1);
  std::vector<float> x(8, 1.5f);
  auto* kernel = &scale_kernel<float, 4>;
  CUMLP_LAUNCH(kernel, 1, 8, 0, nullptr, x.data());
  for (float v : x) EXPECT_EQ(v, 6.0f);
}

}  // namespace
