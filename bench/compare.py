#!/usr/bin/env python3
"""Runs the PyTorch side of ctorch's benchmarks and prints the two side by side.

Usage:
    build/bench_copy --json /tmp/ct.jsonl [--device cuda]      # any bench_* binaries, appending to one file
    python3 bench/compare.py /tmp/ct.jsonl [--out torch.jsonl] [--table summary.md]

For every ctorch record it runs the same work in PyTorch on the same device, with the same sizes and thread count,
times it the same way (median of repetitions after a warm-up, synchronised), and prints: case, shape, ctorch ms,
torch ms, speed-up (torch ms / ctorch ms: above 1 means ctorch is faster), and ctorch's rate as a fraction of the
hardware limit measured in its own run. Records with no PyTorch counterpart are listed as such.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

CASES = {}  # (bench, case) -> make(shape: str, dtype: torch.dtype, device: str) -> zero-argument callable


def case(bench, name):
    def register(make):
        CASES[(bench, name)] = make
        return make
    return register


def dims(shape):
    """'512x256' -> [512, 256]; '1048576' -> [1048576]."""
    return [int(x) for x in shape.split("x")] if shape else []


DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "int32": torch.int32,
          "uint8": torch.uint8, "bool": torch.bool}

# ---- copy (bench/bench_copy.c) ---------------------------------------------------------------------------------


@case("copy", "contiguous")
def _(shape, dtype, dev):
    src = torch.rand(dims(shape), dtype=dtype, device=dev)
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


@case("copy", "transposed")
def _(shape, dtype, dev):
    src = torch.rand(dims(shape), dtype=dtype, device=dev)
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src.t())


@case("copy", "float32_to_float64")
def _(shape, dtype, dev):
    src = torch.rand(dims(shape), dtype=dtype, device=dev)
    dst = torch.empty(src.shape, dtype=torch.float64, device=dev)
    return lambda: dst.copy_(src)


# Other benchmark families register their PyTorch counterparts in bench/compare_cases_*.py (imported below).
for name in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
    if name.startswith("compare_cases_") and name.endswith(".py"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        module = __import__(name[:-3])
        module.register(case, dims, DTYPES)


def time_ms(fn, dev, min_reps=5, min_seconds=0.2):
    sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
    fn()
    sync()
    times, start = [], time.perf_counter()
    while len(times) < 1000 and (len(times) < min_reps or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ctorch_jsonl")
    ap.add_argument("--out", help="append PyTorch's records here as JSON lines")
    ap.add_argument("--table", help="write the side-by-side table here (Markdown)")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    records = [json.loads(line) for line in open(args.ctorch_jsonl) if line.strip()]
    rows = ["| bench | case | shape | dtype | device | ctorch ms | torch ms | speed-up | ctorch rate | of limit |",
            "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    missing = []
    out = open(args.out, "a") if args.out else None
    for r in records:
        make = CASES.get((r["bench"], r["case"]))
        if make is None:
            missing.append(f"{r['bench']}/{r['case']}")
            continue
        dev = r["device"]
        fn = make(r["shape"], DTYPES.get(r["dtype"], torch.float32), dev)
        ms = time_ms(fn, dev)
        frac = f"{100 * r['rate'] / r['limit']:.0f} %" if r.get("limit") else "-"
        rows.append(f"| {r['bench']} | {r['case']} | {r['shape']} | {r['dtype']} | {dev} | {r['ms']:.4f} | {ms:.4f} "
                    f"| {ms / r['ms']:.2f} | {r['rate']:.1f} {r['unit']} | {frac} |")
        if out:
            out.write(json.dumps({**r, "impl": "torch", "ms": ms, "torch_version": torch.__version__}) + "\n")
    table = "\n".join(rows)
    if missing:
        table += "\n\nNo PyTorch counterpart yet: " + ", ".join(sorted(set(missing)))
    print(table)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
