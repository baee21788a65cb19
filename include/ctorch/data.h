/* ctorch/data.h: datasets, samplers, collation, transforms and the DataLoader (torch.utils.data in C).
 *
 * The pipeline (DESIGN.md decision 7): a sampler orders the dataset's indices for an epoch, a batch sampler groups
 * them into batches, workers fetch each batch's samples from the dataset, apply the transforms and collate them
 * into one batch, and the loader hands the batches out in order.
 *
 *   ct_dataset *ds = ct_tensor_dataset(2, (ct_tensor *[]){images, labels});
 *   ct_dataloader *dl = ct_dataloader_new(ds, &(ct_dataloader_options){.batch_size = 64, .shuffle = true,
 *                                                                      .num_workers = 2});
 *   ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
 *   for (ct_sample batch; ct_dataloader_next(it, &batch);) {
 *       ... batch.field[0] is (64, ...), batch.field[1] is (64,) ...
 *       ct_sample_release(&batch);
 *   }
 *   if (ct_dataloader_iter_status(it) != CT_OK) ... ct_last_error() says what went wrong
 *   ct_dataloader_iter_free(it);
 *   ct_dataloader_free(dl);
 *   ct_dataset_release(ds);
 *
 * Users write their own datasets, samplers, batch samplers, collate functions and transforms in plain C by filling a
 * vtable with designated initialisers (examples with each type below).
 *
 * Ownership. Datasets, samplers, batch samplers and transforms are reference counted: a constructor returns one
 * reference, *_release drops one, and whatever holds on to one (a Subset its dataset, a loader its dataset and
 * samplers) takes its own reference, so the caller may release theirs at once. Tensors handed out (a sample's
 * fields, a batch) are new references owned as tensor.h says: by the innermost scope open on the calling thread,
 * or else by the caller, who drops them with ct_release or ct_sample_release. Worker threads have no scope open.
 *
 * Threads. A map-style dataset's get, a collate function and a transform may be called from several worker threads
 * at once: they must not change shared state without their own locking. A loader and its iterators are used from
 * one thread at a time. Errors are reported as everywhere in ctorch: NULL or a ct_status, and ct_last_error(). */
#ifndef CTORCH_DATA_H
#define CTORCH_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "io.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- samples -------------------------------------------------------------------------------------------------- */

#define CT_SAMPLE_MAX_FIELDS 8

/* One sample (or one batch): a few tensors, e.g. {image, label}. */
typedef struct ct_sample {
    int n;
    ct_tensor *field[CT_SAMPLE_MAX_FIELDS];
} ct_sample;

/* Releases every field and sets n to 0. NULL-safe. */
void ct_sample_release(ct_sample *sample);

/* ---- random numbers for samplers and transforms ---------------------------------------------------------------- */

/* A small seeded generator (SplitMix64): what samplers and transforms draw from. The loader seeds one per epoch for
 * its sampler and one per sample and field for the transforms, so results depend on the seed only, never on the
 * number of workers or the timing of threads. Seeding: ct_rng rng = {seed}. */
typedef struct ct_rng {
    uint64_t state;
} ct_rng;

uint64_t ct_rng_next(ct_rng *rng);
/* Uniform on [0, 1) with 53 random bits. */
double ct_rng_uniform(ct_rng *rng);
/* Uniform on [0, n), without bias (n > 0). */
int64_t ct_rng_below(ct_rng *rng, int64_t n);

/* ---- datasets ------------------------------------------------------------------------------------------------- */

typedef struct ct_dataset ct_dataset;

/* A dataset type. Map-style: len and get. Iterable-style: iter_begin and iter_next (len optional: without it the
 * loader has no length). Example of a map-style one:
 *
 *   static int64_t squares_len(void *ctx) { return 10; }
 *   static ct_status squares_get(void *ctx, int64_t i, ct_sample *out) {
 *       double v = (double)(i * i);
 *       out->n = 1;
 *       out->field[0] = ct_tensor_from_data(&v, 0, NULL, CT_FLOAT64, CT_DEVICE_CPU);
 *       return out->field[0] ? CT_OK : ct_last_status();
 *   }
 *   static const ct_dataset_vtable squares = {.name = "Squares", .len = squares_len, .get = squares_get};
 *   ct_dataset *ds = ct_dataset_new(&squares, NULL);
 */
