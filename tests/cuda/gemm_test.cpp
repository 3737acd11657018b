// The register-tiled GEMM (cuda/gemm.cuh) at planted shapes that reach each
// of its paths: every tile of the rule (32x32, 64x64, 128x128), split-K (the
// last block of a tile summing the partials), K = 0, M = 1, odd sizes, and
// operands at addresses 4 bytes off 16-byte alignment (the scalar load path).
// Each Linear op, and the grouped backward, against the plain reference
// (1e-4: the op table's GEMM tolerance, inputs scaled so outputs are O(1));
// the misaligned run gives the same bits as the aligned one (the same sums in
// the same order, only the loads differ); a second run the same bits (the
// split counters are back at zero). At TF32 and TF32x3 (the tensor-core block
// of cuda/gemm_tf32.cuh, same tiles, splits and grouping) the same paths
// against the reference with the op table's per-precision tolerance (1e-4 +
// 1e-4 |ref| + u sum |a||b|, u = 2^-10 and 2^-20), db the same bits as fp32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "host/cpu/reference/reference_backend.h"
#include "sim_fixture.h"
#include "tests/cuda/gpu_devices.h"

namespace cumlp::test {
namespace {

constexpr uint64_t kSeed = 1717;

struct Shape {
  int64_t M, N, K;  // batch, outputs, inputs of the Linear layer
};

// Inputs of one shape, float-rounded (double copies for the reference).
struct Inputs {
  std::vector<double> x, w, b, dz, y_prev, dzw;
  explicit Inputs(const Shape& s) {
    const double sk = 2 / std::sqrt(static_cast<double>(std::max<int64_t>(s.K, 1)));
    const double sn = 2 / std::sqrt(static_cast<double>(s.N)), sm = 1 / std::sqrt(static_cast<double>(s.M));
    x = rounded(kSeed, 1, s.M * s.K, -1, 1);
    w = rounded(kSeed, 2, s.N * s.K, -sk, sk);
    b = rounded(kSeed, 3, s.N, -0.5, 0.5);
    dz = rounded(kSeed, 4, s.M * s.N, -sm, sm);   // weight gradient: sums over M rows
    dzw = rounded(kSeed, 5, s.N * s.K, -sn, sn);  // the weight the input gradient multiplies
    y_prev = rounded(kSeed, 6, s.M * s.K, 0.1, 1);
  }
};

// A device buffer holding v as floats at an offset of `shift` floats from the
// allocation (1: 4 bytes off 16-byte alignment, so float4 loads are off).
class Placed {
 public:
  Placed(Backend& be, const std::vector<double>& v, int shift)
      : buf_(be, (v.size() + 4) * sizeof(float)), shift_(shift), n_(v.size()) {
    const std::vector<float> f(v.begin(), v.end());
    if (!f.empty()) be.upload(ptr(), f.data(), f.size() * sizeof(float));
  }
  Placed(Backend& be, std::size_t n, int shift) : buf_(be, (n + 4) * sizeof(float)), shift_(shift), n_(n) {}
  void* ptr() const { return static_cast<float*>(buf_.get()) + shift_; }
  std::vector<float> read() const {
    const std::vector<float> all = buf_.read<float>();
    return std::vector<float>(all.begin() + shift_, all.begin() + shift_ + static_cast<std::ptrdiff_t>(n_));
  }

