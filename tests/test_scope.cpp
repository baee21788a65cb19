// Ownership: reference counts, scopes, keep, and the allocator returning to where it started.
#include "test_helpers.h"

TEST(Scope, EndReleasesEverythingMadeInside) {
    int64_t before = cpu_allocated();
    ct_scope_begin();
    EXPECT_EQ(ct_scope_depth(), 1);
    ct_tensor *a = ct_ones(1, SHAPE(100), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *b = ct_t(ct_view(a, 2, SHAPE(10, 10)));
    ASSERT_NE(b, nullptr);
    EXPECT_GT(cpu_allocated(), before);
    EXPECT_EQ(ct_scope_end(), CT_OK);
    EXPECT_EQ(ct_scope_depth(), 0);
    EXPECT_EQ(cpu_allocated(), before);
}

TEST(Scope, KeepMovesATensorOutToTheCaller) {
    int64_t before = cpu_allocated();
    ct_scope_begin();
    ct_tensor *tmp = ct_ones(1, SHAPE(10), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *kept = ct_keep(ct_clone(tmp));
    ct_scope_end();
    ASSERT_NE(kept, nullptr);
    EXPECT_EQ(values_of(kept), std::vector<double>(10, 1.0)) << "kept tensor survives its scope";
    ct_release(kept);
    EXPECT_EQ(cpu_allocated(), before);
}

TEST(Scope, KeepInANestedScopeHandsToTheParent) {
    int64_t before = cpu_allocated();
    ct_scope_begin();
    ct_scope_begin();
    ct_tensor *inner = ct_keep(ct_zeros(1, SHAPE(5), CT_FLOAT32, CT_DEVICE_CPU));
    ct_scope_end();
    EXPECT_EQ(values_of(inner), std::vector<double>(5, 0.0)) << "alive in the outer scope";
    ct_scope_end();
    EXPECT_EQ(cpu_allocated(), before) << "the outer scope released it";
}

TEST(Scope, ReleasingAScopedTensorEarlyIsSafe) {
    int64_t before = cpu_allocated();
    ct_scope_begin();
    ct_tensor *a = ct_ones(1, SHAPE(1000), CT_FLOAT64, CT_DEVICE_CPU);
    ct_release(a); // freed now; the scope forgets it
    EXPECT_EQ(cpu_allocated(), before);
    ct_tensor *b = ct_ones(1, SHAPE(10), CT_FLOAT64, CT_DEVICE_CPU);
    ct_retain(b); // the caller's own extra reference outlives the scope
    ct_scope_end();
    EXPECT_EQ(values_of(b), std::vector<double>(10, 1.0));
    ct_release(b);
    EXPECT_EQ(cpu_allocated(), before);
}

TEST(Scope, EndWithoutBeginIsAnError) {
    EXPECT_EQ(ct_scope_end(), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "no scope is open on this thread");
    EXPECT_EQ(ct_keep(nullptr), nullptr);
}

TEST(Scope, HundredThousandTensorsLeaveTheAllocatorWhereItStarted) {
    ct_memory_stats start, end;
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &start), CT_OK);
    for (int step = 0; step < 1000; step++) {
        ct_scope_begin();
        for (int i = 0; i < 100; i++) {
            ct_tensor *t = ct_full(1, SHAPE(16 + i), i, CT_FLOAT32, CT_DEVICE_CPU);
            ASSERT_NE(t, nullptr);
            if (i % 10 == 0) ct_release(ct_t(t)); // views made and dropped explicitly too
        }
        ASSERT_EQ(ct_scope_end(), CT_OK);
    }
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &end), CT_OK);
    EXPECT_EQ(end.allocated, start.allocated);
    EXPECT_EQ(end.num_allocs, start.num_allocs);
}

TEST(RefCount, StorageLivesWhileAnyViewLives) {
    int64_t before = cpu_allocated();
    ct_tensor *a = ct_arange(0, 8, 1, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *v = ct_narrow(a, 0, 4, 4);
    ct_release(a);
    EXPECT_EQ(values_of(v), (std::vector<double>{4, 5, 6, 7}));
    ct_tensor *r = ct_retain(v);
    ct_release(v);
    EXPECT_EQ(values_of(r), (std::vector<double>{4, 5, 6, 7}));
    ct_release(r);
    EXPECT_EQ(cpu_allocated(), before);
    ct_release(nullptr); // NULL-safe
}
