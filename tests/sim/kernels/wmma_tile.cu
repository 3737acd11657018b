// nvcuda::wmma TF32 kernels for the simulator's tests: one warp multiplies a
// 16 x K by a K x 16 tile (any layout), and four kernels misuse the API the
// way the simulator must catch. The same source compiles with nvcc (sm_80+).
#include "tests/sim/kernels/wmma_tile.cuh"

#include <type_traits>

namespace {

namespace wmma = nvcuda::wmma;

template <class LayoutA, class LayoutB>
__global__ void wmma_tile_kernel(const float* a, const float* b, const float* c, float* d, int ksteps, int lda,
                                 int ldb, bool round) {
  constexpr bool kColA = std::is_same_v<LayoutA, wmma::col_major>, kColB = std::is_same_v<LayoutB, wmma::col_major>;
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, LayoutA> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, LayoutB> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
  wmma::load_matrix_sync(acc, c, 16, wmma::mem_row_major);
  for (int s = 0; s < ksteps; ++s) {
    // Element (r, k) of A: a[r lda + k] row-major, a[k lda + r] column-major; B likewise for (k, n).
    wmma::load_matrix_sync(fa, a + (kColA ? s * 8 * lda : s * 8), lda);
    wmma::load_matrix_sync(fb, b + (kColB ? s * 8 : s * 8 * ldb), ldb);
    if (round) {
      for (int i = 0; i < fa.num_elements; ++i) fa.x[i] = wmma::__float_to_tf32(fa.x[i]);
      for (int i = 0; i < fb.num_elements; ++i) fb.x[i] = wmma::__float_to_tf32(fb.x[i]);
    }
    wmma::mma_sync(acc, fa, fb, acc);
  }
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
}

__global__ void wmma_misuse_kernel(const float* tile, float* out, int misuse) {
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
  const int lane = threadIdx.x % 32;
  if (misuse == kWmmaDiverged) {
    if (lane < 16) wmma::load_matrix_sync(fa, tile, 8);
    else wmma::load_matrix_sync(fa, tile, 8);  // another call site: the warp has diverged
  } else if (misuse == kWmmaBadLdm) {
    wmma::load_matrix_sync(fa, tile, 6);
  } else if (misuse == kWmmaLanePointer) {
    wmma::load_matrix_sync(fa, tile + (lane & 1) * 8, 8);
  } else {
    wmma::load_matrix_sync(fa, tile, 8);  // kWmmaPartialWarp: launched with 48 threads
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = fa.x[0];
}

}  // namespace

void launch_wmma_tile(const float* a, const float* b, const float* c, float* d, int ksteps, bool a_col, bool b_col,
                      bool round, cudaStream_t stream) {
  const int k = 8 * ksteps, lda = a_col ? 16 : k, ldb = b_col ? k : 16;
  auto* rr = &wmma_tile_kernel<wmma::row_major, wmma::row_major>;
  auto* rc = &wmma_tile_kernel<wmma::row_major, wmma::col_major>;
  auto* cr = &wmma_tile_kernel<wmma::col_major, wmma::row_major>;
  auto* cc = &wmma_tile_kernel<wmma::col_major, wmma::col_major>;
  auto* kernel = a_col ? (b_col ? cc : cr) : (b_col ? rc : rr);
  CUMLP_LAUNCH(kernel, dim3(1), dim3(32), 0, stream, a, b, c, d, ksteps, lda, ldb, round);
}

void launch_wmma_misuse(const float* tile, float* out, int misuse, cudaStream_t stream) {
  const unsigned threads = misuse == kWmmaPartialWarp ? 48 : 32;
  CUMLP_LAUNCH(wmma_misuse_kernel, dim3(1), dim3(threads), 0, stream, tile, out, misuse);
}
