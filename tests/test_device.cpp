// Devices: parsing, availability, and the clear errors when CUDA is asked for where there is none.
#include "harness.h"
#include "test_helpers.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

TEST(Device, ParsesCpuAndCudaNames) {
    ct_device d;
    ASSERT_EQ(ct_device_parse("cpu", &d), CT_OK);
    EXPECT_TRUE(ct_device_equal(d, CT_DEVICE_CPU));
    ASSERT_EQ(ct_device_parse("cuda", &d), CT_OK);
    EXPECT_TRUE(ct_device_equal(d, CT_DEVICE_CUDA(0)));
    ASSERT_EQ(ct_device_parse("cuda:1", &d), CT_OK);
    EXPECT_EQ(d.type, CT_CUDA);
    EXPECT_EQ(d.index, 1);
    char buf[16];
    EXPECT_STREQ(ct_device_str(d, buf, sizeof buf), "cuda:1");
    EXPECT_STREQ(ct_device_str(CT_DEVICE_CPU, buf, sizeof buf), "cpu");
    EXPECT_FALSE(ct_device_equal(CT_DEVICE_CUDA(0), CT_DEVICE_CUDA(1)));
}

TEST(Device, RejectsMalformedNames) {
    ct_device d;
    for (const char *bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", "CPU", ""}) {
        EXPECT_EQ(ct_device_parse(bad, &d), CT_ERR_INVALID_ARGUMENT) << bad;
        EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Expected one of cpu, cuda device type");
    }
    EXPECT_EQ(ct_device_parse(nullptr, &d), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'text' is NULL");
}

TEST(Device, CudaWhereThereIsNoneIsAClearError) {
    if (ct_cuda_is_available()) GTEST_SKIP() << "a GPU is present: this test is about its absence";
    EXPECT_EQ(ct_cuda_device_count(), 0);
    EXPECT_EQ(ct_zeros(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CUDA(0)), nullptr);
    EXPECT_ERROR(CT_ERR_NO_CUDA, ct_built_with_cuda() ? "no CUDA device is available (cuda:0 was asked for)"
                                                      : "Torch not compiled with CUDA enabled");
    ct_tensor *cpu = ct_ones(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_to_device(cpu, CT_DEVICE_CUDA(0)), nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_NO_CUDA);
    ct_clear_error();
    EXPECT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_ERR_NO_CUDA);
    ct_clear_error();
    ct_memory_stats s;
    EXPECT_EQ(ct_memory_stats_get(CT_DEVICE_CUDA(0), &s), CT_ERR_NO_CUDA);
    ct_clear_error();
    EXPECT_EQ(ct_cuda_empty_cache(CT_DEVICE_CUDA(0)), CT_ERR_NO_CUDA);
    ct_clear_error();
    EXPECT_EQ(ct_randn(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CUDA(0), nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_NO_CUDA, "cuda:0");
    ct_release(cpu);
}

TEST(Device, CpuSynchronizeAndStats) {
    EXPECT_EQ(ct_synchronize(CT_DEVICE_CPU), CT_OK);
    EXPECT_EQ(ct_cuda_empty_cache(CT_DEVICE_CPU), CT_OK);
    ct_memory_stats before;
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &before), CT_OK);
    ct_tensor *t = ct_empty(1, SHAPE(1000), CT_FLOAT64, CT_DEVICE_CPU);
    ct_memory_stats during;
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &during), CT_OK);
    EXPECT_EQ(during.allocated - before.allocated, 8000); // 8000 bytes is a multiple of the 64-byte alignment
    EXPECT_EQ(during.num_allocs - before.num_allocs, 1);
    EXPECT_GE(during.peak_allocated, during.allocated);
    EXPECT_EQ((uintptr_t)ct_data_ptr(t) % 64, 0u) << "CPU storage is 64-byte aligned";
    ct_release(t);
    ASSERT_EQ(ct_memory_reset_peak(CT_DEVICE_CPU), CT_OK);
    ct_memory_stats after;
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &after), CT_OK);
    EXPECT_EQ(after.allocated, before.allocated);
    EXPECT_EQ(after.peak_allocated, after.allocated);
    EXPECT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, nullptr), CT_ERR_INVALID_ARGUMENT);
    ct_clear_error();
}

