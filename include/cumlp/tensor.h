// cumlp::Tensor — a dense, row-major, host-resident array of fp32 or fp64.
//
// Tensors are how data enters and leaves the library (inputs, targets,
// predictions, parameter copies). Device buffers live inside a Network and
// are never handed out; every Tensor the API returns is a host copy.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

/// Element type. F32 is the default everywhere; F64 is offered by the CPU
/// devices for reference computations.
enum class DType { F32, F64 };

/// "f32" / "f64".
CUMLP_API const char* dtype_name(DType dtype);
/// The inverse of dtype_name; throws Error naming the value for anything else.
CUMLP_API DType parse_dtype(const std::string& name);
/// Bytes per element: 4 or 8.
CUMLP_API std::size_t dtype_size(DType dtype);

/// The arithmetic of the f32 matrix products (every Linear layer's GEMMs):
///   FP32    fp32 multiply-add (the default; the reference's tolerances).
///   TF32    tensor cores: each operand rounded to TF32 (10-bit mantissa,
///           unit roundoff 2^-11), products accumulated in fp32. Faster on
///           sm_80+, about 3 decimal digits per operand.
///   TF32x3  tensor cores, each operand split into two TF32 parts (big +
///           small) and three products summed: close to fp32 accuracy.
/// Only the cuda and sim devices (whose kernels have the tensor-core GEMM)
/// and dtype f32 accept anything but FP32; the others refuse it with an Error.
enum class Precision { FP32, TF32, TF32x3 };

/// "fp32" / "tf32" / "tf32x3".
CUMLP_API const char* precision_name(Precision precision);
/// The inverse of precision_name; throws Error naming the value and listing the valid ones.
CUMLP_API Precision parse_precision(const std::string& name);

class CUMLP_API Tensor {
 public:
  /// An empty tensor: shape {0}, F32.
  Tensor();
  /// A zero-filled tensor. Throws Error if a dimension is negative or the
  /// element count overflows.
  Tensor(std::vector<int64_t> shape, DType dtype = DType::F32);
  /// A tensor holding `values` (converted to dtype) with the given shape.
  /// Throws Error if the shape's element count differs from values.size().
  static Tensor from(std::vector<int64_t> shape, const std::vector<double>& values, DType dtype = DType::F32);

  const std::vector<int64_t>& shape() const { return shape_; }
  /// Size of dimension d (negative d counts from the end). Throws Error if out of range.
  int64_t dim(int d) const;
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  std::size_t bytes() const { return bytes_.size(); }

  /// Typed access (float or double); throws Error if T does not match dtype().
  template <class T> T* data() {
    check_element_size(sizeof(T));
    return static_cast<T*>(raw());
  }
  template <class T> const T* data() const {
    check_element_size(sizeof(T));
    return static_cast<const T*>(raw());
  }
  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }

  /// Element i of the flattened tensor, converted to double. Throws Error if out of range.
  double at(int64_t i) const;
  /// Sets element i of the flattened tensor (converted to dtype). Throws Error if out of range.
  void set(int64_t i, double value);
  /// All elements converted to double, in row-major order.
  std::vector<double> to_vector() const;
  /// A copy converted to another dtype.
  Tensor to(DType dtype) const;
  /// Same data, new shape with the same element count (one -1 is inferred). Throws Error otherwise.
  Tensor reshape(std::vector<int64_t> shape) const;
  /// "[2, 3] f32".
  std::string describe() const;

 private:
  void check_element_size(std::size_t size) const;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  std::vector<unsigned char> bytes_;
};

}  // namespace cumlp