typedef struct ct_dataset_vtable {
    const char *name; /* the type's name, for messages ("TensorDataset") */
    /* Number of samples. Required for map-style datasets. */
    int64_t (*len)(void *ctx);
    /* Sample index (0 <= index < len, checked before the call) into out: out->n fields, new references. Called from
     * worker threads, possibly concurrently. Returns CT_OK or an error (set with ct_last_error's machinery). */
    ct_status (*get)(void *ctx, int64_t index, ct_sample *out);
    /* Iterable-style: starts one pass, storing its state in *iter. Called in the thread that will call iter_next:
     * ct_get_worker_info() there tells which share of the data this pass must produce (NULL: all of it). */
    ct_status (*iter_begin)(void *ctx, void **iter);
    /* The next sample into out, or *end = true (out untouched) when the pass is over. */
    ct_status (*iter_next)(void *ctx, void *iter, ct_sample *out, bool *end);
    /* Ends a pass (frees iter). May be NULL. */
    void (*iter_end)(void *ctx, void *iter);
    /* Frees ctx when the last reference to the dataset goes. May be NULL. */
    void (*destroy)(void *ctx);
} ct_dataset_vtable;

/* A dataset of a user's type. vtable must outlive the dataset (a static const table); ctx is owned by it from now
 * on (destroy is called on it, also when this call fails). Errors: a vtable with neither get+len nor
 * iter_begin+iter_next. */
ct_dataset *ct_dataset_new(const ct_dataset_vtable *vtable, void *ctx);
ct_dataset *ct_dataset_retain(ct_dataset *ds);
/* Drops one reference; the last one destroys the dataset. NULL-safe. */
void ct_dataset_release(ct_dataset *ds);
bool ct_dataset_is_iterable(const ct_dataset *ds);
/* The vtable's name. */
const char *ct_dataset_name(const ct_dataset *ds);
/* Number of samples. Fails (CT_ERR_STATE, "object of type 'X' has no len()") for an iterable dataset without len. */
ct_status ct_dataset_len(const ct_dataset *ds, int64_t *out);
/* Sample index into out (new references). A negative index counts from the end, as in Python. Errors: CT_ERR_INDEX
 * ("index 10 is out of bounds for dimension 0 with size 10"), CT_ERR_STATE for an iterable dataset. */
ct_status ct_dataset_get(ct_dataset *ds, int64_t index, ct_sample *out);

/* TensorDataset: sample i is {tensors[0][i], ..., tensors[n-1][i]} (views, no copy). The tensors are retained and
 * must agree in size(0). 1 <= n <= CT_SAMPLE_MAX_FIELDS. Errors: "Size mismatch between tensors". */
ct_dataset *ct_tensor_dataset(int n, ct_tensor *const *tensors);
/* Subset: sample i is ds's sample indices[i]. indices are copied (and checked against ds's length when used). */
ct_dataset *ct_subset(ct_dataset *ds, int64_t n, const int64_t *indices);
/* ConcatDataset: the samples of datasets[0], then datasets[1], ... Map-style datasets only (PyTorch's errors:
 * "datasets should not be an empty iterable", "ConcatDataset does not support IterableDataset"). */
ct_dataset *ct_concat_dataset(int n, ct_dataset *const *datasets);
/* random_split with lengths: out[k] (k < n) is a Subset of ds with lengths[k] samples, together a random
 * permutation of ds drawn from gen (NULL: the default generator). The lengths must add up to len(ds): "Sum of input
 * lengths does not equal the length of the input dataset!". On failure no out[k] is set. */
ct_status ct_random_split(ct_dataset *ds, int n, const int64_t *lengths, ct_generator *gen, ct_dataset **out);
/* random_split with fractions that add up to 1: each split gets floor(len * fraction) samples, and what is left
 * over is given out one sample at a time to splits 0, 1, 2, ... in turn (PyTorch's rule).
 * Errors: "Fraction at index 1 is not between 0 and 1"; fractions not adding up to 1. */
