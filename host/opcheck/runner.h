// Runs one case of the table on a device and on the reference, and compares.
//
//   CaseRun run(c, device, where);   // seeded inputs, uploaded to the device
//   run.issue();                     // the op on the device (again and again, for timing)
//   Result r = run.check(*ref);      // the reference on the same inputs; the comparison
//
// The replayed step has no reference: it compares a device's recorded and
// replayed step with its op-by-op step, on two executors of the device.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cumlp/device.h"
#include "cumlp/op_check.h"
#include "host/opcheck/op_case.h"

namespace cumlp::opcheck {

struct Result {
  OpCheck check;
  /// The device's outputs in order, as doubles (exactly the values the
  /// device wrote): the runners compare them across simulator schedules.
  std::vector<std::vector<double>> outputs;
};

/// One buffer of a case: its seeded initial values and how it is stored.
struct Arg {
  enum Type { real, i32, i64, u8, f32 } type = real;  // real: the case's dtype
  std::string name;
  std::vector<double> init;
  bool output = false;   // compared after the op
  bool present = true;   // false: passed as null
};

class CaseRun {
 public:
  /// Generates the case's inputs (kSeed) and uploads them to `device`.
  CaseRun(const OpCase& c, Backend& device);
  ~CaseRun();
  CaseRun(const CaseRun&) = delete;
  CaseRun& operator=(const CaseRun&) = delete;

  /// Issues the op on the device (without waiting for it).
  void issue();
  /// Puts every buffer back to its initial values (outputs too).
  void reset();
  /// Runs the reference on the same inputs and compares the device's outputs
  /// (waits for the device). Not for replayed steps: they compare themselves.
  Result check(Backend& reference);
  /// A replayed step's comparison (recorded then replayed, against op by
  /// op), on two executors of device `where`.
  static Result check_replayed_step(const OpCase& c, const Device& where);

  const OpCase& op_case() const { return case_; }

 private:
  struct Placed;
  OpCase case_;
  Backend& device_;
  std::vector<Arg> args_;
  std::unique_ptr<Placed> placed_;
};

/// The row of a case (name, shape, dtype, tolerance), before any result.
OpCheck row_of(const OpCase& c);

}  // namespace cumlp::opcheck
