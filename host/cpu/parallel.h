// The cpu device's threads: an op's work is cut into a fixed number of chunks
// (decided by the op's shape and the thread count, never by timing), and the
// calling thread and the pool's workers claim chunks until none is left.
// Every chunk computes the same bits whichever thread runs it, so results do
// not depend on scheduling; and a worker that the OS has descheduled (a busy
// machine) delays the op by at most the chunk it holds: the caller takes the
// rest instead of waiting at a barrier.
//
// The thread count follows OpenBLAS's setting (OPENBLAS_NUM_THREADS,
// openblas_set_num_threads), capped at the hardware's; while chunks run,
// OpenBLAS is set to one thread so that the BLAS calls inside chunks do not
// start threads of their own (a call to openblas_set_num_threads from
// another thread during an op is overridden when the op ends). An op called
// from inside a chunk, or while another thread's op holds the pool, runs
// its chunks on its own thread.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace cumlp::cpu {

/// Threads the cpu device's ops use now (>= 1).
int op_threads();

/// Runs fn(ctx, c) for every c in [0, chunks) and returns when all are done.
void parallel_chunks(int64_t chunks, void (*fn)(void*, int64_t), void* ctx);

/// parallel_chunks with a callable f(int64_t chunk).
template <class F>
void parallel_for(int64_t chunks, F&& f) {
  if (chunks <= 1) {
    if (chunks == 1) f(int64_t{0});
    return;
  }
  using Fn = std::remove_reference_t<F>;
  parallel_chunks(chunks, [](void* ctx, int64_t c) { (*static_cast<Fn*>(ctx))(c); }, const_cast<void*>(static_cast<const void*>(&f)));
}

/// [begin, end) of chunk c when n items are cut into `chunks` near-equal parts.
inline std::pair<int64_t, int64_t> chunk_range(int64_t n, int64_t chunks, int64_t c) {
  return {n * c / chunks, n * (c + 1) / chunks};
}

}  // namespace cumlp::cpu
