#include "host/cpu/gemm_cpu.h"

#include <cblas.h>

namespace cumlp::cpu {

namespace {

// Element (i, k) of op(A) where op(A) is [M, K]; A is stored [M, K] or [K, M].
template <class T>
inline T elem(const T* A, bool trans, int64_t rows, int64_t cols, int64_t i, int64_t k) {
  return trans ? A[k * rows + i] : A[i * cols + k];
}

template <class T>
void gemm_plain(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += static_cast<double>(elem(A, ta, M, K, i, k)) * static_cast<double>(elem(B, tb, K, N, k, j));
      C[i * N + j] = static_cast<T>(acc);
    }
}

}  // namespace

template <class T>
void gemm_cpu(bool blas, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C) {
  if (M == 0 || N == 0) return;
  if (!blas || K == 0) {
    gemm_plain(ta, tb, M, N, K, A, B, C);
    return;
  }
  const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
  const int lda = static_cast<int>(ta ? M : K), ldb = static_cast<int>(tb ? K : N);
  if constexpr (sizeof(T) == 4)
    cblas_sgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), 1.0f, A, lda, B, ldb, 0.0f, C, int(N));
  else
    cblas_dgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), 1.0, A, lda, B, ldb, 0.0, C, int(N));
}

template void gemm_cpu<float>(bool, bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void gemm_cpu<double>(bool, bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double*);

}  // namespace cumlp::cpu
