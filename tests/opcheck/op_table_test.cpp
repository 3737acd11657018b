// The op-case table (host/opcheck) as GoogleTest cases, one per row, on the
// device CUMLP_OPCHECK_ON (an identifier, also the tests' prefix): `cpu`, or `sim` under every simulator schedule
// (the seed models' shapes under the first only: all four schedules made the
// sim suite ~20 s instead of ~9 s on two busy cores, and the small and odd shapes
// already run every kernel path under each), where every schedule must give
// the same bits. CUMLP_OPCHECK_PRECISION (tf32, tf32x3; default fp32) runs
// the rows of that GEMM precision (the linear ops) with its tolerances, as
// tests CUMLP_OPCHECK_PREFIX (default: the device's name).
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <functional>

#include "cumlp/device.h"
#if defined(CUMLP_HAVE_SIM)
#include "cuda/sim/launch.h"
#endif
#include "host/core/device_registry.h"
#include "host/cpu/reference/reference_backend.h"
#include "host/opcheck/runner.h"

namespace cumlp::opcheck {

// GoogleTest prints a parameter with its row's name, not its bytes.
void PrintTo(const OpCase& c, std::ostream* os) {
  *os << c.name << " " << c.shape() << (c.dtype == DType::F32 ? " f32" : " f64");
}

namespace {

#define CUMLP_STRING(x) #x
#define CUMLP_EXPAND_STRING(x) CUMLP_STRING(x)

const Device& device() {
  static const Device d = Device::parse(CUMLP_EXPAND_STRING(CUMLP_OPCHECK_ON));
  return d;
}

#if defined(CUMLP_OPCHECK_PRECISION)
const Precision kPrecision = parse_precision(CUMLP_EXPAND_STRING(CUMLP_OPCHECK_PRECISION));
#else
const Precision kPrecision = Precision::FP32;
#endif
#if !defined(CUMLP_OPCHECK_PREFIX)
#define CUMLP_OPCHECK_PREFIX CUMLP_OPCHECK_ON
#endif

std::vector<OpCase> cases() { return op_cases(*make_backend(device()), kPrecision); }

// Runs body once per simulator schedule on sim (the seed models' shapes
// under the first only), else once; body gets the schedule's label.
void for_each_schedule(const OpCase& c, const std::function<void(const std::string&)>& body) {
#if defined(CUMLP_HAVE_SIM)
  if (device().name() == "sim") {
    std::vector<sim::Schedule> all = sim::every_schedule(7);
    if (c.large()) all.resize(1);
    for (const sim::Schedule& s : all) {
      sim::ScheduleScope scope(s);
      body(" schedule " + std::string(sim::order_name(s.order)));
    }
    return;
  }
#endif
  body("");
}

std::string describe(const OpCheck& r) {
  return r.name + " " + r.shape + " " + r.dtype + ": max abs err " + std::to_string(r.max_abs_err) + ", max rel err " +
         std::to_string(r.max_rel_err) + " (atol " + std::to_string(r.atol) + ", rtol " + std::to_string(r.rtol) +
         (r.exact ? ", exact" : "") + "), seed " + std::to_string(kSeed) + "; " + r.mismatches;
}

bool same_bits(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(double)) != 0)
      return false;
  return true;
}

class OpTable : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpTable, MatchesTheReference) {
  const OpCase& c = GetParam();
  std::unique_ptr<Backend> dev = make_backend(device()), ref = make_reference_backend();
  dev->set_precision(c.precision);
  std::vector<std::vector<double>> first;
  for_each_schedule(c, [&](const std::string& where) {
    Result r;
    if (c.op == Op::replayed_step) {
      r = CaseRun::check_replayed_step(c, device());
    } else {
      CaseRun run(c, *dev);
      run.issue();
      r = run.check(*ref);
    }
    EXPECT_TRUE(r.check.pass) << describe(r.check) << where;
    if (first.empty())
      first = r.outputs;
    else
      EXPECT_TRUE(same_bits(first, r.outputs)) << c.name << " " << c.shape() << ": other bits" << where;
  });
}

std::string test_name(const ::testing::TestParamInfo<OpCase>& info) {
  const OpCase& c = info.param;
  std::string s = std::to_string(info.index) + "_" + c.name + "_" + c.shape() + (c.dtype == DType::F32 ? "_f32" : "_f64");
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(CUMLP_OPCHECK_PREFIX, OpTable, ::testing::ValuesIn(cases()), test_name);

}  // namespace
}  // namespace cumlp::opcheck