ct_status ct_random_split_fractions(ct_dataset *ds, int n, const double *fractions, ct_generator *gen,
                                    ct_dataset **out);

/* ---- worker info ---------------------------------------------------------------------------------------------- */

typedef struct ct_worker_info {
    int id;             /* 0 .. num_workers-1 */
    int num_workers;
    uint64_t seed;      /* the epoch's base seed + id, as PyTorch (fixed at the first epoch for persistent workers) */
    ct_dataset *dataset;
} ct_worker_info;

/* In a loader's worker thread, that worker's info (valid for the thread's life); NULL elsewhere. An iterable
 * dataset uses it to produce only its share, e.g. samples id, id + num_workers, id + 2 num_workers, ... */
const ct_worker_info *ct_get_worker_info(void);

/* ---- samplers ------------------------------------------------------------------------------------------------- */

typedef struct ct_sampler ct_sampler;

/* A sampler type: one epoch's sequence of dataset indices. sample writes exactly len(ctx) indices, drawing any
 * randomness from rng (seeded per epoch by the loader). */
typedef struct ct_sampler_vtable {
    const char *name;
    int64_t (*len)(void *ctx);
    ct_status (*sample)(void *ctx, ct_rng *rng, int64_t *out);
    void (*destroy)(void *ctx); /* may be NULL */
} ct_sampler_vtable;

/* A sampler of a user's type (ctx owned from now on, as ct_dataset_new). */
ct_sampler *ct_sampler_new(const ct_sampler_vtable *vtable, void *ctx);
ct_sampler *ct_sampler_retain(ct_sampler *s);
void ct_sampler_release(ct_sampler *s);
int64_t ct_sampler_len(const ct_sampler *s);
/* One epoch's ct_sampler_len(s) indices into out, from a generator seeded with seed. */
ct_status ct_sampler_indices(ct_sampler *s, uint64_t seed, int64_t *out);

/* SequentialSampler over a dataset of n samples: 0, 1, ..., n-1. */
ct_sampler *ct_sequential_sampler(int64_t n);
/* RandomSampler: num_samples indices of 0..n-1 (num_samples 0: n). Without replacement, a random permutation (for
 * num_samples > n, whole permutations one after another, then part of one); with replacement, independent uniform
 * draws. Errors: "num_samples should be a positive integer value, but got num_samples=-1" (also for an empty
 * dataset without num_samples, as PyTorch). */
ct_sampler *ct_random_sampler(int64_t n, bool replacement, int64_t num_samples);
/* SubsetRandomSampler: the given indices (copied) in a random order each epoch. */
ct_sampler *ct_subset_random_sampler(int64_t n, const int64_t *indices);
/* WeightedRandomSampler: num_samples indices of 0..n-1 drawn with probabilities weights[i] / sum (copied), with or
 * without replacement (torch.multinomial's rules and errors: weights finite and >= 0, sum > 0, and without
 * replacement no more samples than nonzero weights). */
ct_sampler *ct_weighted_random_sampler(int64_t n, const double *weights, int64_t num_samples, bool replacement);
/* The indices i of 0..n-1 for which keep(i, ctx) is true, in order (e.g. only the even ones). ctx is borrowed and
 * must outlive the sampler. */
ct_sampler *ct_predicate_sampler(int64_t n, bool (*keep)(int64_t index, void *ctx), void *ctx);

/* ---- batch samplers --------------------------------------------------------------------------------------------- */

/* One epoch's batches of indices (variable sizes). */
typedef struct ct_batch_list ct_batch_list;
ct_batch_list *ct_batch_list_new(void);
/* Appends a batch of n >= 1 indices (copied). */
ct_status ct_batch_list_push(ct_batch_list *list, int64_t n, const int64_t *indices);
int64_t ct_batch_list_count(const ct_batch_list *list);
/* Batch k's indices (valid until the list changes or is freed); its size in *n. NULL (and an error) for k out of
 * range. */
