#include "cumlp/tensor.h"

#include <cstring>
#include <limits>

#include "host/shared/error_macros.h"

namespace cumlp {

const char* dtype_name(DType d) { return d == DType::F32 ? "f32" : "f64"; }
std::size_t dtype_size(DType d) { return d == DType::F32 ? 4 : 8; }

DType parse_dtype(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "f64") return DType::F64;
  CUMLP_THROW("unknown dtype '", name, "' (expected f32 or f64)");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::TF32x3: return "tf32x3";
  }
  return "?";
}

Precision parse_precision(const std::string& name) {
  for (Precision p : {Precision::FP32, Precision::TF32, Precision::TF32x3})
    if (name == precision_name(p)) return p;
  CUMLP_THROW("unknown precision '", name, "' (expected fp32, tf32 or tf32x3)");
}

namespace {
int64_t count_elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    CUMLP_CHECK(d >= 0, "tensor shape has a negative dimension (", d, ")");
    CUMLP_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / 8 / d, "tensor shape is too large");
    n *= d;
  }
  return n;
}
}  // namespace

Tensor::Tensor() : shape_{0} {}

Tensor::Tensor(std::vector<int64_t> shape, DType dtype)
    : shape_(std::move(shape)), numel_(count_elements(shape_)), dtype_(dtype) {
  bytes_.assign(static_cast<std::size_t>(numel_) * dtype_size(dtype_), 0);
}

Tensor Tensor::from(std::vector<int64_t> shape, const std::vector<double>& values, DType dtype) {
  Tensor t(std::move(shape), dtype);
  CUMLP_CHECK(static_cast<std::size_t>(t.numel()) == values.size(), "tensor of shape ", t.describe(), " given ",
              values.size(), " values");
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, values[static_cast<std::size_t>(i)]);
  return t;
}

int64_t Tensor::dim(int d) const {
  const int r = rank();
  CUMLP_CHECK(d >= -r && d < r, "dimension ", d, " out of range for a tensor of rank ", r);
  return shape_[static_cast<std::size_t>(d < 0 ? d + r : d)];
}

void Tensor::check_element_size(std::size_t size) const {
  CUMLP_CHECK(size == dtype_size(dtype_), "tensor is ", dtype_name(dtype_), ", accessed with another element type");
}

double Tensor::at(int64_t i) const {
  CUMLP_CHECK(i >= 0 && i < numel_, "index ", i, " out of range for tensor ", describe());
  return dtype_ == DType::F32 ? static_cast<double>(data<float>()[i]) : data<double>()[i];
}

void Tensor::set(int64_t i, double value) {
  CUMLP_CHECK(i >= 0 && i < numel_, "index ", i, " out of range for tensor ", describe());
  if (dtype_ == DType::F32)
    data<float>()[i] = static_cast<float>(value);
  else
    data<double>()[i] = value;
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[static_cast<std::size_t>(i)] = at(i);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t(shape_, dtype);
  for (int64_t i = 0; i < numel_; ++i) t.set(i, at(i));
  return t;
}

Tensor Tensor::reshape(std::vector<int64_t> shape) const {
  int infer = -1;
  int64_t known = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      CUMLP_CHECK(infer < 0, "reshape: more than one -1");
      infer = static_cast<int>(d);
    } else {
      CUMLP_CHECK(shape[d] >= 0, "reshape: negative dimension ", shape[d]);
      known *= shape[d];
    }
  }
  if (infer >= 0) {
    CUMLP_CHECK(known > 0 && numel_ % known == 0, "reshape: cannot infer -1 for ", describe());
    shape[static_cast<std::size_t>(infer)] = numel_ / known;
    known = numel_;
  }
  CUMLP_CHECK(known == numel_, "reshape: ", describe(), " has ", numel_, " elements, new shape has ", known);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::describe() const {
  std::string s = "[";
  for (std::size_t d = 0; d < shape_.size(); ++d) s += (d ? ", " : "") + std::to_string(shape_[d]);
  return s + "] " + dtype_name(dtype_);
}

}  // namespace cumlp
