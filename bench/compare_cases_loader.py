"""PyTorch counterparts of bench/bench_loader.c for bench/compare.py: a torch.utils.data.DataLoader over the same
Fashion-MNIST training set, and the same host-to-device copies.

Loader cases ("raw_workers0" ... "augmented_workers2", shape = the data source):
- the 60000 training images read from Debian's dataset-fashion-mnist files (runtime/data/files.c reads the same
  ones), as a (60000, 1, 28, 28) uint8 tensor and int64 labels; "random" (ctorch's stand-in when the files are
  missing) makes random uint8 images of that shape here too;
- batches of 64, shuffled, num_workers 0/1/2 (worker processes: PyTorch's default fork start on Linux), PyTorch's
  default prefetch_factor (2) as ctorch's;
- "augmented": the same steps as ctorch's transforms, written with torch ops in the Dataset's __getitem__ (to float
  /255, normalize with mean 0.2860 and std 0.3530, horizontal flip with probability 0.5, random 28 x 28 crop after
  zero padding of 4), applied per sample in the workers as in ctorch;
- on CUDA, pin_memory=True and each batch moved with .to(device, non_blocking=True), as bench_loader does with
  ct_to_device_async.

How it is timed (compare.py times one call of the returned function): one call takes the next batch (a new epoch
iterator when one runs out), so the median of compare.py's repetitions is the steady-state time per batch.
bench_loader's figure is one timed run of 100 (--quick) or 938 batches from a fresh iterator, per batch: it includes
starting the epoch (threads there; forking worker processes here, which this median leaves out, in PyTorch's
favour).

H2D cases ("h2d_pageable", "h2d_pinned", and their "_async" forms): copy_ of a float32 tensor of `shape` elements into
a CUDA tensor, from ordinary or pinned memory, with non_blocking False/True; compare.py synchronises after each.
"""
import gzip
import os

import numpy as np
import torch
import torch.nn.functional as F

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # CT_FASHION_MNIST_DEFAULT_ROOT (include/ctorch/data.h)
BATCH = 64
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """An IDX file (plain or .gz) as a numpy array: magic 0x0000 0x08 (uint8) ndim, then ndim big-endian sizes."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(root, name):
    for candidate in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(os.path.join(root, name))


_DATA = {}


def training_set(source):
    """(images (N, 1, 28, 28) uint8, labels (N,) int64) as torch tensors, read once per process."""
    if source not in _DATA:
        if source == "random":
            g = torch.Generator().manual_seed(0)
            images = torch.randint(0, 256, (60000, 1, 28, 28), dtype=torch.uint8, generator=g)
            labels = torch.randint(0, 10, (60000,), dtype=torch.int64, generator=g)
        else:
            images = torch.from_numpy(read_idx(find(FASHION_MNIST, "train-images-idx3-ubyte")).copy()).unsqueeze(1)
            labels = torch.from_numpy(read_idx(find(FASHION_MNIST, "train-labels-idx1-ubyte")).astype(np.int64))
        _DATA[source] = (images, labels)
    return _DATA[source]


class FashionMNIST(torch.utils.data.Dataset):
    """Sample i: (image (1, 28, 28), label); augmented: float32 with ctorch's four transform steps."""

    def __init__(self, images, labels, augmented):
        self.images, self.labels, self.augmented = images, labels, augmented

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        x, y = self.images[i], self.labels[i]
        if self.augmented:
            x = x.float().div_(255)                        # to float
            x = (x - MEAN) / STD                           # normalize
            if torch.rand(()) < 0.5:                       # random horizontal flip
                x = x.flip(-1)
            x = F.pad(x, (4, 4, 4, 4))                     # random crop 28 x 28 with padding 4
            top, left = torch.randint(0, 9, (2,)).tolist()
            x = x[:, top:top + 28, left:left + 28]
        return x, y


def register(case, dims, DTYPES):

    def loader_case(augmented, workers):
        name = f"{'augmented' if augmented else 'raw'}_workers{workers}"

        @case("loader", name)
        def _(shape, dtype, dev):
            images, labels = training_set(shape)
            cuda = dev.startswith("cuda")
            dl = torch.utils.data.DataLoader(FashionMNIST(images, labels, augmented), batch_size=BATCH, shuffle=True,
                                             num_workers=workers, pin_memory=cuda,
                                             generator=torch.Generator().manual_seed(0))
            state = {"it": iter(dl)}

            def next_batch():
                try:
                    x, y = next(state["it"])
                except StopIteration:
                    state["it"] = iter(dl)
                    x, y = next(state["it"])
                if cuda:
                    x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)

            return next_batch

    for augmented in (False, True):
        for workers in (0, 1, 2):
            loader_case(augmented, workers)

    def h2d_case(name, pinned, non_blocking):
        @case("loader", name)
        def _(shape, dtype, dev):
            src = torch.rand(dims(shape), dtype=dtype)
            if pinned:
                src = src.pin_memory()
            dst = torch.empty(src.shape, dtype=dtype, device=dev)
            return lambda: dst.copy_(src, non_blocking=non_blocking)

    h2d_case("h2d_pageable", False, False)
    h2d_case("h2d_pinned", True, False)
    h2d_case("h2d_pageable_async", False, True)
    h2d_case("h2d_pinned_async", True, True)
