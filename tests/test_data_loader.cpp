// The DataLoader: PyTorch's option rules and errors, len() with and without drop_last, batches in the sampler's
// order and identical for 0, 1, 2 and 4 workers for a seed (with random transforms), automatic batching off,
// user collate functions and batch samplers, iterable datasets sharded across workers through worker info,
// worker_init_fn, errors from workers, persistent workers, timeouts, bounded prefetching, pinning, scopes, and
// stopping mid-epoch without leaks or hangs.
#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <set>

#include "harness.h"
#include "test_data_helpers.h"

namespace {

using Batches = std::vector<std::vector<std::vector<double>>>; // batch -> field -> values

// Every batch of one epoch, as values.
Batches epoch_of(ct_dataloader *dl) {
    Batches out;
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    EXPECT_NE(it, nullptr) << ct_last_error();
    if (!it) return out;
    for (ct_sample b; ct_dataloader_next(it, &b);) {
        std::vector<std::vector<double>> fields;
        for (int k = 0; k < b.n; k++) fields.push_back(dt::values(b.field[k]));
        out.push_back(fields);
        ct_sample_release(&b);
    }
    EXPECT_EQ(ct_dataloader_iter_status(it), CT_OK) << ct_last_error();
    ct_dataloader_iter_free(it);
    return out;
}

// The labels (field 1) of every batch, flattened.
std::vector<int64_t> labels_of(const Batches &batches, int field = 1) {
    std::vector<int64_t> v;
    for (const auto &b : batches)
        for (double x : b[(size_t)field]) v.push_back((int64_t)x);
    return v;
}

std::vector<int64_t> iota(int64_t n) {
    std::vector<int64_t> v((size_t)n);
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// An iterable dataset of n samples {label i} that shards itself across workers: worker w of W yields w, w+W, ...
struct Stream {
    int64_t n;
};
struct StreamIter {
    int64_t next, step;
};
ct_status stream_begin(void *, void **iter) {
    const ct_worker_info *info = ct_get_worker_info();
    *iter = new StreamIter{info ? info->id : 0, info ? info->num_workers : 1};
    return CT_OK;
}
ct_status stream_next(void *ctx, void *iter, ct_sample *out, bool *end) {
    StreamIter *it = (StreamIter *)iter;
    if (it->next >= ((Stream *)ctx)->n) {
        *end = true;
        return CT_OK;
    }
    int64_t v = it->next;
    it->next += it->step;
    out->n = 1;
    out->field[0] = ct_tensor_from_data(&v, 0, nullptr, CT_INT64, CT_DEVICE_CPU);
    return CT_OK;
}
void stream_end(void *, void *iter) { delete (StreamIter *)iter; }
int64_t stream_len(void *ctx) { return ((Stream *)ctx)->n; }
const ct_dataset_vtable stream_vt = {"Stream", stream_len, nullptr, stream_begin, stream_next, stream_end, nullptr};
const ct_dataset_vtable stream_no_len_vt = {"StreamNoLen", nullptr, nullptr, stream_begin, stream_next, stream_end,
                                            nullptr};

// A random user transform: adds a uniform draw in [0, 1) to every element.
ct_tensor *jitter_apply(void *, const ct_tensor *x, ct_rng *rng) {
    ct_tensor *y = ct_to_dtype(x, CT_FLOAT32), *z = y ? ct_clone(y) : nullptr;
    ct_release(y);
    if (!z) return nullptr;
    float *p = (float *)ct_data_ptr(z);
    for (int64_t i = 0; i < ct_numel(z); i++) p[i] += (float)ct_rng_uniform(rng);
    return z;
}
const ct_transform_vtable jitter_vt = {"Jitter", jitter_apply, nullptr};

} // namespace

// ---- options ------------------------------------------------------------------------------------------------------

TEST(DataLoader, OptionErrorsArePyTorchs) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    Stream s{10};
    ct_dataset *stream = ct_dataset_new(&stream_vt, &s);
    ct_sampler *seq = ct_sequential_sampler(10);
    ct_batch_sampler *bs = ct_batch_sampler_from(seq, 2, false);
    struct Case {
        ct_dataset *ds;
        ct_dataloader_options o;
        const char *words;
    } cases[] = {
        {ds, {.num_workers = -1}, "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."},
        {ds, {.timeout = -1}, "timeout option should be non-negative"},
        {ds, {.prefetch_factor = 2}, "prefetch_factor option could only be specified in multiprocessing"},
        {ds, {.num_workers = 1, .prefetch_factor = -1}, "prefetch_factor option should be non-negative"},
        {ds, {.persistent_workers = true}, "persistent_workers option needs num_workers > 0"},
        {stream, {.shuffle = true}, "DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=True"},
        {stream, {.sampler = seq}, "DataLoader with IterableDataset: expected unspecified sampler option, but got sampler=SequentialSampler"},
        {stream, {.batch_sampler = bs}, "expected unspecified batch_sampler option, but got batch_sampler=BatchSampler"},
        {ds, {.shuffle = true, .sampler = seq}, "sampler option is mutually exclusive with shuffle"},
        {ds, {.batch_size = 4, .batch_sampler = bs}, "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"},
        {ds, {.shuffle = true, .batch_sampler = bs}, "batch_sampler option is mutually exclusive"},
        {ds, {.sampler = seq, .batch_sampler = bs}, "batch_sampler option is mutually exclusive"},
        {ds, {.batch_sampler = bs, .drop_last = true}, "batch_sampler option is mutually exclusive"},
        {ds, {.batch_size = CT_BATCH_SIZE_NONE, .drop_last = true}, "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"},
        {ds, {.batch_size = -3}, "batch_size should be a positive integer value, but got batch_size=-3"},
        {stream, {.batch_size = -3}, "batch_size should be a positive integer value, but got batch_size=-3"},
    };
    for (const Case &k : cases) {
        EXPECT_EQ(ct_dataloader_new(k.ds, &k.o), nullptr) << k.words;
        EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, k.words);
    }
    // batch_size 1 (PyTorch's default) is allowed with a batch sampler
    ct_dataloader_options ok = {.batch_size = 1, .batch_sampler = bs};
    ct_dataloader *dl = ct_dataloader_new(ds, &ok);
    EXPECT_NE(dl, nullptr) << ct_last_error();
    ct_dataloader_free(dl);
    EXPECT_EQ(ct_dataloader_new(nullptr, nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
    ct_batch_sampler_release(bs), ct_sampler_release(seq);
    ct_dataset_release(ds), ct_dataset_release(stream);
}

TEST(DataLoader, LenFollowsDropLast) {
    dt::Counting c; // 10 samples
    ct_dataset *ds = dt::counting_dataset(&c);
    struct {
        ct_dataloader_options o;
        int64_t len;
    } cases[] = {
        {{}, 10},
        {{.batch_size = 3}, 4},
        {{.batch_size = 3, .drop_last = true}, 3},
        {{.batch_size = 5, .drop_last = true}, 2},
        {{.batch_size = 11}, 1},
        {{.batch_size = 11, .drop_last = true}, 0},
        {{.batch_size = CT_BATCH_SIZE_NONE}, 10},
    };
    for (auto &k : cases) {
        ct_dataloader *dl = ct_dataloader_new(ds, &k.o);
        int64_t n = -1;
        ASSERT_EQ(ct_dataloader_len(dl, &n), CT_OK);
        EXPECT_EQ(n, k.len) << "batch_size " << k.o.batch_size << " drop_last " << k.o.drop_last;
        EXPECT_EQ((int64_t)epoch_of(dl).size(), k.len);
        ct_dataloader_free(dl);
    }
    ct_dataset_release(ds);
}

TEST(DataLoader, LenOfIterableDatasets) {
    Stream s{10};
    ct_dataset *ds = ct_dataset_new(&stream_vt, &s), *no_len = ct_dataset_new(&stream_no_len_vt, &s);
    ct_dataloader_options keep = {.batch_size = 3}, drop = {.batch_size = 3, .drop_last = true};
    ct_dataloader *a = ct_dataloader_new(ds, &keep), *b = ct_dataloader_new(ds, &drop), *c = ct_dataloader_new(no_len, &keep);
    int64_t n;
    ASSERT_EQ(ct_dataloader_len(a, &n), CT_OK);
    EXPECT_EQ(n, 4);
    ASSERT_EQ(ct_dataloader_len(b, &n), CT_OK);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(ct_dataloader_len(c, &n), CT_ERR_STATE);
    EXPECT_CT_ERROR(CT_ERR_STATE, "object of type 'StreamNoLen' has no len()");
    EXPECT_EQ((int64_t)epoch_of(c).size(), 4); // it can still be iterated
    ct_dataloader_free(a), ct_dataloader_free(b), ct_dataloader_free(c);
    ct_dataset_release(ds), ct_dataset_release(no_len);
}

// ---- batches ------------------------------------------------------------------------------------------------------

TEST(DataLoader, SequentialBatchesStackSamplesInOrder) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_dataloader_options o = {.batch_size = 4};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_dataset_release(ds); // the loader holds it
    Batches b = epoch_of(dl);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[0][0], (std::vector<double>{0, -0, 1, -1, 2, -2, 3, -3}));
    EXPECT_EQ(b[0][1], (std::vector<double>{0, 1, 2, 3}));
    EXPECT_EQ(b[2][1], (std::vector<double>{8, 9}));
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ct_sample first;
    ASSERT_TRUE(ct_dataloader_next(it, &first));
    EXPECT_EQ(dt::shape(first.field[0]), (std::vector<int64_t>{4, 2}));
    EXPECT_EQ(dt::shape(first.field[1]), (std::vector<int64_t>{4}));
    EXPECT_EQ(ct_tensor_dtype(first.field[1]), CT_INT64);
    ct_sample_release(&first);
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
}

