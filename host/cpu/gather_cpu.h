// CPU twin of cuda/gather.cu: a batch gathered from a dataset's tables in
// (host) backend memory, rounded as Dataset::gather rounds.
#pragma once

#include <cstdint>

#include "host/shared/backend.h"

namespace cumlp::cpu {

template <class T>
void gather_batch_cpu(const GatherArgs& a, const int64_t* rows, int64_t n, T* x, void* target) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = rows[i];
    T* dst = x + i * a.cols;
    if (a.samples_u8) {
      const auto* src = static_cast<const uint8_t*>(a.samples) + r * a.cols;
      for (int64_t j = 0; j < a.cols; ++j) dst[j] = static_cast<T>(static_cast<double>(src[j]) * a.scale);
    } else {
      const auto* src = static_cast<const float*>(a.samples) + r * a.cols;
      for (int64_t j = 0; j < a.cols; ++j) dst[j] = static_cast<T>(static_cast<double>(src[j]) * a.scale);
    }
    if (a.labels) {
      static_cast<int32_t*>(target)[i] = a.labels[r];
    } else {
      const T* src = static_cast<const T*>(a.target_table) + r * a.target_cols;
      T* t = static_cast<T*>(target) + i * a.target_cols;
      for (int64_t j = 0; j < a.target_cols; ++j) t[j] = src[j];
    }
  }
}

}  // namespace cumlp::cpu
