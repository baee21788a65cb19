// The pinned host allocator's logic (runtime/core/host_allocator.h), run here over a fake raw allocator (malloc) and
// a fake event API whose events complete when the test says so: a block released while "its copy" is still running
// must be neither reused nor freed until the copy's event has completed, which is checked without a GPU. This test
// reaches one internal header on purpose, as test_caching_allocator.cpp does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "core/host_allocator.h"
}

namespace {

struct FakeHost {
    size_t budget = (size_t)1 << 30, used = 0;
    int allocs = 0, frees = 0;
    std::map<void *, size_t> live;
};

ct_status fake_alloc(void *ctx, size_t n, void **out) {
    FakeHost *h = (FakeHost *)ctx;
    if (h->used + n > h->budget) return CT_ERR_OUT_OF_MEMORY;
    *out = std::malloc(n);
    h->used += n;
    h->allocs++;
    h->live[*out] = n;
    return CT_OK;
}

void fake_free(void *ctx, void *p) {
    FakeHost *h = (FakeHost *)ctx;
    h->used -= h->live[p];
    h->live.erase(p);
    h->frees++;
    std::free(p);
}

// An event is an int: its id. The test completes events by id ("the copy is over").
struct FakeEvents {
    int next_id = 1;
    std::set<int> live, completed;
    std::vector<int> devices; // the device of each record, in order
    int queries = 0, waits = 0;
    bool fail_record = false, fail_query = false;
};

ct_status fake_record(void *ctx, int device, void **event) {
    FakeEvents *e = (FakeEvents *)ctx;
    if (e->fail_record) return CT_ERR_CUDA;
    int id = e->next_id++;
    e->live.insert(id);
    e->devices.push_back(device);
    *event = (void *)(intptr_t)id;
    return CT_OK;
}

int fake_query(void *ctx, void *event) {
    FakeEvents *e = (FakeEvents *)ctx;
    e->queries++;
    if (e->fail_query) return -1;
    return e->completed.count((int)(intptr_t)event) ? 1 : 0;
}

void fake_wait(void *ctx, void *event) {
    FakeEvents *e = (FakeEvents *)ctx;
    e->waits++;
    e->completed.insert((int)(intptr_t)event);
}

void fake_destroy(void *ctx, void *event) { ((FakeEvents *)ctx)->live.erase((int)(intptr_t)event); }

struct Pinned {
    FakeHost host;
    FakeEvents events;
    ct__host_allocator a;
    Pinned() {
        ct__host_init(&a, {fake_alloc, fake_free, &host}, {fake_record, fake_query, fake_wait, fake_destroy, &events});
    }
    ~Pinned() { ct__host_destroy(&a); }
    void *alloc(size_t n, ct__host_block **b) { return ct__host_alloc(&a, n, b); }
    ct__host_stats stats() { return ct__host_get_stats(&a); }
};

} // namespace

TEST(HostAllocator, RoundsToAPowerOfTwoOfAtLeast64Bytes) {
    EXPECT_EQ(ct__host_round(0), 64u);
    EXPECT_EQ(ct__host_round(1), 64u);
    EXPECT_EQ(ct__host_round(64), 64u);
    EXPECT_EQ(ct__host_round(65), 128u);
    EXPECT_EQ(ct__host_round(200704), 262144u); // one Fashion-MNIST batch of 64 float32 images
    EXPECT_EQ(ct__host_round((size_t)3 << 20), (size_t)4 << 20);
}

TEST(HostAllocator, ReusesAReleasedBlockWithoutCopiesAtOnce) {
    Pinned p;
    ct__host_block *b1, *b2;
    void *m1 = p.alloc(1000, &b1);
    ASSERT_NE(m1, nullptr);
    ct__host_free(&p.a, b1);
    EXPECT_EQ(p.stats().cached, 1);
    void *m2 = p.alloc(900, &b2); // the same 1024-byte class
    EXPECT_EQ(m2, m1);
    EXPECT_EQ(p.host.allocs, 1) << "page-locked memory is reused, not allocated again";
    ct__host_free(&p.a, b2);
}

