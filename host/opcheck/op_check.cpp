// cumlp::check_ops (include/cumlp/op_check.h): the whole table on a device,
// one row per case.
//
// On cuda, wide layers may run on cuBLASLt (cuda/lt_gemm.cuh): each Linear
// product is then issued twice, since the first call of a shape may be the
// one that validates cuBLASLt (its output is the own GEMM's); the buffers
// are reset and the second call, the one checked, takes the chosen path,
// which the row names.
#include "cumlp/op_check.h"

#include "cumlp/error.h"
#include "host/core/device_registry.h"
#include "host/cpu/reference/reference_backend.h"
#include "host/opcheck/runner.h"

namespace cumlp {

#if defined(CUMLP_HAVE_CUDA)
const char* cuda_linear_last_path();  // cuda/lt_gemm.cu: the path of this thread's last Linear product on cuda
#endif

namespace {

using PathFn = const char* (*)();

bool is_linear(opcheck::Op op) {
  return op == opcheck::Op::forward || op == opcheck::Op::backward_data || op == opcheck::Op::backward_weight ||
         op == opcheck::Op::backward;
}

OpCheck check_case(const opcheck::OpCase& c, Backend& device, Backend& reference, const Device& where, PathFn path) {
  if (c.op == opcheck::Op::replayed_step) return opcheck::CaseRun::check_replayed_step(c, where).check;
  opcheck::CaseRun run(c, device);
  std::string taken;
  if (path && is_linear(c.op)) {
    run.issue();
    const std::string first = path();
    run.reset();
    run.issue();
    taken = first.find("rejected") != std::string::npos ? first : std::string(path());
  } else {
    run.issue();
  }
  OpCheck r = run.check(reference).check;
  r.path = taken;
  // At a seed model's real shape cuBLASLt must take the product: a rejection
  // there is a failure of the row (the warning alone would pass unnoticed).
  if (taken.find("rejected") != std::string::npos && !c.model.empty()) {
    r.pass = false;
    r.mismatches = "cuBLASLt rejected at a seed model's shape: " + taken + (r.mismatches.empty() ? "" : "; ") +
                   r.mismatches;
  }
  return r;
}

}  // namespace

std::vector<OpCheck> check_ops(const Device& device, Precision precision) {
  std::unique_ptr<Backend> be = make_backend(device), ref = make_reference_backend();
  be->set_precision(precision);
  PathFn path = nullptr;
#if defined(CUMLP_HAVE_CUDA)
  if (device.name().rfind("cuda", 0) == 0) path = &cuda_linear_last_path;
#endif
  std::vector<OpCheck> out;
  for (const opcheck::OpCase& c : opcheck::op_cases(*be, precision)) {
    try {
      out.push_back(check_case(c, *be, *ref, device, path));
    } catch (const Error& e) {  // a device error is a failed row, with what and where
      OpCheck r = opcheck::row_of(c);
      r.mismatches = std::string("error: ") + e.what();
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace cumlp