const int64_t *ct_batch_list_at(const ct_batch_list *list, int64_t k, int64_t *n);
void ct_batch_list_free(ct_batch_list *list);

typedef struct ct_batch_sampler ct_batch_sampler;

/* A batch sampler type: len is the number of batches per epoch; sample pushes one epoch's batches onto out. */
typedef struct ct_batch_sampler_vtable {
    const char *name;
    int64_t (*len)(void *ctx);
    ct_status (*sample)(void *ctx, ct_rng *rng, ct_batch_list *out);
    void (*destroy)(void *ctx); /* may be NULL */
} ct_batch_sampler_vtable;

ct_batch_sampler *ct_batch_sampler_new(const ct_batch_sampler_vtable *vtable, void *ctx);
ct_batch_sampler *ct_batch_sampler_retain(ct_batch_sampler *bs);
void ct_batch_sampler_release(ct_batch_sampler *bs);
int64_t ct_batch_sampler_len(const ct_batch_sampler *bs);
/* One epoch's batches from a generator seeded with seed: a new list the caller frees. */
ct_batch_list *ct_batch_sampler_batches(ct_batch_sampler *bs, uint64_t seed);
/* BatchSampler: sampler's indices in groups of batch_size, the last one smaller unless drop_last. Its length is
 * len / batch_size (drop_last) or ceil(len / batch_size). Errors: "batch_size should be a positive integer value,
 * but got batch_size=0". sampler is retained. */
ct_batch_sampler *ct_batch_sampler_from(ct_sampler *sampler, int64_t batch_size, bool drop_last);

/* ---- collation ------------------------------------------------------------------------------------------------- */

/* Merges n samples into one batch (new references in batch). Called from worker threads. */
typedef ct_status (*ct_collate_fn)(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx);

/* default_collate: field k of the batch stacks field k of every sample along a new dim 0, so n samples of shape
 * (3, 4) give a (n, 3, 4) batch field (a 0-d label gives a (n,) field). Errors: samples with different numbers of
 * fields ("each element in list of batch should be of equal size"), shapes ("stack expects each tensor to be equal
 * size, but got [3] at entry 0 and [4] at entry 1"), dtypes or devices. ctx is unused. */
ct_status ct_default_collate(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx);

/* pad_sequence: sequences of shapes (L_i, *) (the same * for all) padded with padding_value to the longest L into
 * (B, L, *) when batch_first, else (L, B, *). Errors: "received an empty list of sequences", a 0-d sequence,
 * different trailing shapes, dtypes or devices. */
ct_tensor *ct_pad_sequence(int64_t n, ct_tensor *const *sequences, bool batch_first, double padding_value);

typedef struct ct_pad_collate_options {
    int field;            /* which field holds the variable-length sequences (default 0) */
    bool batch_first;     /* as pad_sequence (default false, as PyTorch) */
    double padding_value; /* default 0 */
} ct_pad_collate_options;

/* A collate function for variable-length samples: the chosen field goes through ct_pad_sequence, the others are
 * stacked as default_collate does, and one more field is appended: the lengths L_i as an int64 (n,) tensor.
 * ctx: a const ct_pad_collate_options * (NULL: defaults), borrowed. */
ct_status ct_pad_collate(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx);

/* ---- transforms ------------------------------------------------------------------------------------------------- */

typedef struct ct_transform ct_transform;

/* A transform type: apply returns a new reference made from x, drawing any randomness from rng. It must not change
 * x; when nothing changes it may return ct_alias(x). Called from worker threads. */
typedef struct ct_transform_vtable {
    const char *name;
    ct_tensor *(*apply)(void *ctx, const ct_tensor *x, ct_rng *rng);
    void (*destroy)(void *ctx); /* may be NULL */
} ct_transform_vtable;

ct_transform *ct_transform_new(const ct_transform_vtable *vtable, void *ctx);
ct_transform *ct_transform_retain(ct_transform *t);
void ct_transform_release(ct_transform *t);
/* Applies t to x with a generator seeded with seed. */
ct_tensor *ct_transform_apply(ct_transform *t, const ct_tensor *x, uint64_t seed);

