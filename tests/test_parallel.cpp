// The CPU thread pool (runtime/cpu/parallel.c) seen through the API: ct_set_num_threads / ct_get_num_threads, and
// ops large enough to be split, whose every element must come out right whatever the thread count, when several
// program threads run ops at once (the pool runs one job; the others run serially), and in a forked child.
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "test_helpers.h"

namespace {

// Restores the thread count a test changed.
struct ThreadsGuard {
    int saved = ct_get_num_threads();
    ~ThreadsGuard() { EXPECT_EQ(ct_set_num_threads(saved), CT_OK); }
};

// x = arange(n) as float64, y = 2 * x + 1 elementwise through ct_add; checks every element exactly.
void check_add(int64_t n) {
    ct_scope_begin();
    ct_tensor *x = ct_arange(0, (double)n, 1, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *y = ct_add(ct_add(x, x, 1.0), ct_ones(0, nullptr, CT_FLOAT64, CT_DEVICE_CPU), 1.0);
    ASSERT_NE(y, nullptr) << ct_last_error();
    const double *v = (const double *)ct_data_ptr(y);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += v[i] != 2.0 * (double)i + 1.0;
    EXPECT_EQ(bad, 0) << "n=" << n;
    ct_scope_end();
}

TEST(ThreadPool, SetAndGet) {
    ThreadsGuard guard;
    EXPECT_GE(ct_get_num_threads(), 1);
    ASSERT_EQ(ct_set_num_threads(3), CT_OK);
    EXPECT_EQ(ct_get_num_threads(), 3);
    ASSERT_EQ(ct_set_num_threads(1), CT_OK);
    EXPECT_EQ(ct_get_num_threads(), 1);
}

TEST(ThreadPool, BadCountsAreErrors) {
    ThreadsGuard guard;
    int before = ct_get_num_threads();
    EXPECT_EQ(ct_set_num_threads(0), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "n must be between 1 and 1024, got 0");
    EXPECT_EQ(ct_set_num_threads(-4), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "got -4");
    EXPECT_EQ(ct_set_num_threads(1025), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "got 1025");
    EXPECT_EQ(ct_get_num_threads(), before);
}

// Sizes around the split points (a grain of 32768 elements, four chunks per thread), for 1 to 7 threads.
TEST(ThreadPool, EveryElementOnceForAnyThreadCount) {
    ThreadsGuard guard;
    for (int threads : {1, 2, 3, 4, 7}) {
        ASSERT_EQ(ct_set_num_threads(threads), CT_OK);
        for (int64_t n : {1, 32767, 32768, 32769, 65537, 200003, 1 << 20}) check_add(n);
    }
}

// The same float32 work gives bit-identical results with 1 and 5 threads: strided (an outer loop per row, the
// transposed operand) and contiguous inputs, cat and repeat.
TEST(ThreadPool, ResultsIndependentOfThreadCount) {
    ThreadsGuard guard;
    std::vector<std::vector<double>> runs;
    for (int threads : {1, 5}) {
        ASSERT_EQ(ct_set_num_threads(threads), CT_OK);
        ct_scope_begin();
        ct_manual_seed(7);
        ct_tensor *a = ct_randn(2, SHAPE(700, 500), CT_FLOAT32, CT_DEVICE_CPU, nullptr);
        ct_tensor *b = ct_randn(2, SHAPE(500, 700), CT_FLOAT32, CT_DEVICE_CPU, nullptr);
        ct_tensor *s = ct_mul(ct_exp(a), ct_t(b));
        ct_tensor *parts[] = {s, a};
        ct_tensor *c = ct_cat(2, parts, 1);
        ct_tensor *r = ct_repeat(c, 2, SHAPE(2, 3));
        ASSERT_NE(r, nullptr) << ct_last_error();
        std::vector<double> all = values_of(r);
        std::vector<double> sv = values_of(s);
        all.insert(all.end(), sv.begin(), sv.end());
        runs.push_back(all);
        ct_scope_end();
    }
    ASSERT_EQ(runs[0].size(), runs[1].size());
    EXPECT_TRUE(runs[0] == runs[1]);
}

// Four program threads run large ops at once with a 3-thread pool: one of them has the pool at a time, the others
// run serially; every result is right. Under ThreadSanitizer (tools/test tsan) this is the pool's race check.
TEST(ThreadPool, ConcurrentCallersAllCorrect) {
    ThreadsGuard guard;
    ASSERT_EQ(ct_set_num_threads(3), CT_OK);
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; t++)
        callers.emplace_back([t] {
            for (int round = 0; round < 20; round++) check_add(100000 + 1000 * t + round);
        });
    for (auto &c : callers) c.join();
}

// Many small back-to-back jobs (the case where workers wake late and find nothing left to claim).
TEST(ThreadPool, ManyShortJobs) {
    ThreadsGuard guard;
    ASSERT_EQ(ct_set_num_threads(4), CT_OK);
    for (int i = 0; i < 500; i++) check_add(40000 + i);
}

// Changing the count between ops restarts the workers; ops keep working after each change.
TEST(ThreadPool, ResizeBetweenOps) {
    ThreadsGuard guard;
    for (int threads : {4, 2, 6, 1, 3}) {
        ASSERT_EQ(ct_set_num_threads(threads), CT_OK);
        check_add(300001);
    }
}

// A child forked after the pool has run has none of its workers: its ops still run (and restart the pool).
TEST(ForkedChild, RunsPooledOps) {
    ThreadsGuard guard;
    ASSERT_EQ(ct_set_num_threads(2), CT_OK);
    check_add(500000); // workers exist now
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ct_scope_begin();
        ct_tensor *x = ct_arange(0, 500000, 1, CT_FLOAT64, CT_DEVICE_CPU);
        ct_tensor *y = ct_add(x, x, 1.0);
        int ok = y != nullptr;
        const double *v = ok ? (const double *)ct_data_ptr(y) : nullptr;
        for (int64_t i = 0; ok && i < 500000; i++) ok = v[i] == 2.0 * (double)i;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