// ---- on a GPU: the same tensor API across devices (skipped here with the reason) ----

class Cuda : public testing::Test {
  protected:
    void SetUp() override {
        std::string why = cth::gpu_skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
    }
};

TEST_F(Cuda, RoundTripsEveryDtype) {
    for (ct_dtype dt : {CT_FLOAT32, CT_FLOAT64, CT_INT64, CT_INT32, CT_UINT8, CT_BOOL}) {
        ct_scope_begin();
        ct_tensor *h = ct_to_dtype(ct_arange(0, 10, 1, CT_FLOAT64, CT_DEVICE_CPU), dt);
        ct_tensor *d = ct_to_device(h, CT_DEVICE_CUDA(0));
        ASSERT_NE(d, nullptr) << ct_last_error();
        EXPECT_EQ(ct_tensor_device(d).type, CT_CUDA);
        ct_tensor *back = ct_to_device(d, CT_DEVICE_CPU);
        EXPECT_EQ(values_of(back), values_of(h)) << ct_dtype_name(dt);
        ct_scope_end();
    }
}

TEST_F(Cuda, StridedConvertingAndCrossDeviceCopies) {
    ct_scope_begin();
    ct_tensor *h = ct_view(ct_arange(0, 12, 1, CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(3, 4));
    ct_tensor *d = ct_to_device(h, CT_DEVICE_CUDA(0));
    ct_tensor *dt = ct_contiguous(ct_t(d));
    EXPECT_EQ(values_of(dt), values_of(ct_t(h)));
    ct_tensor *dst = ct_zeros(2, SHAPE(4, 3), CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_(dst, ct_t(d)), CT_OK) << ct_last_error(); // CUDA float32 strided -> CPU int64
    EXPECT_EQ(values_of(dst), values_of(ct_t(h)));
    ct_tensor *ddst = ct_zeros(2, SHAPE(4, 3), CT_FLOAT64, CT_DEVICE_CUDA(0));
    ASSERT_EQ(ct_copy_(ct_t(ddst), h), CT_OK) << ct_last_error(); // CPU -> non-contiguous CUDA destination
    EXPECT_EQ(values_of(ct_t(ddst)), values_of(h));
    ASSERT_EQ(ct_fill_(ct_select(ddst, 1, 0), -1), CT_OK);
    EXPECT_EQ(values_of(ct_select(ddst, 1, 0)), std::vector<double>(4, -1));
    ct_tensor *e = ct_eye(3, -1, CT_FLOAT32, CT_DEVICE_CUDA(0));
    EXPECT_EQ(values_of(e), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
    ct_scope_end();
}

TEST_F(Cuda, CachingAllocatorReusesBlocksAndEmptiesItsCache) {
    ct_device gpu = CT_DEVICE_CUDA(0);
    ASSERT_EQ(ct_cuda_empty_cache(gpu), CT_OK);
    ct_memory_stats s0, s1, s2, s3;
    ASSERT_EQ(ct_memory_stats_get(gpu, &s0), CT_OK);
    ct_tensor *a = ct_empty(1, SHAPE(1 << 20), CT_FLOAT32, gpu);
    void *first = ct_data_ptr(a);
    ct_release(a);
    ASSERT_EQ(ct_memory_stats_get(gpu, &s1), CT_OK);
    EXPECT_EQ(s1.allocated, s0.allocated);
    EXPECT_EQ(s1.reserved - s0.reserved, 4 << 20) << "the freed block stays cached";
    ct_tensor *b = ct_empty(1, SHAPE(1 << 20), CT_FLOAT32, gpu);
    EXPECT_EQ(ct_data_ptr(b), first) << "the cached block is reused";
    ASSERT_EQ(ct_memory_stats_get(gpu, &s2), CT_OK);
    EXPECT_EQ(s2.reserved, s1.reserved);
    ct_release(b);
    ASSERT_EQ(ct_cuda_empty_cache(gpu), CT_OK);
    ASSERT_EQ(ct_memory_stats_get(gpu, &s3), CT_OK);
    EXPECT_EQ(s3.reserved, s0.reserved);
}

TEST_F(Cuda, OutOfMemoryIsAnError) {
    int64_t huge = (int64_t)1 << 45; // 128 TiB of float32
    EXPECT_EQ(ct_empty(1, &huge, CT_FLOAT32, CT_DEVICE_CUDA(0)), nullptr);
    EXPECT_ERROR(CT_ERR_OUT_OF_MEMORY, "out of memory");
    ct_tensor *ok = ct_ones(1, SHAPE(8), CT_FLOAT32, CT_DEVICE_CUDA(0));
    EXPECT_NE(ok, nullptr) << "the device still works after an out-of-memory error: " << ct_last_error();
    ct_release(ok);
}

TEST_F(Cuda, BadOrdinalIsAnError) {
    int n = ct_cuda_device_count();
    EXPECT_EQ(ct_zeros(1, SHAPE(1), CT_FLOAT32, CT_DEVICE_CUDA(n)), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "invalid device ordinal");
}

TEST_F(Cuda, PinnedTensorsArePageLockedAndCopyToTheGpu) {
    ct_scope_begin();
    ct_tensor *p = ct_pin_memory(ct_arange(0, 1000, 1, CT_FLOAT32, CT_DEVICE_CPU));
    EXPECT_TRUE(ct_is_pinned(p));
    ct_tensor *g = ct_to_device(p, CT_DEVICE_CUDA(0));
    EXPECT_EQ(values_of(g), values_of(p));
    EXPECT_EQ(ct_pin_memory(g), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "only dense CPU tensors can be pinned");
    ct_scope_end();
}

// ---- non-blocking copies (ct_copy_async_, ct_to_device_async): on the CPU a plain copy, as in PyTorch ----

TEST(Device, NonBlockingCopyOnTheCpuIsAPlainCopy) {
    ct_scope_begin();
    ct_tensor *src = tensor_f32({1.5f, -2.5f, 3.0f}, {3});
    ct_tensor *dst = ct_zeros(2, SHAPE(2, 3), CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_async_(dst, src), CT_OK) << ct_last_error(); // broadcast and convert, as ct_copy_
    EXPECT_EQ(values_of(dst), (std::vector<double>{1, -2, 3, 1, -2, 3}));
    ct_tensor *pinned = ct_pin_memory(src); // plain memory without a GPU: still a valid source
    ct_tensor *same = ct_to_device_async(pinned, CT_DEVICE_CPU);
    ASSERT_NE(same, nullptr) << ct_last_error();
    EXPECT_EQ(ct_data_ptr(same), ct_data_ptr(pinned)) << "already on the device: the tensor itself";
    ct_tensor *into = ct_zeros(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_async_(into, pinned), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(into), (std::vector<double>{1.5, -2.5, 3.0}));
    ct_scope_end();
}

TEST(Device, NonBlockingCopyRecordsAutogradLikeTheBlockingOne) {
    ct_scope_begin();
    ct_tensor *w = tensor_f32({1, 2, 3}, {3});
    ASSERT_EQ(ct_set_requires_grad(w, true), CT_OK);
    ct_tensor *moved = ct_to_device_async(w, CT_DEVICE_CPU); // the same device: w itself
    EXPECT_EQ(ct_data_ptr(moved), ct_data_ptr(w));
    ct_tensor *dst = ct_zeros(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_async_(dst, w), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_backward(ct_sum(ct_mul_scalar(dst, 2), 0, nullptr, false), nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(w)), (std::vector<double>{2, 2, 2}));
    EXPECT_EQ(ct_copy_async_(w, dst), CT_ERR_STATE); // a leaf that requires grad is not overwritten
    EXPECT_ERROR(CT_ERR_STATE, "ct_copy_async_: a leaf Variable that requires grad is being used in an in-place");
    ct_scope_end();
}

TEST(Device, NonBlockingCopyErrorsAreThoseOfTheBlockingOne) {
    ct_scope_begin();
    ct_tensor *src = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *dst = ct_zeros(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_copy_async_(dst, src), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_copy_async_: the size of src [3] cannot be broadcast to the size of dst [4]");
    EXPECT_EQ(ct_copy_async_(nullptr, src), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_copy_async_");
    EXPECT_EQ(ct_to_device_async(nullptr, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_to_device_async");
    EXPECT_EQ(ct_to_device_async(src, ct_device{CT_CPU, 3}), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "CPU device index must be 0, got 3");
    ct_scope_end();
}

TEST(Device, NonBlockingCopyToCudaWhereThereIsNoneIsTheSameClearError) {
    if (ct_cuda_is_available()) GTEST_SKIP() << "a GPU is present: this test is about its absence";
    ct_scope_begin();
    ct_tensor *pinned = ct_pin_memory(ct_ones(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CPU));
    EXPECT_FALSE(ct_is_pinned(pinned)) << "without a GPU, page-locking buys nothing";
    EXPECT_EQ(ct_to_device(pinned, CT_DEVICE_CUDA(0)), nullptr);
    std::string blocking = ct_last_error();
    ct_clear_error();
    EXPECT_EQ(ct_to_device_async(pinned, CT_DEVICE_CUDA(0)), nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_NO_CUDA);
    EXPECT_EQ(std::string(ct_last_error()), blocking);
    EXPECT_ERROR(CT_ERR_NO_CUDA, ct_built_with_cuda() ? "no CUDA device is available (cuda:0 was asked for)"
                                                      : "Torch not compiled with CUDA enabled");
    ct_scope_end();
}

// ---- non-blocking copies on a GPU ----

TEST_F(Cuda, NonBlockingCopyFromPinnedMemoryIsOrderedBeforeLaterKernels) {
    ct_scope_begin();
    int64_t n = 16 << 20; // 64 MiB of float32: a copy long enough to be still running when the host goes on
    ct_tensor *pinned = ct_pin_memory(ct_arange(0, (double)n, 1, CT_FLOAT32, CT_DEVICE_CPU));
    ASSERT_TRUE(ct_is_pinned(pinned));
    ct_tensor *g = ct_keep(ct_to_device_async(pinned, CT_DEVICE_CUDA(0)));
    ASSERT_NE(g, nullptr) << ct_last_error();
    ct_tensor *doubled = ct_keep(ct_mul_scalar(g, 2)); // queued after the copy on the same stream, no host wait
    ct_scope_end();                                   // the pinned source goes while the copy may still run
    ct_scope_begin();
    ct_tensor *scribble = ct_pin_memory(ct_full(1, &n, -1, CT_FLOAT32, CT_DEVICE_CPU)); // same size class
    ASSERT_NE(scribble, nullptr) << ct_last_error();
    ASSERT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_OK) << ct_last_error();
    double first, last;
    ASSERT_EQ(ct_item(ct_select(doubled, 0, 1), &first), CT_OK);
    ASSERT_EQ(ct_item(ct_select(doubled, 0, n - 1), &last), CT_OK);
    EXPECT_EQ(first, 2.0);
    EXPECT_EQ(last, 2.0 * (double)(n - 1)) << "the pinned block was reused before the copy from it was over";
    ct_scope_end();
    ct_release(g), ct_release(doubled);
}

TEST_F(Cuda, PinnedBlocksAreReusedOnceTheirCopiesAreOver) {
    ct_scope_begin();
    ct_tensor *p1 = ct_keep(ct_pin_memory(ct_arange(0, 1000, 1, CT_FLOAT32, CT_DEVICE_CPU)));
    void *block = ct_data_ptr(p1);
    ct_tensor *g = ct_to_device_async(p1, CT_DEVICE_CUDA(0));
    ASSERT_NE(g, nullptr) << ct_last_error();
    ct_release(p1);
    ASSERT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_OK); // the copy is over: the block goes back to the cache
    ct_tensor *p2 = ct_pin_memory(ct_arange(0, 900, 1, CT_FLOAT32, CT_DEVICE_CPU)); // the same 4 KiB class
    EXPECT_EQ(ct_data_ptr(p2), block) << "a pinned block is reused, not page-locked again";
    EXPECT_EQ(values_of(g), values_of(ct_arange(0, 1000, 1, CT_FLOAT32, CT_DEVICE_CPU)));
    ct_scope_end();
}

TEST_F(Cuda, NonBlockingCopyToTheCpuLandsInPinnedMemory) {
    ct_scope_begin();
    ct_tensor *h = ct_view(ct_arange(0, 12, 1, CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(3, 4));
    ct_tensor *d = ct_to_device(h, CT_DEVICE_CUDA(0));
    ct_tensor *back = ct_to_device_async(d, CT_DEVICE_CPU);
    ASSERT_NE(back, nullptr) << ct_last_error();
    EXPECT_TRUE(ct_is_pinned(back)) << "page-locked, so that the device can write it asynchronously";
    ASSERT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_OK); // before the host reads it
    EXPECT_EQ(values_of(back), values_of(h));
    ct_tensor *into = ct_pin_memory(ct_zeros(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU));
    ASSERT_EQ(ct_copy_async_(into, d), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_OK);
    EXPECT_EQ(values_of(into), values_of(h));
    ct_scope_end();
}

TEST_F(Cuda, NonBlockingCopyFallsBackToASynchronousOneWhereItMust) {
    ct_scope_begin();
    ct_tensor *h = ct_view(ct_arange(0, 12, 1, CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(3, 4));
    ct_tensor *d = ct_to_device_async(h, CT_DEVICE_CUDA(0)); // pageable source
    EXPECT_EQ(values_of(d), values_of(h));
    ct_tensor *pinned = ct_pin_memory(h);
    ct_tensor *strided = ct_zeros(2, SHAPE(4, 3), CT_FLOAT64, CT_DEVICE_CUDA(0));
    ASSERT_EQ(ct_copy_async_(ct_t(strided), pinned), CT_OK) << ct_last_error(); // converted, non-contiguous
    EXPECT_EQ(values_of(ct_t(strided)), values_of(h));
    ct_tensor *to_pageable = ct_zeros(2, SHAPE(3, 4), CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_async_(to_pageable, d), CT_OK) << ct_last_error(); // pageable destination: synchronous
    EXPECT_EQ(values_of(to_pageable), values_of(h));
    ct_scope_end();
}

// ---- the CPU block cache ----

namespace {
// Sets the cache limit for one test and restores the previous one (the default is 0 under AddressSanitizer).
struct CacheLimit {
    int64_t saved = ct_cpu_get_cache_limit();
    explicit CacheLimit(int64_t bytes) {
        ct_cpu_empty_cache();
        EXPECT_EQ(ct_cpu_set_cache_limit(bytes), CT_OK);
    }
    ~CacheLimit() {
        ct_cpu_empty_cache();
        EXPECT_EQ(ct_cpu_set_cache_limit(saved), CT_OK);
    }
};

int64_t cached_bytes() {
    ct_memory_stats s;
    EXPECT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &s), CT_OK);
    return s.reserved - s.allocated;
}

ct_tensor *bytes_tensor(int64_t n) { return ct_empty(1, SHAPE(n), CT_UINT8, CT_DEVICE_CPU); }
} // namespace

TEST(CpuCache, ReusesABlockOfTheSameSizeClass) {
    CacheLimit limit(64 << 20);
    EXPECT_EQ(cached_bytes(), 0);
    ct_tensor *a = bytes_tensor(300 << 10);
    void *p = ct_data_ptr(a);
    ct_release(a);
    EXPECT_EQ(cached_bytes(), 320 << 10) << "300 KiB is served from the 320 KiB class (eighths of 256 KiB)";
    ct_tensor *b = bytes_tensor(310 << 10); // the same class
    EXPECT_EQ(ct_data_ptr(b), p);
    EXPECT_EQ(cached_bytes(), 0);
    ct_tensor *c = bytes_tensor(330 << 10); // the next class: a fresh block
    EXPECT_NE(ct_data_ptr(c), p);
    EXPECT_EQ((uintptr_t)ct_data_ptr(c) % 64, 0u);
    ct_release(b), ct_release(c);
    EXPECT_EQ(cached_bytes(), (320 + 352) << 10);
    // a cached block handed to ct_zeros comes back zeroed like any other
    ct_tensor *z = ct_zeros(1, SHAPE(300 << 10), CT_UINT8, CT_DEVICE_CPU);
    EXPECT_EQ(ct_data_ptr(z), p);
    const unsigned char *d = (const unsigned char *)ct_data_ptr(z);
    EXPECT_EQ(std::count(d, d + (300 << 10), 0), 300 << 10);
    ct_release(z);
    ct_cpu_empty_cache();
    EXPECT_EQ(cached_bytes(), 0);
}

TEST(CpuCache, SmallBlocksAndTheLimit) {
    CacheLimit limit(1 << 20);
    ct_release(bytes_tensor(100 << 10)); // below 256 KiB: glibc's, not cached
    EXPECT_EQ(cached_bytes(), 0);
    ct_release(bytes_tensor(2 << 20)); // larger than the whole limit
    EXPECT_EQ(cached_bytes(), 0);
    ct_tensor *a = bytes_tensor(256 << 10), *b = bytes_tensor(512 << 10), *c = bytes_tensor(768 << 10);
    ct_release(a), ct_release(b);
    EXPECT_EQ(cached_bytes(), 768 << 10);
    ct_release(c); // 1.5 MiB idle > 1 MiB: the largest go first (768 KiB), leaving 256 + 512
    EXPECT_EQ(cached_bytes(), 768 << 10);
    ASSERT_EQ(ct_cpu_set_cache_limit(300 << 10), CT_OK); // trims to the 256 KiB block
    EXPECT_EQ(cached_bytes(), 256 << 10);
    ASSERT_EQ(ct_cpu_set_cache_limit(0), CT_OK); // off
    EXPECT_EQ(cached_bytes(), 0);
    ct_release(bytes_tensor(300 << 10));
    EXPECT_EQ(cached_bytes(), 0);
    EXPECT_EQ(ct_cpu_get_cache_limit(), 0);
    EXPECT_EQ(ct_cpu_set_cache_limit(-1), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'bytes' must be >= 0, got -1");
}

// Threads allocating, filling, checking and freeing blocks of a few classes at once: no block is handed to two
// tensors, whatever the interleaving.
TEST(CpuCache, ThreadsNeverShareABlock) {
    CacheLimit limit(8 << 20);
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; t++)
        threads.emplace_back([t, &bad] {
            for (int i = 0; i < 200; i++) {
                int64_t n = (int64_t)(256 + 64 * ((i + t) % 5)) << 10;
                ct_tensor *x = bytes_tensor(n);
                unsigned char *d = (unsigned char *)ct_data_ptr(x);
                std::memset(d, t * 50 + i % 50, (size_t)n);
                std::this_thread::yield();
                if (std::count(d, d + n, (unsigned char)(t * 50 + i % 50)) != n) bad++;
                ct_release(x);
            }
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
}
