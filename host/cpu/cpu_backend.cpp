#include "host/cpu/cpu_backend.h"

#include <new>

#include "host/cpu/gather_cpu.h"
#include "host/cpu/ops_cpu.h"
#include "host/shared/host_memory_backend.h"

namespace cumlp {

namespace {

class CpuBackend final : public HostMemoryBackend {
 public:
  std::string name() const override { return "cpu"; }
  bool supports(DType) const override { return true; }

  void linear_act_forward(DType dt, int64_t M, int64_t N, int64_t K, const void* x, const void* w, const void* b,
                          const Epilogue& ep, void* y, void* y_drop) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::linear_act_forward_cpu<T>(M, N, K, as<T>(x), as<T>(w), as<T>(b), ep, as<T>(y), as<T>(y_drop));
    });
  }
  void linear_backward_data(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* w,
                            const void* y_prev, const Epilogue& ep, void* dz_prev) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::linear_backward_data_cpu<T>(M, N, K, as<T>(dz), as<T>(w), as<T>(y_prev), ep, as<T>(dz_prev));
    });
  }
  void linear_backward_weight(DType dt, int64_t M, int64_t N, int64_t K, const void* dz, const void* x, void* dw,
                              void* db) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::linear_backward_weight_cpu<T>(M, N, K, as<T>(dz), as<T>(x), as<T>(dw), as<T>(db));
    });
  }
  void loss_forward_backward(DType dt, const LossArgs& a, const void* y, const void* target, void* dz,
                             void* loss) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::loss_forward_backward_cpu<T>(a, as<T>(y), target, as<T>(dz), as<T>(loss));
    });
  }
  void gather_batch(DType dt, const GatherArgs& a, const int64_t* rows, int64_t n, void* x,
                    void* target) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::gather_batch_cpu<T>(a, rows, n, as<T>(x), target);
    });
  }
  void optimizer_step(DType dt, const OptimArgs& a, int64_t n, void* params, const void* grads, void* m,
                      void* v) override {
    ++launches_;
    dispatch(dt, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      cpu::optimizer_step_cpu<T>(a, n, as<T>(params), as<T>(grads), as<T>(m), as<T>(v));
    });
  }

 private:
  template <class T> static T* as(void* p) { return static_cast<T*>(p); }
  template <class T> static const T* as(const void* p) { return static_cast<const T*>(p); }
  template <class F> static void dispatch(DType dt, F&& f) {
    if (dt == DType::F32)
      f(static_cast<float*>(nullptr));
    else
      f(static_cast<double*>(nullptr));
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace cumlp