TEST(HostAllocator, ServesOnlyTheExactSizeClassFromTheCache) {
    Pinned p;
    ct__host_block *b1, *b2;
    void *m1 = p.alloc(4096, &b1);
    ct__host_free(&p.a, b1);
    void *m2 = p.alloc(100, &b2); // 128 bytes: a 4 KiB block is not handed out for it
    EXPECT_NE(m2, m1);
    EXPECT_EQ(p.host.allocs, 2);
    ct__host_free(&p.a, b2);
}

TEST(HostAllocator, ABlockReleasedDuringItsCopyIsNotReusedUntilTheCopyIsOver) {
    Pinned p;
    ct__host_block *b, *other, *again;
    void *m = p.alloc(1 << 16, &b);
    ASSERT_EQ(ct__host_record_use(&p.a, b, 0), CT_OK); // an asynchronous copy from the block was queued
    ASSERT_EQ(p.events.live.size(), 1u);
    ct__host_free(&p.a, b); // the tensor goes while the copy runs
    ct__host_stats s = p.stats();
    EXPECT_EQ(s.pending, 1);
    EXPECT_EQ(s.cached, 0);
    EXPECT_EQ(p.host.frees, 0) << "the block is not returned to the driver mid-copy";

    void *m2 = p.alloc(1 << 16, &other); // same size, while the copy still runs: a different block
    EXPECT_NE(m2, m) << "a block in flight must not be handed out again";
    EXPECT_EQ(p.host.allocs, 2);

    p.events.completed.insert(1); // the copy finishes
    void *m3 = p.alloc(1 << 16, &again); // this allocation polls the pending list first
    EXPECT_EQ(m3, m) << "once its event has completed the block is reused";
    EXPECT_EQ(p.host.allocs, 2);
    EXPECT_TRUE(p.events.live.empty()) << "completed events are destroyed";
    s = p.stats();
    EXPECT_EQ(s.pending, 0);
    EXPECT_EQ(s.in_use, 2);
    ct__host_free(&p.a, other);
    ct__host_free(&p.a, again);
}

TEST(HostAllocator, ABlockWaitsForEveryCopyRecordedOnIt) {
    Pinned p;
    ct__host_block *b;
    p.alloc(256, &b);
    ASSERT_EQ(ct__host_record_use(&p.a, b, 0), CT_OK); // event 1, device 0
    ASSERT_EQ(ct__host_record_use(&p.a, b, 1), CT_OK); // event 2, device 1
    EXPECT_EQ(p.events.devices, (std::vector<int>{0, 1})) << "each event is recorded on the copy's device";
    ct__host_free(&p.a, b);
    p.events.completed.insert(2);
    ct__host_poll(&p.a);
    EXPECT_EQ(p.stats().pending, 1) << "event 1 has not completed yet";
    p.events.completed.insert(1);
    ct__host_poll(&p.a);
    EXPECT_EQ(p.stats().pending, 0);
    EXPECT_EQ(p.stats().cached, 1);
}

TEST(HostAllocator, ALongLivedBlockKeepsOnlyItsRunningEvents) {
    Pinned p;
    ct__host_block *b;
    p.alloc(256, &b);
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(ct__host_record_use(&p.a, b, 0), CT_OK);
        p.events.completed.insert(i + 1); // each copy is over before the next is queued
    }
    EXPECT_LE(p.stats().events_live, 1) << "completed events are dropped when the next one is recorded";
    ct__host_free(&p.a, b);
    EXPECT_EQ(p.stats().cached, 1);
    EXPECT_EQ(p.stats().events_live, 0);
}

TEST(HostAllocator, ReleasingPollsTheOtherPendingBlocks) {
    Pinned p;
    ct__host_block *a, *b;
    p.alloc(256, &a);
    p.alloc(512, &b);
    ASSERT_EQ(ct__host_record_use(&p.a, a, 0), CT_OK);
    ct__host_free(&p.a, a);
    EXPECT_EQ(p.stats().pending, 1);
    p.events.completed.insert(1);
    ct__host_free(&p.a, b); // a release polls too
    EXPECT_EQ(p.stats().pending, 0);
    EXPECT_EQ(p.stats().cached, 2);
}

