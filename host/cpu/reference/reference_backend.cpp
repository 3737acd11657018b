#include "host/cpu/reference/reference_backend.h"

#include <vector>

#include "cumlp/model.h"
#include "host/cpu/reference/reference_ops.h"
#include "host/shared/host_memory_backend.h"

namespace cumlp {

namespace {

// A typed buffer seen in double: the values themselves for f64, a converted
// copy for f32, written back (rounded once) by store().
class AsDouble {
 public:
  AsDouble(DType dt, const void* p, int64_t n) : f32_(dt == DType::F32), p_(const_cast<void*>(p)), n_(n) {
    if (!p || !f32_) return;
    const auto* f = static_cast<const float*>(p);
    copy_.assign(f, f + n);
  }
  double* get() { return !p_ ? nullptr : f32_ ? copy_.data() : static_cast<double*>(p_); }
  void store() {
    if (!p_ || !f32_) return;
    for (int64_t i = 0; i < n_; ++i) static_cast<float*>(p_)[i] = static_cast<float>(copy_[static_cast<std::size_t>(i)]);
  }

 private:
  bool f32_;
  void* p_;
  int64_t n_;
  std::vector<double> copy_;
};

class ReferenceBackend final : public HostMemoryBackend {
 public:
  std::string name() const override { return "reference"; }
  bool supports(DType) const override { return true; }

  void linear_act_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w, const void* b,
                          const Epilogue& ep, void* y, void* y_drop) override {
    ++launches_;
    AsDouble dx(dt, x, M * K), dw(dt, w, N * K), db(dt, b, N), dy(dt, y, M * N), dyd(dt, y_drop, M * N);
    reference::linear_act_forward(M, N, K, dx.get(), dw.get(), db.get(), ep, dy.get(), dyd.get());
    dy.store();
    dyd.store();
  }
  void linear_backward_data(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w,
                            const void* y_prev, const Epilogue& ep, void* dz_prev) override {
    ++launches_;
    AsDouble ddz(dt, dz, M * N), dw(dt, w, N * K), dyp(dt, y_prev, M * K), dprev(dt, dz_prev, M * K);
    reference::linear_backward_data(M, N, K, ddz.get(), dw.get(), dyp.get(), ep, dprev.get());
    dprev.store();
  }
  void linear_backward_weight(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* x, void* dw,
                              void* db) override {
    ++launches_;
    AsDouble ddz(dt, dz, M * N), dx(dt, x, M * K), ddw(dt, dw, N * K), ddb(dt, db, N);
    reference::linear_backward_weight(M, N, K, ddz.get(), dx.get(), ddw.get(), ddb.get());
    ddw.store();
    ddb.store();
  }
  void loss_forward_backward(DType dt, const LossArgs& a, const void* y, const void* target, void* dz,
                             void* loss) override {
    ++launches_;
    const int64_t n = a.rows * a.cols;
    const bool classes = loss_takes_classes(static_cast<LossKind>(a.kind));
    AsDouble dy(dt, y, n), dtgt(dt, classes ? nullptr : target, n), ddz(dt, a.want_grad ? dz : nullptr, n),
        dl(dt, loss, 1);
    reference::loss_forward_backward(a, dy.get(), classes ? target : dtgt.get(), ddz.get(), dl.get());
    ddz.store();
    dl.store();
  }
  void gather_batch(DType dt, const GatherArgs& a, const int64_t* rows, int64_t n, void* x, void* target) override {
    ++launches_;
    AsDouble dx(dt, x, n * a.cols), dtarget(dt, a.labels ? nullptr : target, n * a.target_cols);
    reference::gather_batch(a, dt == DType::F32, rows, n, dx.get(), a.labels ? target : dtarget.get());
    dx.store();
    dtarget.store();
  }
  void optimizer_step(DType dt, const OptimArgs& a, int64_t n, void* params, const void* grads, void* m,
                      void* v) override {
    ++launches_;
    AsDouble dp(dt, params, n), dg(dt, grads, n), dm(dt, m, n), dv(dt, v, n);
    reference::optimizer_step(a, n, dp.get(), dg.get(), dm.get(), dv.get());
    dp.store();
    dm.store();
    dv.store();
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace cumlp
