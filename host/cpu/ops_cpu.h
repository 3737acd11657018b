// CPU twins of the kernels (the cpu device): the same signatures as the
// Backend ops, typed. GEMMs on OpenBLAS or the AVX2 tiles (gemm_avx2.h).
#pragma once

#include <cstdint>

#include "host/shared/backend.h"

namespace cumlp::cpu {

template <class T>
void linear_act_forward_cpu(int64_t M, int64_t N, int64_t K, const T* x, const T* w, const T* b,
                            const Epilogue& ep, T* y, T* y_drop);
template <class T>
void linear_backward_data_cpu(int64_t M, int64_t N, int64_t K, const T* dz, const T* w, const T* y_prev,
                              const Epilogue& ep, T* dz_prev);
template <class T>
void linear_backward_weight_cpu(int64_t M, int64_t N, int64_t K, const T* dz, const T* x, T* dw, T* db);
template <class T>
void loss_forward_backward_cpu(const LossArgs& a, const T* y, const void* target, T* dz, T* loss);
template <class T>
void optimizer_step_cpu(const OptimArgs& a, int64_t n, T* params, const T* grads, T* m, T* v);

}  // namespace cumlp::cpu
