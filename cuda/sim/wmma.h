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
// Fragments hold each lane's share of the tile. CUDA leaves the mapping
// unspecified (kernels may only apply the same operation to every element);
// the simulator uses the one sm_80 and sm_90 are observed to use for these
// fragments, the PTX ISA's mma.m16n8k8 .tf32 fragment layout (the 16 x 16
// tiles as two m16n8k8 halves along n), as read back from real fragments by
// wmma_extension (github.com/wmmae/wmma_extension, detail/sm_80_tf32.hpp,
// foreach_ij). With g = lane / 4 and t = lane % 4, element i of a lane is
//   matrix_a (16 x 8):  row g + 8 (i & 1),        column t + 4 (i >> 1 & 1)
//   matrix_b (8 x 16):  row t + 4 (i & 1),        column g + 8 (i >> 1 & 1)
//   accumulator:        row g + 8 (i >> 1 & 1),   column 2t + (i & 1) + 8 (i >> 2 & 1)
// mma_sync: D = A B + C with each product of two TF32 operands (the top 19
// bits of each register, cuda/sim/tf32.h) exact in fp32 and the 8 terms of a
// dot product added to C one after another (k = 0..7) with fp32 rounding. A
// tensor core adds in its own order and internal width: kernels are checked
// against the reference with a tolerance, never for bit equality with this.
//
// Access tracing (the traced build, CUMLP_SIM_TRACED; cuda/sim/trace.h): the
// simulator moves a warp's tile in one call, so instead of its scalar accesses
// the tracer is given what a GPU's warp issues. ASSUMPTION (the SASS of
// load_matrix_sync / store_matrix_sync is not documented): each lane loads or
// stores its fragment elements from/to their places in memory, one 4-byte
// access per element, and element i of every lane forms one warp request, as
// one LDS/STS (LDG/STG) per fragment register would; two consecutive elements
// that every lane finds at consecutive, 8-byte aligned addresses (the
// accumulator's column pairs in a row-major tile) are one 8-byte request. So a
// 16 x 8 matrix_a load is 4 requests, a 16 x 16 row-major accumulator store 4,
// and their wavefronts follow the ldm. Each mma_sync counts 2 x 16 x 16 x 8
// tensor-core flops. Tile moves are not seen by the load/store hooks.
#pragma once

#include <cmath>
#include <cstdint>
#include <source_location>
#include <type_traits>

#include "cuda/sim/context.h"
#include "cuda/sim/tf32.h"
#include "host/shared/error_macros.h"
#if defined(CUMLP_SIM_TRACED)
#include "cuda/sim/trace.h"
#define CUMLP_WMMA_BUILD sim_traced
#else
#define CUMLP_WMMA_BUILD sim
#endif

// The traced and the plain build of a kernel source each get their own copy of
// these inline functions (as cuda/common.cuh's namespaces do for the kernels),
// so the linker cannot hand one build the other's.
namespace nvcuda::wmma {
inline namespace CUMLP_WMMA_BUILD {

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

// The data moves below are the simulator's, not the warp's: kept out of the
// traced build's load/store hooks (trace_tile reports the warp's requests).
// Helpers they call carry the same attribute, or g++ would not inline them.
#define CUMLP_WMMA_UNHOOKED __attribute__((no_sanitize_address))

enum class Use { a, b, accumulator };

// Where element i of lane `lane` lies in its tile (the mapping in the header comment).
struct Cell {
  int row, col;
};
CUMLP_WMMA_UNHOOKED constexpr Cell cell(Use use, int lane, int i) {
  const int g = lane / 4, t = lane % 4;
  switch (use) {
    case Use::a: return {g + 8 * (i & 1), t + 4 * (i >> 1 & 1)};
    case Use::b: return {t + 4 * (i & 1), g + 8 * (i >> 1 & 1)};
    default: return {g + 8 * (i >> 1 & 1), 2 * t + (i & 1) + 8 * (i >> 2 & 1)};
  }
}

// One lane's arguments of a load or store of a rows x cols tile.
struct TileCall : ::sim::detail::WarpMatrixCall {
  float* frag = nullptr;
  float* mem = nullptr;
  unsigned ldm = 0;
  Use use = Use::a;
  int rows = 0, cols = 0, elements = 0;
  bool col_major = false, store = false;
};

CUMLP_WMMA_UNHOOKED inline float* element_address(const TileCall& c, int lane, int i) {
  const Cell e = cell(c.use, lane, i);
  return c.mem + (c.col_major ? int64_t(e.col) * c.ldm + e.row : int64_t(e.row) * c.ldm + e.col);
}

#if defined(CUMLP_SIM_TRACED)
// The warp's requests of one tile move (the ASSUMPTION in the header comment):
// element i of every lane is one request of 4 bytes per lane, or elements i and
// i + 1 one request of 8 bytes where every lane has them adjacent and aligned.
CUMLP_WMMA_UNHOOKED inline void trace_tile(const TileCall& c) {
  std::uintptr_t where[32];
  for (int i = 0; i < c.elements;) {
    bool pair = i % 2 == 0 && i + 1 < c.elements;
    for (int lane = 0; lane < 32; ++lane) {
      const float* p = element_address(c, lane, i);
      where[lane] = reinterpret_cast<std::uintptr_t>(p);
      pair = pair && element_address(c, lane, i + 1) == p + 1 && where[lane] % 8 == 0;
    }
    ::sim::detail::trace_warp_request(where, pair ? 8 : 4, c.store);
    i += pair ? 2 : 1;
  }
}
#endif

CUMLP_WMMA_UNHOOKED inline void run_tile(::sim::detail::WarpMatrixCall* const* lanes) {
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
      float& m = *element_address(c, lane, i);
      if (c.store) m = c.frag[i];
      else c.frag[i] = m;
    }
  }
#if defined(CUMLP_SIM_TRACED)
  trace_tile(c0);
#endif
}