TEST(DataLoader, BatchesAreTheSameForAnyNumberOfWorkers) {
    dt::Counting c;
    c.n = 37;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_transform *jitter = ct_transform_new(&jitter_vt, nullptr);
    ct_generator *g = ct_generator_new(123);
    std::vector<Batches> runs;
    for (int workers : {0, 1, 2, 4}) {
        ct_generator_manual_seed(g, 123);
        ct_dataloader_options o = {.batch_size = 5, .shuffle = true, .num_workers = workers, .generator = g};
        o.transforms[0] = jitter;
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        ASSERT_NE(dl, nullptr) << ct_last_error();
        runs.push_back(epoch_of(dl));
        runs.push_back(epoch_of(dl)); // the second epoch: a new order
        ct_dataloader_free(dl);
    }
    ASSERT_EQ(runs[0].size(), 8u);
    for (size_t r = 2; r < runs.size(); r++) EXPECT_EQ(runs[r], runs[r % 2]) << "run " << r;
    EXPECT_NE(labels_of(runs[0]), labels_of(runs[1]));
    for (int e = 0; e < 2; e++) { // each epoch: every sample once, shuffled
        std::vector<int64_t> l = labels_of(runs[(size_t)e]);
        EXPECT_NE(l, iota(37));
        std::sort(l.begin(), l.end());
        EXPECT_EQ(l, iota(37));
    }
    // the transform ran once per sample: each value is its sample's [i, -i] plus a draw in [0, 1)
    const auto &b0 = runs[0][0];
    for (size_t j = 0; j < b0[1].size(); j++) {
        double i = b0[1][j], x0 = b0[0][2 * j], x1 = b0[0][2 * j + 1];
        EXPECT_TRUE(x0 >= i && x0 < i + 1 && x1 >= -i && x1 < -i + 1) << x0 << " " << x1 << " for " << i;
    }
    ct_generator_free(g);
    ct_transform_release(jitter);
    ct_dataset_release(ds);
}

