// CUMLP_HD marks small functions shared by host code and CUDA kernels.
#pragma once

#if defined(__CUDACC__)
#define CUMLP_HD __host__ __device__ __forceinline__
#else
#define CUMLP_HD inline
#endif
