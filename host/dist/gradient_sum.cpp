#include "host/dist/gradient_sum.h"

#include <algorithm>

#include "host/shared/error_macros.h"

namespace cumlp {

namespace {
// dst := src's dtype values as doubles (exact).
void widen(DType dtype, const unsigned char* src, std::span<double> dst) {
  if (dtype == DType::F64) {
    const auto* s = reinterpret_cast<const double*>(src);
    std::copy(s, s + dst.size(), dst.begin());
  } else {
    const auto* s = reinterpret_cast<const float*>(src);
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<double>(s[i]);
  }
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
  if (local_rows > 0) {
    backend_.download(staged_.data(), grads, staged_.size());
    widen(dtype_, staged_.data(), g);
  }
  sum_.back() = local_loss;
  weighted_sum(sum_, local_rows, global_rows);
  if (dtype_ == DType::F64) narrow<double>(g, staged_.data());
  else narrow<float>(g, staged_.data());
  backend_.upload(grads, staged_.data(), staged_.size());
  return sum_.back();
}

// The arithmetic of the host-staged sum, shared by reduce() and the enqueued
// pieces so both give the same bits: v (the values widened to double) weighted
// by this rank's rows (zeros for a rank without rows), summed over the ranks
// in rank order (Communicator::sum: the same bits on every rank and run), then
// divided by the global rows (a division, not a multiplication by 1/B, so one
// process and one rank of one give the same figure).
void GradientSum::weighted_sum(std::span<double> v, int64_t local_rows, int64_t global_rows) {
  const auto weight = static_cast<double>(local_rows);
  for (double& x : v) x = local_rows > 0 ? x * weight : 0.0;
  comm_.sum(v);
  const auto global = static_cast<double>(global_rows);
  for (double& x : v) x /= global;
}

bool GradientSum::can_enqueue() const {
  return backend_.has_side_stream() &&
         (device_sum_ ? device_sum_->can_enqueue() : backend_.host_calls_reach_memory());
}

void GradientSum::enqueue(void* data, int64_t count, int64_t local_rows, int64_t global_rows) {
  CUMLP_CHECK(global_rows >= 1 && local_rows >= 0 && local_rows <= global_rows && count >= 0, "gradient sum: ",
              local_rows, " of ", global_rows, " rows");
  CUMLP_CHECK(can_enqueue(), "internal: device ", backend_.name(), " cannot enqueue the gradient sum");
  if (device_sum_)
    return device_sum_->enqueue_sum(data, count, dtype_, static_cast<double>(local_rows) / static_cast<double>(global_rows),
                                    backend_.stream_handle(/*side=*/true));
  const auto key = std::make_tuple(data, count, local_rows, global_rows);
  auto it = pieces_.try_emplace(key, Piece{this, data, count, local_rows, global_rows}).first;
  backend_.side_host_call(&GradientSum::sum_piece, &it->second);
}

// The host call: the piece is read and written in place (host_calls_reach_memory).
void GradientSum::sum_piece(void* piece) {
  const Piece& p = *static_cast<const Piece*>(piece);
  GradientSum& s = *p.owner;
  s.piece_sum_.resize(static_cast<std::size_t>(p.count));
  auto* bytes = static_cast<unsigned char*>(p.data);
  if (p.local_rows > 0) widen(s.dtype_, bytes, s.piece_sum_);
  s.weighted_sum(s.piece_sum_, p.local_rows, p.global_rows);
  if (s.dtype_ == DType::F64) narrow<double>(s.piece_sum_, bytes);
  else narrow<float>(s.piece_sum_, bytes);
}

void GradientSum::wait_issued() {
  if (device_sum_) device_sum_->wait_stream(backend_.stream_handle(/*side=*/false), "the distributed step");
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