TEST(DataLoader, WithoutAutomaticBatchingSamplesComeAsTheyAre) {
    dt::Counting c;
    c.n = 3;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_dataloader_options o = {.batch_size = CT_BATCH_SIZE_NONE, .num_workers = 2};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    int64_t seen = 0;
    for (ct_sample s; ct_dataloader_next(it, &s); seen++) {
        EXPECT_EQ(dt::shape(s.field[0]), (std::vector<int64_t>{2}));
        EXPECT_EQ(dt::shape(s.field[1]), (std::vector<int64_t>{}));
        EXPECT_EQ(dt::values(s.field[1])[0], (double)seen);
        ct_sample_release(&s);
    }
    EXPECT_EQ(seen, 3);
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

namespace {
// A user collate function: one field, the sum of the samples' labels (and how many samples it got, in ctx).
ct_status sum_labels(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx) {
    int64_t sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (int64_t)dt::values(samples[j].field[1])[0];
    ((std::atomic<int64_t> *)ctx)->fetch_add(n);
    batch->n = 1;
    batch->field[0] = ct_tensor_from_data(&sum, 0, nullptr, CT_INT64, CT_DEVICE_CPU);
    return CT_OK;
}
} // namespace

TEST(DataLoader, UserCollateFunction) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    std::atomic<int64_t> collated{0};
    ct_dataloader_options o = {.batch_size = 4, .num_workers = 2, .collate_fn = sum_labels, .collate_ctx = &collated};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    Batches b = epoch_of(dl);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[0][0][0], 0 + 1 + 2 + 3);
    EXPECT_EQ(b[1][0][0], 4 + 5 + 6 + 7);
    EXPECT_EQ(b[2][0][0], 8 + 9);
    EXPECT_EQ(collated.load(), 10);
    ct_dataloader_free(dl);
    // without automatic batching a user collate_fn sees one sample at a time
    ct_dataloader_options single = {.batch_size = CT_BATCH_SIZE_NONE, .collate_fn = sum_labels, .collate_ctx = &collated};
    dl = ct_dataloader_new(ds, &single);
    EXPECT_EQ(labels_of(epoch_of(dl), 0), iota(10));
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, PaddingCollateForVariableLengthSamples) {
    // sample i: a sequence of i + 1 values all equal to i + 1, and label i
    struct Seqs {
        static int64_t len(void *) { return 5; }
        static ct_status get(void *, int64_t i, ct_sample *out) {
            int64_t n = i + 1, label = i;
            out->n = 2;
            out->field[0] = ct_full(1, &n, (double)(i + 1), CT_FLOAT32, CT_DEVICE_CPU);
            out->field[1] = ct_tensor_from_data(&label, 0, nullptr, CT_INT64, CT_DEVICE_CPU);
            return CT_OK;
        }
    };
    static const ct_dataset_vtable vt = {"Seqs", Seqs::len, Seqs::get, nullptr, nullptr, nullptr, nullptr};
    ct_dataset *ds = ct_dataset_new(&vt, nullptr);
    ct_pad_collate_options pad = {0, true, -1};
    ct_dataloader_options o = {.batch_size = 2, .num_workers = 1, .collate_fn = ct_pad_collate, .collate_ctx = &pad};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    Batches b = epoch_of(dl);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[0][0], (std::vector<double>{1, -1, 2, 2}));           // (2, 2)
    EXPECT_EQ(b[1][0], (std::vector<double>{3, 3, 3, -1, 4, 4, 4, 4})); // (2, 4)
    EXPECT_EQ(b[1][2], (std::vector<double>{3, 4}));                   // lengths
    EXPECT_EQ(b[2][0], (std::vector<double>{5, 5, 5, 5, 5}));
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