template <int N>
void tile_op(const char* name, float (&frag)[N], float* mem, unsigned ldm, Use use, int rows, int cols,
             bool col_major, bool store, const std::source_location& site) {
  TileCall call;
  call.run = &run_tile;
  call.name = name;
  call.frag = frag;
  call.mem = mem;
  call.ldm = ldm;
  call.use = use;
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

CUMLP_WMMA_UNHOOKED inline void run_mma(::sim::detail::WarpMatrixCall* const* lanes) {
  // Gather the warp's tiles (row-major, through the fragment mapping),
  // compute, then scatter D.
  float a[16 * 8], b[8 * 16], acc[16 * 16];
  for (int lane = 0; lane < 32; ++lane) {
    const MmaCall& m = static_cast<const MmaCall&>(*lanes[lane]);
    for (int i = 0; i < 4; ++i) {
      const Cell ea = cell(Use::a, lane, i), eb = cell(Use::b, lane, i);
      a[ea.row * 8 + ea.col] = ::sim::tf32_operand(m.a[i]);
      b[eb.row * 16 + eb.col] = ::sim::tf32_operand(m.b[i]);
    }
    for (int i = 0; i < 8; ++i) {
      const Cell e = cell(Use::accumulator, lane, i);
      acc[e.row * 16 + e.col] = m.c[i];
    }
  }
  for (int r = 0; r < 16; ++r)
    for (int col = 0; col < 16; ++col) {
      float s = acc[r * 16 + col];
      for (int k = 0; k < 8; ++k) s = std::fma(a[r * 8 + k], b[k * 16 + col], s);  // the product is exact
      acc[r * 16 + col] = s;
    }
  for (int lane = 0; lane < 32; ++lane) {
    const MmaCall& m = static_cast<const MmaCall&>(*lanes[lane]);
    for (int i = 0; i < 8; ++i) {
      const Cell e = cell(Use::accumulator, lane, i);
      m.d[i] = acc[e.row * 16 + e.col];
    }
  }
#if defined(CUMLP_SIM_TRACED)
  ::sim::detail::count_tensor_flops(2 * 16 * 16 * 8);  // one warp-level m16n16k8 MMA
#endif
}

#undef CUMLP_WMMA_UNHOOKED

}  // namespace detail

#define CUMLP_WMMA_SITE const std::source_location& site = std::source_location::current()

template <class Layout>
void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, Layout>& a, const float* p, unsigned ldm,
                      CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(matrix_a)", a.x, const_cast<float*>(p), ldm, detail::Use::a, 16, 8,
                  detail::is_col_major<Layout>(), false, site);
}
template <class Layout>
void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, Layout>& b, const float* p, unsigned ldm,
                      CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(matrix_b)", b.x, const_cast<float*>(p), ldm, detail::Use::b, 8, 16,
                  detail::is_col_major<Layout>(), false, site);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 8, float>& c, const float* p, unsigned ldm,
                             layout_t layout, CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::load_matrix_sync(accumulator)", c.x, const_cast<float*>(p), ldm, detail::Use::accumulator,
                  16, 16, layout == mem_col_major, false, site);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& c, unsigned ldm,
                              layout_t layout, CUMLP_WMMA_SITE) {
  detail::tile_op("wmma::store_matrix_sync", const_cast<float(&)[8]>(c.x), p, ldm, detail::Use::accumulator, 16, 16,
                  layout == mem_col_major, true, site);
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

}  // namespace CUMLP_WMMA_BUILD
}  // namespace nvcuda::wmma

#undef CUMLP_WMMA_BUILD
