"""PyTorch counterpart of bench/bench_cnn.c for bench/compare.py: the same CNN training step on the same sizes.

Model: conv 1->16 3x3 pad 1, relu, max_pool 2, conv 16->32 3x3 pad 1, relu, max_pool 2, linear 32*7*7 -> 10; loss
-mean(log_softmax(logits)[i, label_i]) (as ctorch's step writes it, which equals F.cross_entropy); AdamW with
PyTorch's defaults; one fixed batch of 64 float32 images [64, 1, 28, 28] on the device. The loader records of
bench_cnn are bench_loader's and are compared by bench/compare_cases_loader.py where it exists; the fed-by-loader
figures have no counterpart here.
"""


def register(case, dims, DTYPES):
    import torch
    import torch.nn.functional as F

    @case("cnn", "cnn_train_step")
    def _(shape, dtype, dev):
        torch.manual_seed(0)
        n = dims(shape)[0]
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10)).to(device=dev, dtype=dtype)
        opt = torch.optim.AdamW(model.parameters())
        x = torch.randn(n, 1, 28, 28, dtype=dtype, device=dev)
        y = torch.randint(0, 10, (n,), device=dev)

        def step():
            logits = model(x)
            loss = -torch.gather(F.log_softmax(logits, 1), 1, y.unsqueeze(1)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step