namespace {
// A user batch sampler: batches of growing size 1, 2, 3, ... over 0..n-1, in order.
struct Growing {
    int64_t n;
};
int64_t growing_len(void *ctx) {
    int64_t n = ((Growing *)ctx)->n, k = 0;
    for (int64_t used = 0; used < n; k++) used += k + 1;
    return k;
}
ct_status growing_sample(void *ctx, ct_rng *, ct_batch_list *out) {
    int64_t n = ((Growing *)ctx)->n;
    std::vector<int64_t> idx = iota(n);
    for (int64_t start = 0, size = 1; start < n; start += size, size++) {
        ct_status st = ct_batch_list_push(out, std::min(size, n - start), idx.data() + start);
        if (st != CT_OK) return st;
    }
    return CT_OK;
}
const ct_batch_sampler_vtable growing_vt = {"Growing", growing_len, growing_sample, nullptr};
} // namespace

TEST(DataLoader, UserBatchSampler) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    Growing g{10};
    ct_batch_sampler *bs = ct_batch_sampler_new(&growing_vt, &g);
    for (int workers : {0, 3}) {
        ct_dataloader_options o = {.batch_sampler = bs, .num_workers = workers};
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        int64_t n;
        ASSERT_EQ(ct_dataloader_len(dl, &n), CT_OK);
        EXPECT_EQ(n, 4);
        Batches b = epoch_of(dl);
        ASSERT_EQ(b.size(), 4u);
        EXPECT_EQ(b[0][1], (std::vector<double>{0}));
        EXPECT_EQ(b[1][1], (std::vector<double>{1, 2}));
        EXPECT_EQ(b[2][1], (std::vector<double>{3, 4, 5}));
        EXPECT_EQ(b[3][1], (std::vector<double>{6, 7, 8, 9}));
        ct_dataloader_free(dl);
    }
    ct_batch_sampler_release(bs);
    ct_dataset_release(ds);
}