/* uint8 images to float32 scaled by 1/255 (values in [0, 1]), floating tensors to float32 unscaled. */
ct_transform *ct_transform_to_float(void);
/* (x - mean[c]) / std[c] for each channel c of a float (..., C, H, W) image; n is 1 (every channel) or C. Errors:
 * "std evaluated to zero after conversion to float32, leading to division by zero." (at construction for a zero),
 * "Input tensor should be a float tensor. Got uint8.", fewer than 3 dims. */
ct_transform *ct_transform_normalize(int n, const double *mean, const double *std);
/* Mirrors the last dim (width) with probability p. */
ct_transform *ct_transform_random_horizontal_flip(double p);
/* Pads the last two dims (height, width) with `padding` zeros on each side, then cuts a random height x width
 * window. Error (sizes after padding): "Required crop size (40, 40) is larger than input image size (36, 36)". */
ct_transform *ct_transform_random_crop(int64_t height, int64_t width, int64_t padding);
/* Applies ts[0], then ts[1], ... (each retained). Each step draws from its own generator derived from the seed. */
ct_transform *ct_transform_compose(int n, ct_transform *const *ts);

/* ---- the loader ------------------------------------------------------------------------------------------------- */

/* batch_size value that turns automatic batching off: each sample is delivered as it is (as batch_size=None). */
#define CT_BATCH_SIZE_NONE (-1)

/* The DataLoader's options, PyTorch's names and defaults; the zero value of each field is its default. */
typedef struct ct_dataloader_options {
    int64_t batch_size;               /* 0: 1; CT_BATCH_SIZE_NONE: no automatic batching */
    bool shuffle;                     /* a RandomSampler, reshuffled every epoch */
    ct_sampler *sampler;              /* retained; mutually exclusive with shuffle */
    ct_batch_sampler *batch_sampler;  /* retained; exclusive with batch_size, shuffle, sampler, drop_last */
    int num_workers;                  /* worker threads; 0: load in the calling thread */
    ct_collate_fn collate_fn;         /* NULL: ct_default_collate (identity without automatic batching) */
    void *collate_ctx;                /* passed to collate_fn, borrowed */
    bool pin_memory;                  /* batches in page-locked memory (ct_pin_memory), see "Batches on a GPU" */
    bool drop_last;                   /* drop the last incomplete batch */
    double timeout;                   /* seconds to wait for a worker's batch (with workers); 0: forever */
    void (*worker_init_fn)(int worker_id, void *ctx); /* called in each worker thread before it loads anything */
    void *worker_init_ctx;
    ct_generator *generator;          /* borrowed; each epoch draws its base seed from it; NULL: default generator */
    int prefetch_factor;              /* batches loaded in advance by each worker; 0: unspecified (2 with workers) */
    bool persistent_workers;          /* keep the workers between epochs */
    /* transforms[k] (retained) is applied to field k of every sample, in the workers, before collation; the
     * generator of sample i (its position in the epoch), field k is seeded from the epoch's base seed, i and k. */
    ct_transform *transforms[CT_SAMPLE_MAX_FIELDS];
} ct_dataloader_options;

typedef struct ct_dataloader ct_dataloader;
typedef struct ct_dataloader_iter ct_dataloader_iter;

/* Batches on a GPU. As in PyTorch, the loader delivers CPU batches and the training loop moves them. With
 * pin_memory, each batch is collated straight into page-locked memory by the worker that makes it (a user
 * collate_fn's batch is pinned after it), so the move is a non-blocking copy (ct_to_device_async, tensor.h): it
 * returns at once, the kernels of the step are queued behind it on the same stream, and the workers keep loading
 * meanwhile. Releasing the pinned batch right away is safe: its memory is reused only after the copy is over.
 *
 *     ct_dataloader_options o = {.batch_size = 64, .shuffle = true, .num_workers = 2, .pin_memory = true};
 *     ...
 *     while (ct_dataloader_next(it, &b)) {
 *         ct_scope_begin();
 *         ct_tensor *x = ct_to_device_async(b.field[0], gpu), *y = ct_to_device_async(b.field[1], gpu);
 *         ct_sample_release(&b);                    // fine: the copies finish before the blocks are reused
 *         ... forward, backward, step on x and y ...
 *         ct_scope_end();
 *     }
 *
 * Without pin_memory (or without a GPU) the same calls are synchronous copies. */

