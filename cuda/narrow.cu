// The fused training step of a narrow network, two launches after the gather:
//
//   narrow_step_kernel: a block takes kNarrowRows (8) rows of the batch
//     through every layer. With few row tiles the first layer's K (the input
//     width) is split over blockIdx.y (narrow_split): each block sums its K
//     range, writes the partial sums, and the last block of the row tile adds
//     them in split order and goes on alone (the others stop): model A at batch
//     100 runs 13 x 9 blocks on 132 SMs, each streaming a ninth of the 784 x 100
//     first-layer weights through shared memory. A layer's product
//     streams its input rows and its weight rows through shared memory in
//     kNarrowKT-wide K tiles; thread j owns output column j
//     of the tile's rows (outputs <= kNarrowMaxWidth = the block's 128
//     threads) and sums its K terms in order, reading 4 k of its weight row
//     and 4 k of each row (a broadcast) per float4 load: (1 + rows) loads per
//     4 x rows FMAs. Bias, activation and dropout (keyed as in
//     cuda/dropout.cuh) run on the sums; y and y_drop go to global memory,
//     where the next layer (this block, after a barrier: they stay in L1/L2)
//     and the weight gradients read them. Then the loss of each of the tile's
//     rows, by the loss kernel's own row functions (cuda/loss_rows.cuh), and the
//     input gradients layer by layer down to the first: the tile's dz rows
//     staged in shared memory, dz_prev[r][k] = sum_j dz[r][j] w[j][k] in j
//     order, times the previous layer's dropout and activation derivative.
//     The last block to finish writes the loss total in the loss kernel's
//     fixed order (and the StepRecord's sum): the same bits on every run.
//   linear_backward_weights: every layer's dw = dz^T x and db in one grouped
//     GEMM launch (cuda/gemm.cuh), split-K by the tile rule.
//
// Shared memory per block: ~24 KB (fits every GPU the project builds for).
// Formulas follow the unfused kernels (cuda/linear.cu, cuda/loss.cu); sums
// run in the same order except where the unfused GEMM splits K, so results
// agree with the unfused path to fp32 rounding.
#include "cuda/narrow.cuh"

#include "cuda/dropout.cuh"
#include "cuda/linear.cuh"
#include "cuda/loss_rows.cuh"

CUMLP_GPU_NAMESPACE_BEGIN