namespace {
bool even(int64_t i, void *) { return i % 2 == 0; }
} // namespace

TEST(DataLoader, SamplerOptionWithAPredicateSampler) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_sampler *evens = ct_predicate_sampler(10, even, nullptr);
    ct_dataloader_options o = {.batch_size = 2, .sampler = evens, .num_workers = 2};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_sampler_release(evens); // the loader holds it
    Batches b = epoch_of(dl);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(labels_of(b), (std::vector<int64_t>{0, 2, 4, 6, 8}));
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, WeightedSamplerBalancesClasses) {
    // 100 samples, labels i; weights make index 0..9 as likely together as 10..99: class balance through weights
    dt::Counting c;
    c.n = 100;
    ct_dataset *ds = dt::counting_dataset(&c);
    std::vector<double> w(100, 1.0);
    for (int i = 0; i < 10; i++) w[(size_t)i] = 9.0;
    ct_sampler *s = ct_weighted_random_sampler(100, w.data(), 4000, true);
    ct_dataloader_options o = {.batch_size = 50, .sampler = s, .num_workers = 2};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    std::vector<int64_t> l = labels_of(epoch_of(dl));
    ASSERT_EQ(l.size(), 4000u);
    int64_t small = std::count_if(l.begin(), l.end(), [](int64_t v) { return v < 10; });
    // p = 90 / 180 = 0.5; binomial sd = sqrt(4000 / 4) = 31.6: within 5 sd
    EXPECT_NEAR((double)small, 2000.0, 5 * 31.7);
    ct_dataloader_free(dl);
    ct_sampler_release(s);
    ct_dataset_release(ds);
}

// ---- iterable datasets ----------------------------------------------------------------------------------------------

TEST(DataLoader, IterableDatasetIsShardedAcrossWorkersWithoutDuplicates) {
    Stream s{23};
    ct_dataset *ds = ct_dataset_new(&stream_vt, &s);
    for (int workers : {0, 1, 2, 3}) {
        for (int64_t bs : {(int64_t)1, (int64_t)4, (int64_t)CT_BATCH_SIZE_NONE}) {
            ct_dataloader_options o = {.batch_size = bs, .num_workers = workers};
            ct_dataloader *dl = ct_dataloader_new(ds, &o);
            std::vector<int64_t> l = labels_of(epoch_of(dl), 0);
            std::sort(l.begin(), l.end());
            EXPECT_EQ(l, iota(23)) << workers << " workers, batch_size " << bs;
            ct_dataloader_free(dl);
        }
    }
    ct_dataset_release(ds);
}

