#include "host/cpu/gemm_cpu.h"

#include <cblas.h>

namespace cumlp::cpu {

template <class T>
void gemm_cpu(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C) {
  gemm_blas(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C, N);
}

template <class T>
void gemm_blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb,
               T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = T(0);
    return;
  }
  const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(T) == 4)
    cblas_sgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), 1.0f, A, int(lda), B, int(ldb), 0.0f, C, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), 1.0, A, int(lda), B, int(ldb), 0.0, C, int(ldc));
}

template void gemm_cpu<float>(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void gemm_cpu<double>(bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double*);
template void gemm_blas<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                               float*, int64_t);
template void gemm_blas<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                                double*, int64_t);

}  // namespace cumlp::cpu