 private:
  DeviceBuffer buf_;
  int shift_;
  std::size_t n_;
};

// Every output of the four Linear ops at shape s on be, operands shifted by `shift` floats.
std::vector<std::vector<float>> run_ops(Backend& be, const Shape& s, const Inputs& in, int shift,
                                        Precision precision = Precision::FP32) {
  be.set_precision(precision);
  const auto M = static_cast<std::size_t>(s.M), N = static_cast<std::size_t>(s.N), K = static_cast<std::size_t>(s.K);
  Placed x(be, in.x, shift), w(be, in.w, shift), b(be, in.b, shift), dz(be, in.dz, shift), dzw(be, in.dzw, shift),
      yp(be, in.y_prev, shift), y(be, M * N, shift), dprev(be, M * K, shift), gw(be, N * K, shift), gb(be, N, shift),
      dprev2(be, M * K, shift), gw2(be, N * K, shift), gb2(be, N, shift);
  const Epilogue relu{ops::kReLU, 0, 0, kSeed, 0, 1}, tanh_prev{ops::kTanh, 0, 0, kSeed, 0, 1};
  be.linear_act_forward(DType::F32, s.M, s.N, s.K, x.ptr(), w.ptr(), b.ptr(), relu, y.ptr(), nullptr);
  be.linear_backward_data(DType::F32, s.M, s.N, s.K, dz.ptr(), dzw.ptr(), yp.ptr(), tanh_prev, dprev.ptr());
  if (s.K > 0) be.linear_backward_weight(DType::F32, s.M, s.N, s.K, dz.ptr(), x.ptr(), gw.ptr(), gb.ptr());
  if (s.K > 0)
    be.linear_backward(DType::F32, s.M, s.N, s.K, dz.ptr(), dzw.ptr(), x.ptr(), yp.ptr(), tanh_prev, gw2.ptr(),
                       gb2.ptr(), dprev2.ptr());
  std::vector<std::vector<float>> out{y.read(), dprev.read(), gw.read(), gb.read(), dprev2.read(), gw2.read(), gb2.read()};
  be.set_precision(Precision::FP32);
  return out;
}

// The same four ops on the reference, in double: y, dz_prev, dw, db (the grouped op's are these too).
std::vector<std::vector<double>> reference_ops(const Shape& s, const Inputs& in) {
  auto ref = make_reference_backend();
  const auto M = static_cast<std::size_t>(s.M), N = static_cast<std::size_t>(s.N), K = static_cast<std::size_t>(s.K);
  std::vector<double> y(M * N), dprev(M * K), gw(N * K), gb(N);
  const Epilogue relu{ops::kReLU, 0, 0, kSeed, 0, 1}, tanh_prev{ops::kTanh, 0, 0, kSeed, 0, 1};
  ref->linear_act_forward(DType::F64, s.M, s.N, s.K, in.x.data(), in.w.data(), in.b.data(), relu, y.data(), nullptr);
  ref->linear_backward_data(DType::F64, s.M, s.N, s.K, in.dz.data(), in.dzw.data(), in.y_prev.data(), tanh_prev,
                            dprev.data());
  if (s.K > 0)
    ref->linear_backward_weight(DType::F64, s.M, s.N, s.K, in.dz.data(), in.x.data(), gw.data(), gb.data());
  return {y, dprev, gw, gb};
}

// The reference's ops on |inputs|: per output, sum |a||b| (times the same
// activation derivative, bias and activation only adding): the scale of a
// tensor-core product's rounding error.
std::vector<std::vector<double>> abs_reference_ops(const Shape& s, Inputs in) {
  for (std::vector<double>* v : {&in.x, &in.w, &in.b, &in.dz, &in.dzw})
    for (double& e : *v) e = std::fabs(e);
  return reference_ops(s, in);
}

// |got - ref| <= 1e-4 + 1e-4 |ref| + u ab elementwise (the op table's tensor-core tolerance).
::testing::AssertionResult close_ab(const std::string& what, const std::vector<float>& got,
                                    const std::vector<double>& ref, const std::vector<double>& ab, double u) {
  if (got.size() != ref.size()) return ::testing::AssertionFailure() << what << ": " << got.size() << " elements";
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]), tol = 1e-4 + 1e-4 * std::fabs(ref[i]) + u * ab[i];
    if (!(err <= tol))
      return ::testing::AssertionFailure() << what << "[" << i << "]: got " << got[i] << " expected " << ref[i]
                                           << " (|diff| " << err << " > " << tol << "), seed " << kSeed;
  }
  return ::testing::AssertionSuccess();
}

class GpuGemm : public OnDevice {};

// One shape per path (tile and split from cuda/gemm_rule.cuh for the GEMMs
// C[M, N] of the forward, C[M, K] of the input gradient, C[N, K] with inner
// dimension M of the weight gradient).
const Shape kShapes[] = {
    {1, 1, 1},       // the smallest: small tile, no split
    {1, 7, 1000},    // M = 1, long K: small tile split 31 ways
    {5, 3, 0},       // K = 0: y = act(b), the input gradient empty
    {33, 65, 129},   // odd sizes, medium tiles, split K
    {67, 45, 301},   // odd, medium tiles split over K = 301 (the last split partial)
    {130, 250, 8},   // medium tiles, K shorter than one split
    {256, 300, 784}, // model B's first layer at a narrower width: medium, split
    {1500, 1500, 9}, // >= 132 tiles of 128 x 128: the large tile (no split)
};

