// NumPy <-> cumlp conversions for the extension module (and dict_of for reports).
//
// Inputs arrive as nanobind ndarrays: a view of the caller's buffer (NumPy's
// buffer protocol or DLPack), never a copy made by the binding. The Python
// layer (cumlp/_arrays.py) has already checked dtype, shape and finiteness and
// named the argument; these functions only check what they rely on.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "cumlp/tensor.h"

namespace cumlp::py {

namespace nb = nanobind;

/// A read-only, C-contiguous host array of any dtype (checked below).
using HostArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

/// "float32" / "float64" / anything else as nanobind describes it.
inline bool is_f32(const HostArray& a) { return a.dtype() == nb::dtype<float>(); }
inline bool is_f64(const HostArray& a) { return a.dtype() == nb::dtype<double>(); }

/// The array's shape as the library's int64 dims.
inline std::vector<int64_t> shape_of(const HostArray& a) {
  std::vector<int64_t> s(a.ndim());
  for (std::size_t i = 0; i < a.ndim(); ++i) s[i] = static_cast<int64_t>(a.shape(i));
  return s;
}

/// A float32/float64 array as a library Tensor (the Tensor owns its storage:
/// this is the one copy, into the library). Raises TypeError for other dtypes.
inline Tensor to_tensor(const HostArray& a, const char* what) {
  if (!is_f32(a) && !is_f64(a)) throw nb::type_error((std::string(what) + ": expected float32 or float64").c_str());
  Tensor t(shape_of(a), is_f32(a) ? DType::F32 : DType::F64);
  if (t.bytes()) std::memcpy(t.raw(), a.data(), t.bytes());
  return t;
}

/// A library Tensor as a NumPy array that owns it (no copy).
inline nb::object to_numpy(Tensor t) {
  auto* held = new Tensor(std::move(t));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<std::size_t> shape(held->shape().begin(), held->shape().end());
  if (held->dtype() == DType::F32)
    return nb::cast(nb::ndarray<nb::numpy, float>(held->data<float>(), shape.size(), shape.data(), owner));
  return nb::cast(nb::ndarray<nb::numpy, double>(held->data<double>(), shape.size(), shape.data(), owner));
}

/// A vector as a 1-D NumPy array that owns it (no copy).
template <class T>
nb::object vector_to_numpy(std::vector<T> v) {
  auto* held = new std::vector<T>(std::move(v));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  const std::size_t n = held->size();
  return nb::cast(nb::ndarray<nb::numpy, T>(held->data(), 1, &n, owner));
}

/// A dict from (key, value) pairs: the library's report structs as Python sees them.
inline nb::dict dict_of(std::initializer_list<std::pair<const char*, nb::object>> items) {
  nb::dict d;
  for (const auto& [key, value] : items) d[key] = value;
  return d;
}

}  // namespace cumlp::py
