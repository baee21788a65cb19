// The CUDA caching allocator's logic, run here over a fake raw allocator (malloc with a byte budget), since no GPU
// is needed to check reuse, rounding, the cache, out-of-memory retry and the statistics. This test reaches one
// internal header on purpose: the allocator is otherwise only reachable on a GPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

extern "C" {
#include "core/caching_allocator.h"
}

namespace {

struct FakeDevice {
    size_t budget, used = 0;
    int allocs = 0, frees = 0;
    std::map<void *, size_t> live;
};

ct_status fake_alloc(void *ctx, size_t n, void **out) {
    FakeDevice *d = (FakeDevice *)ctx;
    if (d->used + n > d->budget) return CT_ERR_OUT_OF_MEMORY;
    *out = std::malloc(n);
    d->used += n;
    d->allocs++;
    d->live[*out] = n;
    return CT_OK;
}

void fake_free(void *ctx, void *p) {
    FakeDevice *d = (FakeDevice *)ctx;
    d->used -= d->live[p];
    d->live.erase(p);
    d->frees++;
    std::free(p);
}

struct Allocator {
    FakeDevice dev;
    ct__caching_allocator a;
    explicit Allocator(size_t budget) : dev{budget} { ct__caching_init(&a, {fake_alloc, fake_free, &dev}); }
    ~Allocator() { ct__caching_destroy(&a); }
    void *alloc(size_t n, void **h, int stream = 0) { return ct__caching_alloc(&a, n, stream, h); }
};

} // namespace

TEST(CachingAllocator, RoundsSmallTo512AndLargeTo2MiB) {
    EXPECT_EQ(ct__caching_round(1), 512u);
    EXPECT_EQ(ct__caching_round(512), 512u);
    EXPECT_EQ(ct__caching_round(513), 1024u);
    EXPECT_EQ(ct__caching_round((1 << 20) - 1), (size_t)1 << 20);
    EXPECT_EQ(ct__caching_round((1 << 20) + 1), (size_t)2 << 20);
    EXPECT_EQ(ct__caching_round((5 << 20) + 7), (size_t)6 << 20);
}

TEST(CachingAllocator, ReusesAFreedBlockOfTheSameSizeClass) {
    Allocator al(1 << 30);
    void *h1, *h2;
    void *p1 = al.alloc(1000, &h1);
    ct__caching_free(&al.a, h1);
    void *p2 = al.alloc(900, &h2); // rounds to 1024 too
    EXPECT_EQ(p1, p2);
    EXPECT_EQ(al.dev.allocs, 1);
    ct_memory_stats s = ct__caching_stats(&al.a);
    EXPECT_EQ(s.allocated, 1024);
    EXPECT_EQ(s.reserved, 1024);
    EXPECT_EQ(s.num_allocs, 1);
    ct__caching_free(&al.a, h2);
}

TEST(CachingAllocator, DoesNotWasteABigBlockOnASmallRequest) {
    Allocator al(1 << 30);
    void *h1, *h2;
    al.alloc(64 << 10, &h1);
    ct__caching_free(&al.a, h1);
    al.alloc(512, &h2); // a 64 KiB block would waste over half: a new block
    EXPECT_EQ(al.dev.allocs, 2);
    ct__caching_free(&al.a, h2);
}

TEST(CachingAllocator, BlocksAreCachedPerStream) {
    Allocator al(1 << 30);
    void *h1, *h2;
    void *p1 = al.alloc(4096, &h1, 0);
    ct__caching_free(&al.a, h1);
    void *p2 = al.alloc(4096, &h2, 1);
    EXPECT_NE(p1, p2) << "a block freed on stream 0 is not handed to stream 1";
    ct__caching_free(&al.a, h2);
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
    Allocator al(3 << 20); // room for one 2 MiB block
    void *h1, *h2;
    al.alloc(2 << 20, &h1);
    ct__caching_free(&al.a, h1); // cached: 2 MiB reserved, none allocated
    void *p = al.alloc(3 << 20, &h2); // needs 4 MiB: fails; emptied cache leaves 3 MiB: still fails
    EXPECT_EQ(p, nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(ct_last_error()).find("the cache was emptied and the allocation retried"),
              std::string::npos);
    ct_memory_stats s = ct__caching_stats(&al.a);
    EXPECT_EQ(s.num_ooms, 1);
    EXPECT_EQ(s.reserved, 0) << "the cache was given back";
    void *h3;
    void *q = al.alloc(2 << 20, &h3); // fits after the retry path freed the cache
    EXPECT_NE(q, nullptr);
    ct__caching_free(&al.a, h3);
}

TEST(CachingAllocator, RetryAfterEmptyingSucceedsWhenTheCacheHeldTheRoom) {
    Allocator al(4 << 20);
    void *h1, *h2, *h3;
    al.alloc(2 << 20, &h1);
    al.alloc(2 << 20, &h2);
    ct__caching_free(&al.a, h1);
    ct__caching_free(&al.a, h2);       // 4 MiB cached in two 2 MiB blocks
    void *p = al.alloc(4 << 20, &h3); // no cached block fits; the budget is full until the cache is emptied
    EXPECT_NE(p, nullptr);
    ct_memory_stats s = ct__caching_stats(&al.a);
    EXPECT_EQ(s.num_ooms, 1);
    EXPECT_EQ(s.reserved, 4 << 20);
    ct__caching_free(&al.a, h3);
}

TEST(CachingAllocator, StatisticsAndEmptyCache) {
    Allocator al(1 << 30);
    void *h[4];
    for (int i = 0; i < 4; i++) al.alloc(512 * (size_t)(i + 1), &h[i]);
    ct_memory_stats s = ct__caching_stats(&al.a);
    EXPECT_EQ(s.allocated, 512 * (1 + 2 + 3 + 4));
    EXPECT_EQ(s.peak_allocated, s.allocated);
    for (int i = 0; i < 4; i++) ct__caching_free(&al.a, h[i]);
    s = ct__caching_stats(&al.a);
    EXPECT_EQ(s.allocated, 0);
    EXPECT_EQ(s.num_allocs, 0);
    EXPECT_EQ(s.peak_allocated, 512 * 10);
    EXPECT_EQ(s.reserved, 512 * 10);
    ct__caching_reset_peak(&al.a);
    EXPECT_EQ(ct__caching_stats(&al.a).peak_allocated, 0);
    ct__caching_empty_cache(&al.a);
    EXPECT_EQ(ct__caching_stats(&al.a).reserved, 0);
    EXPECT_TRUE(al.dev.live.empty());
    EXPECT_EQ(al.dev.frees, 4);
}
