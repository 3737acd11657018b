#include "host/cpu/parallel.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CUMLP_PAUSE() _mm_pause()
#else
#define CUMLP_PAUSE() std::this_thread::yield()
#endif

namespace cumlp::cpu {

namespace {

// The job word: generation (24 bits) | chunk count (20 bits) | next chunk (20 bits).
// A worker claims chunk c of generation g with a CAS on the whole word, so a
// worker that wakes late can never claim a chunk of a job that has ended.
constexpr int kChunkBits = 20;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
constexpr int64_t kMaxChunks = int64_t{1} << kChunkBits;

inline uint64_t pack(uint64_t gen, uint64_t chunks, uint64_t next) {
  return (gen << (2 * kChunkBits)) | (chunks << kChunkBits) | next;
}
inline uint64_t next_of(uint64_t w) { return w & kChunkMask; }
inline uint64_t chunks_of(uint64_t w) { return (w >> kChunkBits) & kChunkMask; }
inline uint64_t gen_of(uint64_t w) { return w >> (2 * kChunkBits); }

class Pool {
 public:
  ~Pool() {
    stop_.store(true);  // checked with the generation: a worker that starts late sees it
    word_.fetch_add(pack(1, 0, 0));  // a new generation: every worker looks up
    wake();
    for (std::thread& t : workers_) t.join();
  }

  // Runs job (fn, ctx) on the caller and up to `threads - 1` workers.
  void run(int threads, int64_t chunks, void (*fn)(void*, int64_t), void* ctx) {
    std::unique_lock<std::mutex> lock(run_, std::try_to_lock);
    if (!lock.owns_lock() || threads <= 1 || chunks >= kMaxChunks) {
      // Busy (another thread's op, or a chunk calling in): run inline.
      for (int64_t c = 0; c < chunks; ++c) fn(ctx, c);
      return;
    }
    // A new worker starts from the generation before this job's, so it takes
    // part in this job (and cannot mistake a later one for the one it saw).
    const uint64_t current = gen_of(word_.load());
    while (static_cast<int>(workers_.size()) < threads - 1) workers_.emplace_back([this, current] { work(current); });
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = gen_of(word_.load()) + 1;
    word_.store(pack(gen, static_cast<uint64_t>(chunks), 0));
    wake();
    while (claim_and_run(gen)) {
    }
    // The chunks other threads hold: spin, then yield the core to them.
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < 4096)
        CUMLP_PAUSE();
      else
        std::this_thread::yield();
    }
  }

 private:
  // Claims and runs one chunk of generation gen; false when none is left.
  bool claim_and_run(uint64_t gen) {
    uint64_t w = word_.load(std::memory_order_acquire);
    for (;;) {
      if (gen_of(w) != gen || next_of(w) >= chunks_of(w)) return false;
      if (word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) break;
    }
    // The job cannot end before this chunk is counted, so fn_ and ctx_ are its.
    fn_(ctx_, static_cast<int64_t>(next_of(w)));
    done_.fetch_add(1, std::memory_order_release);
    return true;
  }

  // Wakes sleeping workers after word_ changed. A worker counts itself in
  // sleepers_ before its last look at word_ (all seq_cst): either this sees
  // it and notifies under the lock, or the worker sees the new word_.
  void wake() {
    if (sleepers_.load() == 0) return;
    std::lock_guard<std::mutex> lock(sleep_);
    wakeup_.notify_all();
  }

  void work(uint64_t seen) {
    for (;;) {
      // Ops follow each other closely within a training step: spin a while
      // (~20 us) before sleeping, so the next op finds this thread awake.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      for (int spins = 0; gen_of(word_.load(std::memory_order_acquire)) == seen && !stop_.load(); ++spins) {
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > deadline) {
          std::unique_lock<std::mutex> lock(sleep_);
          sleepers_.fetch_add(1);
          wakeup_.wait(lock, [&] { return gen_of(word_.load()) != seen || stop_.load(); });
          sleepers_.fetch_sub(1);
        } else {
          CUMLP_PAUSE();
        }
      }
      if (stop_.load()) return;
      seen = gen_of(word_.load(std::memory_order_acquire));
      while (claim_and_run(seen)) {
      }
    }
  }

  std::mutex run_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> word_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::mutex sleep_;
  std::condition_variable wakeup_;
  std::atomic<int> sleepers_{0};
  void (*fn_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
};

Pool& pool() {
  static Pool p;
  return p;
}

// OpenBLAS on one thread while any op's chunks run, restored after the last
// one ends. Counted under a mutex, so ops issued at once from several user
// threads neither restore each other's setting too early nor mistake our
// temporary 1 for the user's setting (the chunk count, and with OpenBLAS the
// bits, follow the user's setting, never the timing of another op).
std::mutex blas_mutex;
int blas_overrides = 0;  // ops now running chunks
int blas_user_threads = 1;  // the setting to restore, while blas_overrides > 0

class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(blas_mutex);
    if (blas_overrides++ == 0) {
      blas_user_threads = openblas_get_num_threads();
      if (blas_user_threads != 1) openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(blas_mutex);
    if (--blas_overrides == 0 && blas_user_threads != 1) openblas_set_num_threads(blas_user_threads);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

}  // namespace

int op_threads() {
  static const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  int threads;
  {
    std::lock_guard<std::mutex> lock(blas_mutex);
    threads = blas_overrides > 0 ? blas_user_threads : openblas_get_num_threads();
  }
  return std::clamp(threads, 1, hardware);
}

void parallel_chunks(int64_t chunks, void (*fn)(void*, int64_t), void* ctx) {
  const int threads = op_threads();
  if (threads <= 1) {
    for (int64_t c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  SingleThreadedBlas one;
  pool().run(static_cast<int>(std::min<int64_t>(threads, chunks)), chunks, fn, ctx);
}

}  // namespace cumlp::cpu