TEST(DataLoader, IterableDatasetBatchesComeFromEachWorkerInTurn) {
    // 2 workers over 0..9 with batch_size 2: worker 0 has 0 2 4 6 8, worker 1 has 1 3 5 7 9
    Stream s{10};
    ct_dataset *ds = ct_dataset_new(&stream_vt, &s);
    ct_dataloader_options o = {.batch_size = 2, .num_workers = 2};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    Batches b = epoch_of(dl);
    ASSERT_EQ(b.size(), 6u);
    EXPECT_EQ(b[0][0], (std::vector<double>{0, 2}));
    EXPECT_EQ(b[1][0], (std::vector<double>{1, 3}));
    EXPECT_EQ(b[2][0], (std::vector<double>{4, 6}));
    EXPECT_EQ(b[3][0], (std::vector<double>{5, 7}));
    EXPECT_EQ(b[4][0], (std::vector<double>{8}));
    EXPECT_EQ(b[5][0], (std::vector<double>{9}));
    ct_dataloader_free(dl);
    // drop_last drops each worker's incomplete last batch
    ct_dataloader_options drop = {.batch_size = 2, .num_workers = 2, .drop_last = true};
    dl = ct_dataloader_new(ds, &drop);
    EXPECT_EQ(labels_of(epoch_of(dl), 0), (std::vector<int64_t>{0, 2, 1, 3, 4, 6, 5, 7}));
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

// ---- workers ---------------------------------------------------------------------------------------------------------

namespace {
struct InitLog {
    std::mutex lock;
    std::map<int, int> calls;
    std::map<int, uint64_t> seeds;
    std::set<int> num_workers;
};
void record_init(int id, void *ctx) {
    InitLog *log = (InitLog *)ctx;
    const ct_worker_info *info = ct_get_worker_info();
    std::lock_guard<std::mutex> g(log->lock);
    log->calls[id]++;
    if (info && info->id == id) log->seeds[id] = info->seed, log->num_workers.insert(info->num_workers);
}
} // namespace

TEST(DataLoader, WorkerInitFnRunsOncePerWorkerWithItsId) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    InitLog log;
    ct_dataloader_options o = {.batch_size = 2, .num_workers = 3, .worker_init_fn = record_init, .worker_init_ctx = &log};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    EXPECT_EQ(epoch_of(dl).size(), 5u);
    EXPECT_EQ(log.calls, (std::map<int, int>{{0, 1}, {1, 1}, {2, 1}}));
    ASSERT_EQ(log.seeds.size(), 3u);
    EXPECT_EQ(log.seeds[1], log.seeds[0] + 1); // base seed + worker id, as PyTorch
    EXPECT_EQ(log.seeds[2], log.seeds[0] + 2);
    EXPECT_EQ(log.num_workers, (std::set<int>{3}));
    EXPECT_EQ(ct_get_worker_info(), nullptr); // not in the calling thread
    // without persistent workers every epoch starts new workers
    epoch_of(dl);
    EXPECT_EQ(log.calls, (std::map<int, int>{{0, 2}, {1, 2}, {2, 2}}));
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, PersistentWorkersServeEveryEpoch) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    InitLog log;
    ct_dataloader_options o = {.batch_size = 3, .num_workers = 2, .worker_init_fn = record_init,
                               .worker_init_ctx = &log, .persistent_workers = true};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    for (int e = 0; e < 3; e++) EXPECT_EQ(labels_of(epoch_of(dl)), iota(10)) << "epoch " << e;
    EXPECT_EQ(log.calls, (std::map<int, int>{{0, 1}, {1, 1}}));
    // a new iterator takes the workers over; the old one stops with CT_ERR_STATE
    ct_dataloader_iter *old_it = ct_dataloader_iter_new(dl);
    ct_sample b;
    ASSERT_TRUE(ct_dataloader_next(old_it, &b));
    ct_sample_release(&b);
    ct_dataloader_iter *new_it = ct_dataloader_iter_new(dl);
    EXPECT_FALSE(ct_dataloader_next(old_it, &b));
    EXPECT_EQ(ct_dataloader_iter_status(old_it), CT_ERR_STATE);
    EXPECT_CT_ERROR(CT_ERR_STATE, "replaced by a newer one");
    int64_t count = 0;
    for (; ct_dataloader_next(new_it, &b); count++) ct_sample_release(&b);
    EXPECT_EQ(count, 4);
    ct_dataloader_iter_free(old_it);
    ct_dataloader_iter_free(new_it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, WorkerErrorsAreReportedAndTheEpochGoesOn) {
    dt::Counting c;
    c.fail_at = 5;
    ct_dataset *ds = dt::counting_dataset(&c);
    for (int workers : {0, 2}) {
        ct_dataloader_options o = {.batch_size = 2, .num_workers = workers};
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        std::vector<double> got;
        ct_sample b;
        for (int call = 0; call < 6; call++) {
            if (ct_dataloader_next(it, &b)) {
                for (double v : dt::values(b.field[1])) got.push_back(v);
                ct_sample_release(&b);
            } else if (call == 2) {
                EXPECT_EQ(ct_dataloader_iter_status(it), CT_ERR_SHAPE);
                EXPECT_CT_ERROR(CT_ERR_SHAPE, workers ? "Caught an error in DataLoader worker 0: ct_empty: Trying to "
                                                        "create tensor with negative dimension -1"
                                                      : "ct_empty: Trying to create tensor with negative dimension -1");
            } else {
                EXPECT_EQ(call, 5) << "only batch 2 fails, and the epoch ends after batch 4";
                EXPECT_EQ(ct_dataloader_iter_status(it), CT_OK);
            }
        }
        EXPECT_EQ(got, (std::vector<double>{0, 1, 2, 3, 6, 7, 8, 9})) << workers << " workers";
        ct_dataloader_iter_free(it);
        ct_dataloader_free(dl);
    }
    ct_dataset_release(ds);
}

