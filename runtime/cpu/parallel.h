/* The CPU kernels' parallel loop: ctorch's own small thread pool instead of OpenMP parallel regions.
 *
 * Why not OpenMP: a parallel region ends in a barrier that waits for every thread of the team. On a machine where
 * another process keeps a core busy (a build, a second test binary, a data-loader worker), one of the team's
 * threads is often descheduled, and the barrier waits a whole scheduler slice for it: measured on a 2-core machine
 * with a compiler running beside it, a 262,144-element float32 mul took 6.9 ms in a libgomp region (default wait
 * policy), against 0.12 ms serially. Here the caller never waits for a thread that has not started: the range is
 * cut into chunks that threads claim one at a time with an atomic counter, the calling thread claims chunks too,
 * and at the end it waits only for chunks already claimed and still running. A worker that wakes late finds no
 * chunk left and goes back to sleep. Idle workers spin for a short while (so back-to-back ops on a quiet machine
 * do not pay a wake-up) and then sleep on a condition variable.
 *
 * Calls from inside a chunk, and calls from a second thread while the pool is busy (data-loader workers running
 * transforms, say), run serially on the calling thread: the result is the same, only not split. */
#ifndef CTORCH_CPU_PARALLEL_H
#define CTORCH_CPU_PARALLEL_H

#include <stdint.h>

/* The work on [begin, end) of a range; ctx is the caller's. */
typedef void (*ct__range_fn)(int64_t begin, int64_t end, void *ctx);

/* Runs fn over [0, n) in chunks of at least `grain` items (grain >= 1), across the pool's threads when n > grain
 * and more than one thread is set, else as one call fn(0, n, ctx) on the calling thread. Returns when every chunk
 * is done; the chunks' writes are visible to the caller then. Which thread runs a chunk, and where chunks begin,
 * is not fixed: a caller that accumulates partial results makes its parts the items (n = the number of parts,
 * each item i writing partial[i]), so its result does not depend on the thread count or on timing. */
void ct__parallel_for(int64_t n, int64_t grain, ct__range_fn fn, void *ctx);

/* The number of threads ct__parallel_for uses (the caller included); ct_get_num_threads in ops.h. */
int ct__parallel_threads(void);

#endif