TEST_P(GpuGemm, PlantedShapesMatchTheReferenceAlignedOrNot) {
  auto be = make_backend(Device::parse(device()));
  const char* const kOut[] = {"y", "dz_prev", "dw", "db", "grouped dz_prev", "grouped dw", "grouped db"};
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K));
    const Inputs in(s);
    const auto want = reference_ops(s, in);
    const auto got = run_ops(*be, s, in, 0);
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (s.K == 0 && i >= 2) break;  // no weight gradient without inputs
      const std::size_t r = i < 4 ? i : i - 3;  // the grouped op's outputs: dz_prev, dw, db
      EXPECT_TRUE(close(kOut[i], got[i], want[r], Tol{1e-4, 1e-4}, kSeed));
    }
    EXPECT_TRUE(same_bits(got, run_ops(*be, s, in, 1))) << "misaligned operands give other bits";
    EXPECT_TRUE(same_bits(got, run_ops(*be, s, in, 0))) << "a second run gives other bits";
  }
}

TEST_P(GpuGemm, Tf32PlantedShapesMatchTheReferenceAlignedOrNot) {
  auto be = make_backend(Device::parse(device()));
  const char* const kOut[] = {"y", "dz_prev", "dw", "db", "grouped dz_prev", "grouped dw", "grouped db"};
  for (const Shape& s : kShapes) {
    if (s.K == 784) continue;  // model B's shape: the medium split tile again, at a minute of simulated MMAs
    const Inputs in(s);
    const auto want = reference_ops(s, in), ab = abs_reference_ops(s, in);
    const auto fp32 = run_ops(*be, s, in, 0);
    for (auto [precision, u] : {std::pair{Precision::TF32, 0x1p-10}, std::pair{Precision::TF32x3, 0x1p-20}}) {
      SCOPED_TRACE(std::string(precision_name(precision)) + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                   " K=" + std::to_string(s.K));
      const auto got = run_ops(*be, s, in, 0, precision);
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (s.K == 0 && i >= 2) break;  // no weight gradient without inputs
        const std::size_t r = i < 4 ? i : i - 3;
        EXPECT_TRUE(close_ab(kOut[i], got[i], want[r], ab[r], u));
      }
      if (s.K > 0) {
        EXPECT_EQ(got[3], fp32[3]) << "db (unrounded row sums, the same splits) differs from fp32's bits";
      }
      if (precision == Precision::TF32 && s.K >= 8) {
        EXPECT_NE(got[0], fp32[0]) << "tf32 should round the products";
      }
      if (precision == Precision::TF32x3) continue;  // the loads and counters are tf32's
      EXPECT_TRUE(same_bits(got, run_ops(*be, s, in, 1, precision))) << "misaligned operands give other bits";
      EXPECT_TRUE(same_bits(got, run_ops(*be, s, in, 0, precision))) << "a second run gives other bits";
    }
  }
}

// The split-K sum is in split order whatever order the blocks finish in.
TEST_P(GpuGemm, SplitKSameBitsUnderEverySchedule) {
  if (device() != "sim") GTEST_SKIP() << "schedules are the simulator's";
  auto be = make_backend(Device::parse(device()));
  const Shape s{67, 45, 301};
  const Inputs in(s);
  for (Precision precision : {Precision::FP32, Precision::TF32, Precision::TF32x3}) {
    SCOPED_TRACE(precision_name(precision));
    const auto first = run_ops(*be, s, in, 0, precision);
    for (const sim::Schedule& sch : schedules()) {
      sim::ScheduleScope scope(sch);
      EXPECT_TRUE(same_bits(first, run_ops(*be, s, in, 0, precision)))
          << "schedule " << sim::order_name(sch.order) << " differs";
    }
  }
}

TEST_P(GpuGemm, GroupedBackwardIsOneLaunch) {
  auto be = make_backend(Device::parse(device()));
  const Shape s{33, 65, 129};
  const Inputs in(s);
  (void)run_ops(*be, s, in, 0);
  Placed dz(*be, in.dz, 0), w(*be, in.dzw, 0), x(*be, in.x, 0), yp(*be, in.y_prev, 0), gw(*be, in.w.size(), 0),
      gb(*be, in.b.size(), 0), dprev(*be, in.x.size(), 0);
  for (Precision precision : {Precision::FP32, Precision::TF32, Precision::TF32x3}) {
    be->set_precision(precision);
    const int64_t before = be->launches();
    be->linear_backward(DType::F32, s.M, s.N, s.K, dz.ptr(), w.ptr(), x.ptr(), yp.ptr(), Epilogue{}, gw.ptr(),
                        gb.ptr(), dprev.ptr());
    EXPECT_EQ(be->launches() - before, 1) << precision_name(precision);
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuGemm, ::testing::Values("sim", "cuda"), device_label);

}  // namespace
}  // namespace cumlp::test
