#include "host/dist/gradient_sum.h"

#include <algorithm>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
template <class T>
void widen(const unsigned char* src, double weight, std::span<double> dst) {
  const T* s = reinterpret_cast<const T*>(src);
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<double>(s[i]) * weight;
}
template <class T>
void narrow(std::span<const double> src, unsigned char* dst) {
  T* d = reinterpret_cast<T*>(dst);
  for (std::size_t i = 0; i < src.size(); ++i) d[i] = static_cast<T>(src[i]);
}
}  // namespace

GradientSum::GradientSum(Communicator& comm, Backend& backend, DType dtype, int64_t count)
    : comm_(comm), backend_(backend), device_sum_(dynamic_cast<DeviceSum*>(&comm)), dtype_(dtype), count_(count) {
  if (device_sum_) return;  // the gradients stay in device memory
  sum_.resize(static_cast<std::size_t>(count) + 1);
  staged_.resize(static_cast<std::size_t>(count) * dtype_size(dtype));
}

double GradientSum::reduce(void* grads, double local_loss, int64_t local_rows, int64_t global_rows) {
  CUMLP_CHECK(global_rows >= 1 && local_rows >= 0 && local_rows <= global_rows, "gradient sum: ", local_rows,
              " of ", global_rows, " rows");
  if (device_sum_) return reduce_on_device(grads, local_loss, local_rows, global_rows);
  const std::span<double> g(sum_.data(), static_cast<std::size_t>(count_));
  const auto weight = static_cast<double>(local_rows);
  if (local_rows == 0) {
    std::fill(sum_.begin(), sum_.end(), 0.0);
  } else {
    backend_.download(staged_.data(), grads, staged_.size());
    if (dtype_ == DType::F64) widen<double>(staged_.data(), weight, g);
    else widen<float>(staged_.data(), weight, g);
    sum_.back() = local_loss * weight;
  }
  comm_.sum(sum_);  // fixed order: the same bits on every rank and every run
  // Scaled by a division (not by a multiplication with 1/B), so one process and
  // one rank of one give the same figure.
  const auto global = static_cast<double>(global_rows);
  for (double& v : sum_) v /= global;
  if (dtype_ == DType::F64) narrow<double>(g, staged_.data());
  else narrow<float>(g, staged_.data());
  backend_.upload(grads, staged_.data(), staged_.size());
  return sum_.back();
}

// nccl: the gradients are summed where they are, each rank's scaled by its
// rows / global rows inside the all-reduce (NCCL's pre-multiplied sum); the
// loss, one value, goes through the host. A rank with no rows sends zeros
// (its buffer holds the last step's gradients).
double GradientSum::reduce_on_device(void* grads, double local_loss, int64_t local_rows, int64_t global_rows) {
  if (local_rows == 0) {
    std::vector<unsigned char> zeros(static_cast<std::size_t>(count_) * dtype_size(dtype_));
    backend_.upload(grads, zeros.data(), zeros.size());
  }
  backend_.synchronize();  // backward (or the upload) has finished writing grads
  const auto global = static_cast<double>(global_rows);
  device_sum_->sum_on_device(grads, count_, dtype_, static_cast<double>(local_rows) / global);
  double loss = local_rows == 0 ? 0.0 : local_loss * static_cast<double>(local_rows);
  comm_.sum(std::span<double>(&loss, 1));
  return loss / global;
}

}  // namespace cumlp
