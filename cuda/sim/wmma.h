// The subset of CUDA's nvcuda::wmma (<mma.h>) the project's kernels use, for
// kernels compiled by g++ against the simulator: TF32 16x16x8 fragments with
// fp32 accumulators. A kernel includes it through cuda/wmma.cuh.
//
// Warp-collective like the GPU's: load_matrix_sync, mma_sync and
// store_matrix_sync wait until all 32 lanes of the warp reach the same call
// (cuda/sim/context.h, warp_matrix); a partial warp, a lane that exited, or
// lanes at different wmma calls are errors, as is a pointer or leading
// dimension that differs between lanes or breaks CUDA's rules (ldm a multiple
// of 16 bytes, the pointer 16-byte aligned; the GPU asks 32 bytes, which the
// simulator's heap-backed shared arrays cannot promise, so nvcc builds keep
// the 32-byte rule by declaring the staging arrays alignas(32)).
//
// Fragments hold each lane's share of the tile, as on the GPU: x[i] of lane l
// is tile element l + 32 i in row-major order (the GPU's mapping is
// unspecified, so kernels may only apply the same operation to every element).
// mma_sync: D = A B + C with each product of two TF32 operands (the top 19
// bits of each register, cuda/sim/tf32.h) exact in fp32 and the 8 terms of a
// dot product added to C one after another (k = 0..7) with fp32 rounding. A
// tensor core adds in its own order and internal width: kernels are checked
// against the reference with a tolerance, never for bit equality with this.
#pragma once

#include <cmath>
#include <cstdint>
#include <source_location>
#include <type_traits>

#include "cuda/sim/context.h"
#include "cuda/sim/tf32.h"
#include "host/shared/error_macros.h"

