// Kernels with deliberately planted bugs, for proving that the simulator finds them.
#pragma once

#include "cuda/sim/portable.h"

/// Shared-memory tree reduction missing the barrier between writing the inputs
/// to shared memory and the first reads of other threads' entries.
void launch_reduce_missing_sync(const float* x, float* out, int n, cudaStream_t stream);
/// The same reduction with the barrier: must agree with the CPU in every order.
void launch_reduce_with_sync(const float* x, float* out, int n, cudaStream_t stream);
/// Only threads 0..15 of a 64-thread block reach __syncthreads.
void launch_divergent_barrier(float* out, cudaStream_t stream);
/// Threads past `n` return early, then the rest call __syncthreads.
void launch_early_exit_barrier(float* out, int n, cudaStream_t stream);
/// Lanes 0..15 shuffle with mask 0xffff but read lane 20.
void launch_shuffle_outside_mask(float* out, cudaStream_t stream);
/// Lane 0 waits in a shuffle for lane 1, which waits at __syncthreads: no progress.
void launch_deadlock(float* out, cudaStream_t stream);
/// 2 blocks of 65 threads; in block 1, thread 64 writes past a 64-float shared array.
void launch_overflow_shared(float* out, cudaStream_t stream);