/* A loader over ds (retained) with options (NULL: all defaults). The option rules and errors are PyTorch's:
 * "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.",
 * "timeout option should be non-negative", "prefetch_factor option could only be specified in multiprocessing...",
 * "prefetch_factor option should be non-negative", "persistent_workers option needs num_workers > 0",
 * "DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=True" (also sampler,
 * batch_sampler), "sampler option is mutually exclusive with shuffle",
 * "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last",
 * "batch_size=None option disables auto-batching and is mutually exclusive with drop_last",
 * "batch_size should be a positive integer value, but got batch_size=-3". */
ct_dataloader *ct_dataloader_new(ct_dataset *ds, const ct_dataloader_options *options);
/* Drops the caller's reference: the loader goes when its last iterator is freed too (joining any persistent
 * workers). NULL-safe. */
void ct_dataloader_free(ct_dataloader *dl);
/* Number of batches per epoch, as len(loader): the batch sampler's length, or for an iterable dataset
 * len(dataset) / batch_size rounded down (drop_last) or up. Error for an iterable dataset without len. */
ct_status ct_dataloader_len(const ct_dataloader *dl, int64_t *out);

/* Starts an epoch (iter(loader)): draws the epoch's base seed from the generator, runs the samplers, and starts the
 * workers (or, with persistent workers, sets them on the new epoch; an older iterator of the loader then stops
 * with CT_ERR_STATE). The iterator holds a reference to the loader. */
ct_dataloader_iter *ct_dataloader_iter_new(ct_dataloader *dl);
/* The next batch into *batch (new references): true; false at the end of the epoch or on an error, which
 * ct_dataloader_iter_status then tells apart. Batches come in the sampler's order whatever the number of workers
 * (for an iterable dataset, in turn from each worker, as PyTorch). A worker's error is reported as
 * "Caught an error in DataLoader worker 1: <its message>"; the next call goes on with the next batch. */
bool ct_dataloader_next(ct_dataloader_iter *it, ct_sample *batch);
/* CT_OK after a batch or at the clean end of the epoch; the error of the last ct_dataloader_next otherwise. */
ct_status ct_dataloader_iter_status(const ct_dataloader_iter *it);
/* Ends the epoch, even in the middle: the workers stop after the batch they are on (non-persistent ones are
 * joined) and batches loaded in advance are released. NULL-safe. */
void ct_dataloader_iter_free(ct_dataloader_iter *it);

/* ---- data files --------------------------------------------------------------------------------------------------- */

/* Where Debian's dataset-fashion-mnist package puts the files. */
#define CT_FASHION_MNIST_DEFAULT_ROOT "/usr/share/datasets/fashion-mnist"

/* MNIST-style pair of IDX files (images N x H x W uint8, labels N uint8) as a TensorDataset of {image, label}:
 * images as a (N, 1, H, W) uint8 tensor (one channel, ready for ct_transform_to_float and a CNN), labels as int64
 * (N,). Errors: those of ct_idx_read, files of the wrong kind, different counts of images and labels. */
ct_dataset *ct_mnist_dataset(const char *images_path, const char *labels_path);
/* Fashion-MNIST (or MNIST) from a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte, each plain or
 * ".gz": the 60000 training samples (train) or the 10000 test samples. root NULL: CT_FASHION_MNIST_DEFAULT_ROOT.
 * Error CT_ERR_IO naming the missing file. */
ct_dataset *ct_fashion_mnist(const char *root, bool train);
/* A CSV of numbers as a TensorDataset {features (rows, columns-1) of options->dtype, label (rows,) of label_dtype}:
 * label_column (negative: from the end) is taken out of the features. */
ct_dataset *ct_csv_dataset(const char *path, const ct_csv_options *options, int label_column, ct_dtype label_dtype);

#ifdef __cplusplus
}
#endif
#endif