TEST(HostAllocator, EmptyCacheFreesIdleBlocksButKeepsThoseInFlight) {
    Pinned p;
    ct__host_block *idle, *busy;
    p.alloc(256, &idle);
    p.alloc(256, &busy);
    ASSERT_EQ(ct__host_record_use(&p.a, busy, 0), CT_OK);
    ct__host_free(&p.a, idle);
    ct__host_free(&p.a, busy);
    ct__host_empty_cache(&p.a);
    EXPECT_EQ(p.host.frees, 1) << "only the idle block goes back";
    ct__host_stats s = p.stats();
    EXPECT_EQ(s.pending, 1);
    EXPECT_EQ(s.reserved, 256);
    p.events.completed.insert(1);
    ct__host_empty_cache(&p.a);
    EXPECT_EQ(p.host.frees, 2);
    EXPECT_EQ(p.stats().reserved, 0);
}

TEST(HostAllocator, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
    Pinned p;
    p.host.budget = 4096;
    ct__host_block *small, *big, *bigger;
    p.alloc(2048, &small);
    ct__host_free(&p.a, small); // cached: 2048 of the 4096 bytes
    void *m = p.alloc(4096, &big);
    ASSERT_NE(m, nullptr) << ct_last_error();
    EXPECT_EQ(p.host.frees, 1) << "the cached block was returned to make room";
    EXPECT_EQ(p.alloc(8192, &bigger), nullptr);
    EXPECT_EQ(bigger, nullptr);
    EXPECT_EQ(ct_last_status(), CT_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(ct_last_error()).find("out of pinned host memory: tried to allocate 8192 bytes"),
              std::string::npos)
        << ct_last_error();
    ct_clear_error();
    ct__host_free(&p.a, big);
}

TEST(HostAllocator, AFailedRecordLeavesTheBlockUsableAndReportsTheError) {
    Pinned p;
    ct__host_block *b;
    p.alloc(256, &b);
    p.events.fail_record = true;
    EXPECT_EQ(ct__host_record_use(&p.a, b, 0), CT_ERR_CUDA);
    EXPECT_EQ(p.stats().events_live, 0);
    ct__host_free(&p.a, b);
    EXPECT_EQ(p.stats().cached, 1);
}

TEST(HostAllocator, AFailedQueryCountsAsCompletedSoNoBlockIsKeptForever) {
    Pinned p;
    ct__host_block *b;
    p.alloc(256, &b);
    ASSERT_EQ(ct__host_record_use(&p.a, b, 0), CT_OK);
    p.events.fail_query = true; // the device is in error: nothing more runs there
    ct__host_free(&p.a, b);
    EXPECT_EQ(p.stats().pending, 0);
    EXPECT_EQ(p.stats().cached, 1);
    EXPECT_TRUE(p.events.live.empty());
}

TEST(HostAllocator, DestroyWaitsForCopiesInFlightThenFreesEverything) {
    FakeHost host;
    FakeEvents events;
    ct__host_allocator a;
    ct__host_init(&a, {fake_alloc, fake_free, &host}, {fake_record, fake_query, fake_wait, fake_destroy, &events});
    ct__host_block *busy, *idle, *leaked;
    ct__host_alloc(&a, 256, &busy);
    ct__host_alloc(&a, 256, &idle);
    void *kept = ct__host_alloc(&a, 128, &leaked);
    ASSERT_EQ(ct__host_record_use(&a, busy, 0), CT_OK);
    ct__host_free(&a, busy);
    ct__host_free(&a, idle);
    EXPECT_EQ(ct__host_destroy(&a), 1) << "one block was never released";
    EXPECT_EQ(events.waits, 1) << "the pending block's copy is waited for before its memory goes";
    EXPECT_EQ(host.frees, 2);
    EXPECT_TRUE(events.live.empty());
    std::free(kept); // the leaked block's memory, and its header (the test's own cleanup)
    std::free(leaked);
}

TEST(HostAllocator, IsThreadSafe) {
    Pinned p;
    auto work = [&p](int seed) {
        for (int i = 0; i < 500; i++) {
            ct__host_block *b;
            void *m = p.alloc((size_t)(64 << ((seed + i) % 4)), &b);
            ASSERT_NE(m, nullptr);
            ((char *)m)[0] = (char)i;
            ct__host_free(&p.a, b);
        }
    };
    std::thread t1(work, 0), t2(work, 1), t3(work, 2);
    t1.join(), t2.join(), t3.join();
    ct__host_stats s = p.stats();
    EXPECT_EQ(s.in_use, 0);
    EXPECT_EQ(s.pending, 0);
    EXPECT_LE(p.host.allocs, 12) << "each thread holds one block at a time, of 4 size classes";
}