namespace nvcuda::wmma {

struct matrix_a;
struct matrix_b;
struct accumulator;
struct row_major;
struct col_major;
namespace precision {
struct tf32;
}
enum layout_t { mem_row_major, mem_col_major };

namespace detail {
template <int N>
struct fragment_storage {
  static constexpr int num_elements = N;
  float x[N];
};
template <class Layout>
constexpr bool is_col_major() {
  return std::is_same_v<Layout, col_major>;
}
}  // namespace detail

template <class Use, int m, int n, int k, class T, class Layout = void>
class fragment;
template <class Layout>
class fragment<matrix_a, 16, 16, 8, precision::tf32, Layout> : public detail::fragment_storage<4> {};  // 16 x 8
template <class Layout>
class fragment<matrix_b, 16, 16, 8, precision::tf32, Layout> : public detail::fragment_storage<4> {};  // 8 x 16
template <>
class fragment<accumulator, 16, 16, 8, float> : public detail::fragment_storage<8> {};  // 16 x 16

/// cvt.rna.tf32.f32 (cuda/sim/tf32.h).
inline float __float_to_tf32(float in) { return ::sim::round_to_tf32(in); }

template <class Use, int m, int n, int k, class T, class Layout>
void fill_fragment(fragment<Use, m, n, k, T, Layout>& f, float v) {
  for (float& e : f.x) e = v;
}

namespace detail {

// One lane's arguments of a load or store of a rows x cols tile.
struct TileCall : ::sim::detail::WarpMatrixCall {
  float* frag = nullptr;
  float* mem = nullptr;
  unsigned ldm = 0;
  int rows = 0, cols = 0, elements = 0;
  bool col_major = false, store = false;
};

inline void run_tile(::sim::detail::WarpMatrixCall* const* lanes) {
  const TileCall& c0 = static_cast<const TileCall&>(*lanes[0]);
  const unsigned min_ldm = unsigned(c0.col_major ? c0.rows : c0.cols);
  CUMLP_CHECK(c0.ldm % 4 == 0 && c0.ldm >= min_ldm, c0.name, ": ldm ", c0.ldm,
              " must be a multiple of 4 floats (16 bytes) and at least ", min_ldm);
  CUMLP_CHECK(reinterpret_cast<std::uintptr_t>(c0.mem) % 16 == 0, c0.name, ": pointer ",
              static_cast<const void*>(c0.mem), " is not 16-byte aligned");
  for (int lane = 0; lane < 32; ++lane) {
    const TileCall& c = static_cast<const TileCall&>(*lanes[lane]);
    CUMLP_CHECK(c.mem == c0.mem && c.ldm == c0.ldm, c0.name, ": lane ", lane, " passes pointer ",
                static_cast<const void*>(c.mem), " ldm ", c.ldm, " but lane 0 ", static_cast<const void*>(c0.mem),
                " ldm ", c0.ldm, "; every lane must pass the same");
    for (int i = 0; i < c.elements; ++i) {
      const int e = lane + 32 * i, r = e / c.cols, col = e % c.cols;
      float& m = c.mem[c.col_major ? int64_t(col) * c.ldm + r : int64_t(r) * c.ldm + col];
      if (c.store) m = c.frag[i];
      else c.frag[i] = m;
    }
  }
}

template <int N>
void tile_op(const char* name, float (&frag)[N], float* mem, unsigned ldm, int rows, int cols, bool col_major,
             bool store, const std::source_location& site) {
  TileCall call;
  call.run = &run_tile;
  call.name = name;
  call.frag = frag;
  call.mem = mem;
  call.ldm = ldm;
  call.rows = rows;
  call.cols = cols;
  call.elements = N;
  call.col_major = col_major;
  call.store = store;
  ::sim::detail::warp_matrix(call, site);
}

struct MmaCall : ::sim::detail::WarpMatrixCall {
  float* d = nullptr;
  const float *a = nullptr, *b = nullptr, *c = nullptr;
};

inline void run_mma(::sim::detail::WarpMatrixCall* const* lanes) {
  // Gather the warp's tiles (element l + 32 i of each tile is lane l's x[i]),
  // compute, then scatter D.
  float a[16 * 8], b[8 * 16], acc[16 * 16];
  for (int lane = 0; lane < 32; ++lane) {
    const MmaCall& m = static_cast<const MmaCall&>(*lanes[lane]);
    for (int i = 0; i < 4; ++i) {
      a[lane + 32 * i] = ::sim::tf32_operand(m.a[i]);
      b[lane + 32 * i] = ::sim::tf32_operand(m.b[i]);
    }
    for (int i = 0; i < 8; ++i) acc[lane + 32 * i] = m.c[i];
  }
  for (int r = 0; r < 16; ++r)
    for (int col = 0; col < 16; ++col) {
      float s = acc[r * 16 + col];
      for (int k = 0; k < 8; ++k) s = std::fma(a[r * 8 + k], b[k * 16 + col], s);  // the product is exact
      acc[r * 16 + col] = s;
    }
  for (int lane = 0; lane < 32; ++lane) {
    const MmaCall& m = static_cast<const MmaCall&>(*lanes[lane]);
    for (int i = 0; i < 8; ++i) m.d[i] = acc[lane + 32 * i];
  }
}

}  // namespace detail

#define CUMLP_WMMA_SITE const std::source_location& site = std::source_location::current()

template <class Layout>
void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, Layout>& a, const float* p, unsigned ldm,
                      CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(matrix_a)", a.x, const_cast<float*>(p), ldm, 16, 8,
                  detail::is_col_major<Layout>(), false, site);
}
template <class Layout>
void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, Layout>& b, const float* p, unsigned ldm,
                      CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(matrix_b)", b.x, const_cast<float*>(p), ldm, 8, 16,
                  detail::is_col_major<Layout>(), false, site);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 8, float>& c, const float* p, unsigned ldm,
                             layout_t layout, CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(accumulator)", c.x, const_cast<float*>(p), ldm, 16, 16,
                  layout == mem_col_major, false, site);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& c, unsigned ldm,
                              layout_t layout, CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::store_matrix_sync", const_cast<float(&)[8]>(c.x), p, ldm, 16, 16, layout == mem_col_major,
                  true, site);
}

template <class LayoutA, class LayoutB>
void mma_sync(fragment<accumulator, 16, 16, 8, float>& d, const fragment<matrix_a, 16, 16, 8, precision::tf32, LayoutA>& a,
              const fragment<matrix_b, 16, 16, 8, precision::tf32, LayoutB>& b,
              const fragment<accumulator, 16, 16, 8, float>& c, CUMLP_WMMA_SITE) {
  detail::MmaCall call;
  call.run = &detail::run_mma;
  call.name = "wmma::mma_sync";
  call.d = d.x;
  call.a = a.x;
  call.b = b.x;
  call.c = c.x;
  ::sim::detail::warp_matrix(call, site);
}

#undef CUMLP_WMMA_SITE

}  // namespace nvcuda::wmma
