"""PyTorch counterparts of bench_elementwise, bench_reduce, bench_gather_scatter and bench_matmul, for
bench/compare.py: the same ops on the same shapes, dtypes and devices, with inputs drawn the same way."""
import torch


def register(case, dims, DTYPES):
    # ---- elementwise: contiguous 1-D tensors of n elements; a in [-1, 1), b in [0, 1) ----
    def operands(shape, dtype, dev):
        n = dims(shape)
        return torch.rand(n, dtype=dtype, device=dev) * 2 - 1, torch.rand(n, dtype=dtype, device=dev)

    def elementwise(name, make):
        @case("elementwise", name)
        def _(shape, dtype, dev):
            a, b = operands(shape, dtype, dev)
            return make(a, b)

    elementwise("add", lambda a, b: lambda: torch.add(a, b))
    elementwise("mul", lambda a, b: lambda: torch.mul(a, b))
    elementwise("relu", lambda a, b: lambda: torch.relu(a))
    elementwise("gelu", lambda a, b: lambda: torch.nn.functional.gelu(a))
    elementwise("exp", lambda a, b: lambda: torch.exp(a))
    elementwise("add_", lambda a, b: lambda: a.add_(b))
    elementwise("relu_", lambda a, b: lambda: a.relu_())

    # ---- reductions on square float32 matrices ----
    def reduction(name, make):
        @case("reduce", name)
        def _(shape, dtype, dev):
            x = torch.rand(dims(shape), dtype=dtype, device=dev)
            return make(x)

    reduction("sum_all", lambda x: lambda: x.sum())
    reduction("sum_dim_-1", lambda x: lambda: x.sum(-1))
    reduction("sum_dim_0", lambda x: lambda: x.sum(0))
    reduction("amax_all", lambda x: lambda: x.amax())
    reduction("softmax_dim_-1", lambda x: lambda: torch.softmax(x, -1))
    reduction("mean_dim_-1", lambda x: lambda: x.mean(-1))
    reduction("amax_dim_0", lambda x: lambda: x.amax(0))
    reduction("max_dim_-1", lambda x: lambda: x.max(-1))
    reduction("logsumexp_dim_-1", lambda x: lambda: torch.logsumexp(x, -1))
    reduction("log_softmax_dim_-1", lambda x: lambda: torch.log_softmax(x, -1))
    reduction("softmax_dim_0", lambda x: lambda: torch.softmax(x, 0))
    reduction("argmax_dim_0", lambda x: lambda: x.argmax(0))
    reduction("count_nonzero_all", lambda x: lambda: torch.count_nonzero(x))
    reduction("any_dim_-1_bool", lambda x: (lambda m: lambda: m.any(-1))(x > 0.5))

    # ---- gather / scatter_add / index_select with random indices ----
    def indexing(name, make):
        @case("gather_scatter", name)
        def _(shape, dtype, dev):
            rows, cols = dims(shape)
            return make(rows, cols, torch.rand(rows, cols, dtype=dtype, device=dev), dev)

    indexing("gather_dim1", lambda r, c, x, dev: (lambda i: lambda: torch.gather(x, 1, i))(
        torch.randint(0, c, (r, c), device=dev)))
    indexing("gather_dim1_int32", lambda r, c, x, dev: (lambda i: lambda: torch.gather(x, 1, i))(
        torch.randint(0, c, (r, c), device=dev)))  # torch.gather takes int64 only: the int64 time is its figure
    indexing("gather_dim0", lambda r, c, x, dev: (lambda i: lambda: torch.gather(x, 0, i))(
        torch.randint(0, r, (r, c), device=dev)))
    indexing("index_select_rows", lambda r, c, x, dev: (lambda i: lambda: torch.index_select(x, 0, i))(
        torch.randint(0, r, (r,), device=dev)))

    def scatter_add(deterministic):
        def make(r, c, x, dev):
            i, out = torch.randint(0, r, (r, c), device=dev), torch.zeros_like(x)

            def run():
                torch.use_deterministic_algorithms(deterministic)
                out.scatter_add_(0, i, x)
                torch.use_deterministic_algorithms(False)
            return run
        return make

    indexing("scatter_add_dim0", scatter_add(False))
    indexing("scatter_add_dim0_deterministic", scatter_add(True))

    def index_add(r, c, x, dev):
        i, out = torch.randint(0, r, (r,), device=dev), torch.zeros_like(x)
        return lambda: out.index_add_(0, i, x)

    indexing("index_add_dim0", index_add)
    indexing("masked_select", lambda r, c, x, dev: (lambda m: lambda: torch.masked_select(x, m))(x > 0.5))

    # ---- matmul: shape "m x n x k" or "batch x m x n x k" ----
    def matmul(name, make, dtype_override=None, tf32=False):
        @case("matmul", name)
        def _(shape, dtype, dev):
            d = dims(shape)
            batch, (m, n, k) = (d[0], d[1:]) if len(d) == 4 else (1, d)
            fn = make(batch, m, n, k, dtype_override or dtype, dev)

            def run():
                torch.backends.cuda.matmul.allow_tf32 = tf32
                fn()
                torch.backends.cuda.matmul.allow_tf32 = False
            return run

    def r(*shape, dtype, dev):
        return torch.rand(*shape, dtype=dtype, device=dev)

    mm = lambda b, m, n, k, t, dev: (lambda a, bb: lambda: torch.mm(a, bb))(r(m, k, dtype=t, dev=dev), r(k, n, dtype=t, dev=dev))
    matmul("peak_square_sgemm", mm)
    matmul("mm_square", mm)
    matmul("mm_square_f64", mm)
    matmul("mm_square_int64", lambda b, m, n, k, t, dev: (lambda a, bb: lambda: torch.mm(a, bb))(
        torch.randint(-100, 100, (m, k), device=dev), torch.randint(-100, 100, (k, n), device=dev)))
    matmul("mm_square_tf32", mm, tf32=True)
    matmul("mm_im2col", mm)
    matmul("mm_a_transposed", lambda b, m, n, k, t, dev: (lambda a, bb: lambda: torch.mm(a.t(), bb))(
        r(k, m, dtype=t, dev=dev), r(k, n, dtype=t, dev=dev)))
    matmul("mm_b_transposed", lambda b, m, n, k, t, dev: (lambda a, bb: lambda: torch.mm(a, bb.t()))(
        r(m, k, dtype=t, dev=dev), r(n, k, dtype=t, dev=dev)))
    linear = lambda bias: lambda b, m, n, k, t, dev: (lambda x, w, bb: lambda: torch.nn.functional.linear(x, w, bb))(
        r(m, k, dtype=t, dev=dev), r(n, k, dtype=t, dev=dev), r(n, dtype=t, dev=dev) if bias else None)
    matmul("linear_bias", linear(True))
    matmul("linear_bias_tf32", linear(True), tf32=True)
    matmul("linear_no_bias", linear(False))
    matmul("linear_down_proj", linear(True))
    matmul("attention_q_kT", lambda b, m, n, k, t, dev: (lambda q, kk: lambda: torch.matmul(q, kk.transpose(1, 2)))(
        r(b, m, k, dtype=t, dev=dev), r(b, n, k, dtype=t, dev=dev)))