namespace {

constexpr int kNarrowThreads = static_cast<int>(kNarrowMaxWidth);  // one output column per thread

struct NarrowLayerDev {
  int in, out, act;
  float alpha;
  const float* w;
  const float* b;
  float* y;
  float* y_drop;
  float* dz;
  Dropout drop;
};

struct NarrowDev {
  int rows, layers;
  const float* x;
  NarrowLayerDev l[kNarrowMaxLayers];
  RowLoss loss;
  const void* target;
  LossScratch scratch;
  float scale;
  float* loss_out;
  StepRecord* record;
  int splits, k_per_split;  // layer 0's K split over blockIdx.y (splits 1: not split)
  float* partials;          // split: [splits][rows][l[0].out] partial sums
  unsigned* counters;       // split: [row tiles] blocks done, zero between launches
};

static_assert(kNarrowRows % 4 == 0 && kNarrowKT % 4 == 0, "float4 shared loads");

struct alignas(16) NarrowSmem {
  float in[kNarrowRows][kNarrowKT];         // read as float4 broadcasts
  float w[kNarrowMaxWidth][kNarrowKT + 4];  // row j: w[j][k0 .. k0 + kNarrowKT); stride 36: float4 reads conflict-free
  float dz[kNarrowMaxWidth][kNarrowRows];   // the tile's dz, transposed: a float4 of rows per column
  float scratch[kMaxRowThreads];
  int last;
};

// acc[r] += sum over k in [k_begin, k_end) of in[r0 + r][k] * w[tid][k], k
// in order, for layer l and the block's rows [r0, r0 + kNarrowRows).
__device__ void narrow_product(const NarrowDev& a, int l, int r0, int k_begin, int k_end, NarrowSmem& s,
                               float (&acc)[kNarrowRows]) {
  const NarrowLayerDev& L = a.l[l];
  const float* in = l == 0 ? a.x : (a.l[l - 1].y_drop ? a.l[l - 1].y_drop : a.l[l - 1].y);
  const int K = L.in, N = L.out, tid = static_cast<int>(threadIdx.x);
  for (int k0 = k_begin; k0 < k_end; k0 += kNarrowKT) {
    for (int e = tid; e < kNarrowRows * kNarrowKT; e += kNarrowThreads) {
      const int r = e / kNarrowKT, k = k0 + e % kNarrowKT, row = r0 + r;
      s.in[r][e % kNarrowKT] = row < a.rows && k < k_end ? in[static_cast<int64_t>(row) * K + k] : 0.0f;
    }
    for (int e = tid; e < N * kNarrowKT; e += kNarrowThreads) {
      const int j = e / kNarrowKT, k = k0 + e % kNarrowKT;
      s.w[j][e % kNarrowKT] = k < k_end ? L.w[static_cast<int64_t>(j) * K + k] : 0.0f;
    }
    __syncthreads();
    if (tid < N) {
      for (int k = 0; k < kNarrowKT; k += 4) {
        const float4 wv = ld_float4(&s.w[tid][k]);
#pragma unroll
        for (int r = 0; r < kNarrowRows; ++r) {  // k, k + 1, k + 2, k + 3 in order
          const float4 xv = ld_float4(&s.in[r][k]);
          acc[r] += xv.x * wv.x;
          acc[r] += xv.y * wv.y;
          acc[r] += xv.z * wv.z;
          acc[r] += xv.w * wv.w;
        }
        CUMLP_COUNT_FMA(4 * kNarrowRows);
      }
    }
    __syncthreads();
  }
}

// Layer 0 split over K (blockIdx.y = the split): this block's partial sums
// go to the workspace; the last block of the row tile to finish takes the
// sums of every split, added in split order (the same bits on every run),
// into acc and returns true; the others return false and are done.
__device__ bool narrow_join_splits(const NarrowDev& a, int r0, float (&acc)[kNarrowRows]) {
  const int N = a.l[0].out, tid = static_cast<int>(threadIdx.x);
  const auto part = [&](int split, int row) {
    return a.partials + (static_cast<int64_t>(split) * a.rows + row) * N + tid;
  };
  if (tid < N)
#pragma unroll
    for (int r = 0; r < kNarrowRows; ++r)
      if (r0 + r < a.rows) *part(static_cast<int>(blockIdx.y), r0 + r) = acc[r];
  __threadfence();  // this thread's partials are visible before the block counts itself done
  __syncthreads();
  const int last = __syncthreads_or(threadIdx.x == 0 &&
                                    atomicAdd(&a.counters[blockIdx.x], 1u) == static_cast<unsigned>(a.splits - 1));
  if (!last) return false;
  __threadfence();  // every other split's partials are visible from here
  if (threadIdx.x == 0) a.counters[blockIdx.x] = 0;  // ready for the next launch
  if (tid < N)
#pragma unroll
    for (int r = 0; r < kNarrowRows; ++r) {
      if (r0 + r >= a.rows) break;
      acc[r] = 0.0f;
      for (int q = 0; q < a.splits; ++q) acc[r] += ld_cg(part(q, r0 + r));
      CUMLP_COUNT_FLOPS(a.splits);
    }
  return true;
}

// Layer l's outputs for the block's rows [r0, r0 + kNarrowRows) from their sums.
__device__ void narrow_outputs(const NarrowDev& a, int l, int r0, const float (&acc)[kNarrowRows]) {
  const NarrowLayerDev& L = a.l[l];
  const int N = L.out, tid = static_cast<int>(threadIdx.x);
  if (tid < N) {
    const bool last = l + 1 == a.layers;
    const float bias = L.b ? L.b[tid] : 0.0f;
#pragma unroll
    for (int r = 0; r < kNarrowRows; ++r) {
      const int row = r0 + r;
      if (row >= a.rows) break;
      float v = acc[r];
      if (L.b) v += bias;
      // A softmax output keeps its logits: the loss normalises them (LossArgs::normalise).
      const bool act = !(last && L.act == ops::kSoftmax);
      if (act) v = ops::act_forward(L.act, v, L.alpha);
      CUMLP_COUNT_FLOPS((L.b ? 1 : 0) + (act && L.act != ops::kIdentity ? 1 : 0) + (L.y_drop ? 1 : 0));
      const int64_t e = static_cast<int64_t>(row) * N + tid;
      L.y[e] = v;
      if (L.y_drop) L.y_drop[e] = v * L.drop.factor(e);
    }
  }
  __syncthreads();  // this block's y rows are visible to the whole block
}

// The loss and dz of the block's rows of the output layer: a warp per row
// for outputs <= 32 wide (WarpRow: shuffles, no barriers; the loss kernel's
// bits, as its row_threads is 32 there), else the whole block per row.
__device__ void narrow_loss(const NarrowDev& a, int r0, NarrowSmem& s) {
  const NarrowLayerDev& L = a.l[a.layers - 1];
  if (L.out <= 32) {
    const int warp = static_cast<int>(threadIdx.x) / 32, warps = kNarrowThreads / 32;
    for (int r = warp; r < kNarrowRows && r0 + r < a.rows; r += warps) {  // uniform across the warp
      const float v = loss_row(WarpRow{}, a.loss, r0 + r, L.y, a.target, L.dz);
      if (threadIdx.x % 32 == 0) a.scratch.row_loss[r0 + r] = v;
    }
  } else {
    for (int r = 0; r < kNarrowRows && r0 + r < a.rows; ++r) {
      const float v = loss_row(BlockRow{s.scratch}, a.loss, r0 + r, L.y, a.target, L.dz);
      if (threadIdx.x == 0) a.scratch.row_loss[r0 + r] = v;
    }
  }
  __syncthreads();
}

// dz of layer l - 1 from dz of layer l, for the block's rows.
__device__ void narrow_backward(const NarrowDev& a, int l, int r0, NarrowSmem& s) {
  const NarrowLayerDev& L = a.l[l];
  const NarrowLayerDev& P = a.l[l - 1];
  const int N = L.out, K = L.in, tid = static_cast<int>(threadIdx.x);
  for (int e = tid; e < kNarrowRows * N; e += kNarrowThreads) {  // consecutive threads, consecutive words
    const int r = e % kNarrowRows, j = e / kNarrowRows, row = r0 + r;
    s.dz[j][r] = row < a.rows ? L.dz[static_cast<int64_t>(row) * N + j] : 0.0f;
  }
  __syncthreads();
  if (tid < K) {
    float acc[kNarrowRows] = {};
    for (int j = 0; j < N; ++j) {
      const float wv = L.w[static_cast<int64_t>(j) * K + tid];
#pragma unroll
      for (int r = 0; r < kNarrowRows; r += 4) {
        const float4 d = ld_float4(&s.dz[j][r]);
        acc[r] += d.x * wv;
        acc[r + 1] += d.y * wv;
        acc[r + 2] += d.z * wv;
        acc[r + 3] += d.w * wv;
      }
      CUMLP_COUNT_FMA(kNarrowRows);
    }
#pragma unroll
    for (int r = 0; r < kNarrowRows; ++r) {
      const int row = r0 + r;
      if (row >= a.rows) break;
      const int64_t e = static_cast<int64_t>(row) * K + tid;
      float g = acc[r];
      if (P.drop.p > 0) g *= P.drop.factor(e);
      CUMLP_COUNT_FLOPS((P.drop.p > 0 ? 1 : 0) + (P.act != ops::kIdentity ? 1 : 0) + 1);
      P.dz[e] = g * ops::act_derivative(P.act, P.y[e], P.alpha);
    }
  }
  __syncthreads();  // s.dz is read before the next layer overwrites it; P.dz rows are visible
}

// Min 2 blocks an SM: ptxas then allots up to 255 registers and takes ~180
// (2 blocks of 128 threads still fit an SM; the grid of a batch <= 528 has at
// most 132 blocks); without it, sm_90 picks 64 and spills the 8 rows' sums.
__global__ void __launch_bounds__(kNarrowThreads, 2) narrow_step_kernel(NarrowDev a) {
  CUMLP_SHARED(NarrowSmem, smem, [1]);
  NarrowSmem& s = smem[0];
  const int r0 = static_cast<int>(blockIdx.x) * kNarrowRows;
  for (int l = 0; l < a.layers; ++l) {
    float acc[kNarrowRows] = {};
    if (l == 0 && a.splits > 1) {
      const int k_begin = static_cast<int>(blockIdx.y) * a.k_per_split;
      narrow_product(a, 0, r0, k_begin, min(k_begin + a.k_per_split, a.l[0].in), s, acc);
      if (!narrow_join_splits(a, r0, acc)) return;
    } else {
      narrow_product(a, l, r0, 0, a.l[l].in, s, acc);
    }
    narrow_outputs(a, l, r0, acc);
  }
  narrow_loss(a, r0, s);
  for (int l = a.layers - 1; l > 0; --l) narrow_backward(a, l, r0, s);
  if (last_block_done(a.scratch.blocks_done, &s.last))  // counts the row tiles (gridDim.x), not the splits
    finish_loss(a.loss, a.scratch, a.scale, a.loss_out, a.record, s.scratch);
}

}  // namespace