TEST(DataLoader, TimeoutWhenAWorkerIsTooSlow) {
    dt::Counting c;
    c.sleep_us = 300000;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_dataloader_options o = {.num_workers = 1, .timeout = 0.05};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ct_sample b;
    EXPECT_FALSE(ct_dataloader_next(it, &b));
    EXPECT_CT_ERROR(CT_ERR_STATE, "DataLoader timed out after 0.05 seconds");
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, PrefetchingIsBoundedByWorkersTimesPrefetchFactor) {
    dt::Counting c;
    c.n = 200;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_dataloader_options o = {.num_workers = 2, .prefetch_factor = 3};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ct_sample b;
    ASSERT_TRUE(ct_dataloader_next(it, &b));
    ct_sample_release(&b);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the workers fill their queues and wait
    EXPECT_LE(c.gets.load(), 1 + 2 * 3);
    EXPECT_GE(c.gets.load(), 2 * 3); // and they did load ahead
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, StoppingMidEpochLeaksNothingAndDoesNotHang) {
    int64_t before = dt::cpu_bytes();
    dt::Counting c;
    c.n = 100000;
    c.sleep_us = 200;
    ct_dataset *ds = dt::counting_dataset(&c);
    auto start = std::chrono::steady_clock::now();
    for (bool persistent : {false, true}) {
        ct_dataloader_options o = {.batch_size = 8, .shuffle = true, .num_workers = 4, .persistent_workers = persistent};
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        for (int epoch = 0; epoch < 2; epoch++) {
            ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
            ct_sample b;
            for (int i = 0; i < 3; i++) {
                ASSERT_TRUE(ct_dataloader_next(it, &b));
                ct_sample_release(&b);
            }
            ct_dataloader_iter_free(it); // workers busy, queues full: stop now
        }
        // the loader freed first, with an iterator still running: the iterator keeps it alive
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        ct_dataloader_free(dl);
        ct_sample b;
        ASSERT_TRUE(ct_dataloader_next(it, &b));
        ct_sample_release(&b);
        ct_dataloader_iter_free(it);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0); // a full epoch would take 100000 * 200 us / 4 = 5 s
    EXPECT_LT(c.gets.load(), 2000);
    ct_dataset_release(ds);
    EXPECT_EQ(dt::cpu_bytes(), before);
}

TEST(DataLoader, PinMemoryDeliversPinnedBatchesWhenAGpuExists) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    std::atomic<int64_t> collated{0};
    for (bool user_collate : {false, true}) {
        ct_dataloader_options o = {.batch_size = 4, .num_workers = 1, .pin_memory = true};
        if (user_collate) o.collate_fn = sum_labels, o.collate_ctx = &collated;
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        ct_sample b;
        ASSERT_TRUE(ct_dataloader_next(it, &b));
        for (int k = 0; k < b.n; k++) EXPECT_EQ(ct_is_pinned(b.field[k]), ct_cuda_is_available()) << k;
        std::vector<double> expect = user_collate ? std::vector<double>{6} : std::vector<double>{0, 1, 2, 3};
        EXPECT_EQ(dt::values(b.field[user_collate ? 0 : 1]), expect);
        ct_sample_release(&b);
        ct_dataloader_iter_free(it);
        ct_dataloader_free(dl);
    }
    ct_dataset_release(ds);
}

TEST(DataLoader, PinnedBatchesAreTheSameAsUnpinnedOnesForAnyNumberOfWorkers) {
    dt::Counting c;
    c.n = 23;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_transform *jitter = ct_transform_new(&jitter_vt, nullptr);
    ct_generator *g = ct_generator_new(7);
    Batches reference;
    for (bool pin : {false, true})
        for (int workers : {0, 1, 2}) {
            ct_generator_manual_seed(g, 7);
            ct_dataloader_options o = {.batch_size = 4, .shuffle = true, .num_workers = workers, .pin_memory = pin,
                                       .generator = g};
            o.transforms[0] = jitter;
            ct_dataloader *dl = ct_dataloader_new(ds, &o);
            ASSERT_NE(dl, nullptr) << ct_last_error();
            Batches run = epoch_of(dl);
            ct_dataloader_free(dl);
            if (reference.empty()) reference = run;
            EXPECT_EQ(run, reference) << "pin_memory " << pin << ", " << workers << " workers";
        }
    EXPECT_EQ(reference.size(), 6u);
    ct_generator_free(g);
    ct_transform_release(jitter);
    ct_dataset_release(ds);
}

