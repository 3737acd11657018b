// C [M, N] = op(A) op(B) on OpenBLAS, row-major, overwriting C. op(X) = X or X^T.
#pragma once

#include <cstdint>

namespace cumlp::cpu {

template <class T>
void gemm_cpu(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C);

/// OpenBLAS with explicit leading dimensions (a block of a larger GEMM).
template <class T>
void gemm_blas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
               int64_t ldb, T* C, int64_t ldc);

}  // namespace cumlp::cpu