int launch_narrow_step(const NarrowStepArgs& a, LossScratch scratch, const GemmWorkspace& ws, cudaStream_t stream) {
  NvtxRange range("narrow_step", a.rows, static_cast<int64_t>(a.layers.size()));
  const int layers = static_cast<int>(a.layers.size());
  CUMLP_CHECK(layers >= 1 && layers <= kNarrowMaxLayers, "narrow_step: ", layers, " layers (1 to ",
              kNarrowMaxLayers, ")");
  CUMLP_CHECK(a.rows >= 1 && a.rows <= 0x7fffffff, "narrow_step: batch of ", a.rows, " rows");
  CUMLP_CHECK(a.x && a.target && a.loss_out && scratch.row_loss && scratch.blocks_done, "narrow_step: null buffer");
  const LossArgs& la = a.loss;
  CUMLP_CHECK(la.want_grad && la.rows == a.rows && la.cols == a.layers.back().out, "narrow_step: loss of [",
              la.rows, ", ", la.cols, "] for an output of [", a.rows, ", ", a.layers.back().out, "]");
  CUMLP_CHECK(la.kind >= 0 && la.kind <= static_cast<int32_t>(LossKind::HalfSSE), "narrow_step: unknown loss ",
              la.kind);
  CUMLP_CHECK(la.normalise == (a.layers.back().ep.act == ops::kSoftmax),
              "narrow_step: a softmax output's logits are normalised by the loss, and only those");
  NarrowDev d{};
  d.rows = static_cast<int>(a.rows);
  d.layers = layers;
  d.x = static_cast<const float*>(a.x);
  WeightGradArgs grads[kNarrowMaxLayers];
  for (int i = 0; i < layers; ++i) {
    const NarrowLayer& l = a.layers[i];
    CUMLP_CHECK(l.in >= 1 && l.out >= 1 && l.out <= kNarrowMaxWidth && (i == 0 || l.in == a.layers[i - 1].out),
                "narrow_step: layer ", i, " of ", l.in, " -> ", l.out, " (outputs 1 to ", kNarrowMaxWidth,
                ", chained)");
    CUMLP_CHECK(l.in * a.rows < (int64_t{1} << 31), "narrow_step: layer ", i, " input beyond 2^31 elements");
    CUMLP_CHECK(l.ep.act >= ops::kIdentity && l.ep.act <= ops::kSoftmax &&
                    (l.ep.act != ops::kSoftmax || i + 1 == layers),
                "narrow_step: activation ", l.ep.act, " of layer ", i);
    CUMLP_CHECK(l.ep.dropout_p >= 0 && l.ep.dropout_p < 1 && (l.ep.dropout_p == 0) == (l.y_drop == nullptr) &&
                    (l.ep.dropout_p == 0 || i + 1 < layers),
                "narrow_step: dropout p ", l.ep.dropout_p, " of layer ", i, " (with a y_drop buffer, not the output)");
    CUMLP_CHECK(l.w && l.y && l.dz && l.dw, "narrow_step: null buffer of layer ", i);
    d.l[i] = NarrowLayerDev{static_cast<int>(l.in), static_cast<int>(l.out), l.ep.act,
                            static_cast<float>(l.ep.alpha), static_cast<const float*>(l.w),
                            static_cast<const float*>(l.b), static_cast<float*>(l.y),
                            static_cast<float*>(l.y_drop), static_cast<float*>(l.dz), Dropout::of(l.ep)};
    const void* x = i == 0 ? a.x : (a.layers[i - 1].y_drop ? a.layers[i - 1].y_drop : a.layers[i - 1].y);
    grads[i] = WeightGradArgs{l.out, l.in, static_cast<const float*>(l.dz), static_cast<const float*>(x),
                              static_cast<float*>(l.dw), static_cast<float*>(l.db)};
  }
  d.loss = row_loss_args(la, &d.scale);
  d.target = a.target;
  d.scratch = scratch;
  d.loss_out = static_cast<float*>(a.loss_out);
  d.record = la.record;
  const int64_t tiles = (a.rows + kNarrowRows - 1) / kNarrowRows;
  const NarrowSplit sp = narrow_split(a.rows, a.layers[0].in);
  d.splits = sp.splits;
  d.k_per_split = sp.k_per_split;
  if (sp.splits > 1) {
    CUMLP_CHECK(ws.data && ws.counters && sp.splits * a.rows * a.layers[0].out <= kGemmWorkspaceFloatsPerSlot &&
                    tiles <= kGemmCountersPerSlot,
                "narrow_step: ", sp.splits, " splits of ", tiles, " row tiles exceed the split-K workspace");
    d.partials = ws.data;  // slot 0: the weight-gradient launch after this one reuses it, stream-ordered
    d.counters = ws.counters;
  }
  CUMLP_LAUNCH(narrow_step_kernel, dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(sp.splits)),
               dim3(kNarrowThreads), 0, stream, d);
  CUMLP_CUDA_CHECK(cudaGetLastError());
  return 1 + launch_linear_backward_weights(a.rows, grads, layers, ws, stream);
}

CUMLP_GPU_NAMESPACE_END
