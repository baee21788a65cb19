"""PyTorch counterparts of bench/bench_optim.c for bench/compare.py: the same optimizer step over the same tensors.

The shape "4x250000" means 4 float32 parameters of 250000 elements, each with a gradient, in one group. PyTorch runs
with its defaults, as its users do: the for-each (multi-tensor) implementation on CUDA, the for-loop one on the CPU.
"""


def register(case, dims, DTYPES):
    import torch

    def params(shape, dtype, dev):
        count, each = dims(shape)
        ps = [torch.rand(each, dtype=dtype, device=dev) for _ in range(count)]
        for p in ps:
            p.grad = torch.rand_like(p)
        return ps

    def stepper(opt):
        opt.step()  # makes the state, as ctorch's warm-up call does
        return opt.step

    @case("optim", "sgd_momentum")
    def _(shape, dtype, dev):
        return stepper(torch.optim.SGD(params(shape, dtype, dev), lr=0.01, momentum=0.9))

    @case("optim", "adamw")
    def _(shape, dtype, dev):
        return stepper(torch.optim.AdamW(params(shape, dtype, dev)))