// The training loop's move of a pinned batch (data.h, "Batches on a GPU"): ct_to_device_async on each field, then
// the batch is released at once. On the CPU the "move" is the tensor itself; on a GPU (below) an asynchronous copy.
void move_pinned_batches(ct_device device, int workers) {
    dt::Counting c;
    c.n = 12;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_dataloader_options o = {.batch_size = 4, .num_workers = workers, .pin_memory = true};
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ASSERT_NE(it, nullptr) << ct_last_error();
    std::vector<ct_tensor *> xs, ys;
    for (ct_sample b; ct_dataloader_next(it, &b);) {
        EXPECT_EQ(ct_is_pinned(b.field[0]), ct_cuda_is_available()) << "page-locked by the loader when a GPU exists";
        ct_tensor *x = ct_to_device_async(b.field[0], device), *y = ct_to_device_async(b.field[1], device);
        ASSERT_NE(x, nullptr) << ct_last_error();
        ASSERT_NE(y, nullptr) << ct_last_error();
        EXPECT_TRUE(ct_device_equal(ct_tensor_device(x), device));
        ct_sample_release(&b); // while the copies may still run: the pinned blocks wait for them
        xs.push_back(ct_mul_scalar(x, 2)), ys.push_back(y); // a kernel queued behind the copy
        ct_release(x);
    }
    EXPECT_EQ(ct_dataloader_iter_status(it), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_synchronize(device), CT_OK) << ct_last_error();
    ASSERT_EQ(xs.size(), 3u);
    for (size_t k = 0; k < xs.size(); k++) {
        std::vector<double> x, y;
        for (int64_t i = 4 * (int64_t)k; i < 4 * (int64_t)k + 4; i++) x.push_back(2.0 * i), x.push_back(-2.0 * i), y.push_back(i);
        EXPECT_EQ(dt::values(xs[k]), x) << "batch " << k;
        EXPECT_EQ(dt::values(ys[k]), y) << "batch " << k;
        ct_release(xs[k]), ct_release(ys[k]);
    }
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}

TEST(DataLoader, PinnedBatchesMoveWithTheNonBlockingCopy) {
    for (int workers : {0, 2}) move_pinned_batches(CT_DEVICE_CPU, workers);
}

TEST(DataLoader, PinnedBatchesMoveToAGpuWithTheNonBlockingCopy) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    for (int workers : {0, 2}) move_pinned_batches(CT_DEVICE_CUDA(0), workers);
}

TEST(DataLoader, BatchesBelongToTheCallersScope) {
    int64_t before = dt::cpu_bytes();
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    for (int workers : {0, 2}) {
        ct_dataloader_options o = {.batch_size = 3, .shuffle = true, .num_workers = workers};
        ct_dataloader *dl = ct_dataloader_new(ds, &o);
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        ct_scope_begin();
        ct_sample b;
        int batches = 0;
        while (ct_dataloader_next(it, &b)) batches++; // never released: the scope owns them
        ASSERT_EQ(ct_scope_end(), CT_OK);
        EXPECT_EQ(batches, 4);
        ct_dataloader_iter_free(it);
        ct_dataloader_free(dl);
    }
    ct_dataset_release(ds);
    EXPECT_EQ(dt::cpu_bytes(), before);
}

TEST(DataLoader, TransformForAMissingFieldIsAnError) {
    dt::Counting c;
    ct_dataset *ds = dt::counting_dataset(&c);
    ct_transform *t = ct_transform_to_float();
    ct_dataloader_options o = {.batch_size = 2};
    o.transforms[3] = t;
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_transform_release(t);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ct_sample b;
    EXPECT_FALSE(ct_dataloader_next(it, &b));
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "a transform is given for field 3, but samples have 2 fields");
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_dataset_release(ds);
}
