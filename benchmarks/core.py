"""Core benchmarks: negative sampling speed and NT-Xent time / peak memory.

    python benchmarks/core.py            # full sizes (about 2 minutes on 2 cores)
    python benchmarks/core.py --quick    # smaller sizes, for a smoke run

1. Draws from a Zipfian distribution over V outcomes (default V = 10^6,
   10^7 draws): multissl's AliasSampler vs numpy's ``Generator.choice(p=)``,
   ``torch.multinomial(replacement=True)`` and a cumulative table +
   ``searchsorted`` (gensim's method).
   Targets: alias >= 20x numpy choice, >= 3x torch.multinomial, >= 2x cum-table.
2. NT-Xent forward+backward on CPU at B=1024, D=128: time and peak memory of
   a naive exp/ratio implementation, multissl unchunked and chunked; and at
   B=8192 the chunked peak must be <= 1/4 of the unchunked peak. Each
   configuration runs in its own process so peak RSS is its own.
Prints a markdown table and writes benchmarks/results/core.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, current_rss_mb, markdown_table, peak_rss_mb, reset_peak_rss, run_worker, write_json  # noqa: E402

TARGETS = {"numpy_choice": 20.0, "torch_multinomial": 3.0, "cum_table_searchsorted": 2.0}


def sampling_benchmark(vocab: int, draws: int) -> list:
    import torch

    from multissl.sampling import AliasSampler

    weights = 1.0 / np.arange(1, vocab + 1)
    p = weights / weights.sum()
    alias = AliasSampler(weights, seed=0)
    rng = np.random.default_rng(0)
    tweights = torch.from_numpy(p)
    cum = np.cumsum(p)
    domain = 2**31 - 1
    cum_table = np.round(cum * domain).astype(np.int64)  # gensim's int cum_table

    timings = {
        "multissl AliasSampler": best_time(lambda: alias.draw(draws)),
        "numpy_choice": best_time(lambda: rng.choice(vocab, size=draws, p=p), repeat=1),
        "torch_multinomial": best_time(lambda: torch.multinomial(tweights, draws, replacement=True), repeat=2),
        "cum_table_searchsorted": best_time(
            lambda: np.searchsorted(cum_table, rng.integers(0, cum_table[-1], draws), side="right"), repeat=2
        ),
    }
    base = timings["multissl AliasSampler"]
    rows = []
    for name, seconds in timings.items():
        row = {"method": name, "seconds": seconds, "Mdraws_per_s": draws / seconds / 1e6}
        if name in TARGETS:
            row["alias_speedup"] = seconds / base
            row["target"] = f">= {TARGETS[name]:g}x"
            row["met"] = seconds / base >= TARGETS[name]
        rows.append(row)
    return rows


# ----------------------------------------------------------------- NT-Xent
def naive_nt_xent(z0, z1, t):
    import torch
    import torch.nn.functional as F

    z = F.normalize(torch.cat([z0, z1]), dim=1)
    n = len(z0)
    sims = torch.exp(z @ z.T / t)
    denom = sims.sum(1) - sims.diagonal()
    pos = torch.cat([sims.diagonal(n), sims.diagonal(-n)])
    return -torch.log(pos / denom).mean()


def nt_xent_worker(mode: str, batch: int, dim: int, chunk: int) -> dict:
    import torch

    from multissl.losses import nt_xent

    torch.manual_seed(0)
    z0 = torch.randn(batch, dim, requires_grad=True)
    z1 = torch.randn(batch, dim, requires_grad=True)

    def step():
        if mode == "naive":
            loss = naive_nt_xent(z0, z1, 0.5)
        else:
            loss = nt_xent(z0, z1, 0.5, chunk_size=chunk if mode == "chunked" else None)
        loss.backward()
        z0.grad = z1.grad = None

    warm = torch.randn(16, dim, requires_grad=True)
    (naive_nt_xent(warm, warm, 0.5) + nt_xent(warm, warm, 0.5, chunk_size=4)).backward()  # load kernels
    rss_before = current_rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    step()
    seconds = time.perf_counter() - start
    peak = peak_rss_mb() - rss_before  # memory added at the peak of one forward+backward
    return {"mode": mode, "batch": batch, "dim": dim, "chunk": chunk if mode == "chunked" else None,
            "seconds": seconds, "peak_mb": peak}


def nt_xent_benchmark(script: str, big_batch: int, chunk: int) -> list:
    rows = []
    for mode in ("naive", "unchunked", "chunked"):
        rows.append(run_worker(script, ["--worker", mode, "1024", "128", str(chunk)]))
    for mode in ("unchunked", "chunked"):
        rows.append(run_worker(script, ["--worker", mode, str(big_batch), "128", str(chunk)]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="V=10^5, 10^6 draws, big batch 2048")
    parser.add_argument("--chunk", type=int, default=256, help="chunk size of the chunked NT-Xent (default 256)")
    parser.add_argument("--json", help="output path (default benchmarks/results/core.json)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, batch, dim, chunk = args.worker
        print(json.dumps(nt_xent_worker(mode, int(batch), int(dim), int(chunk))))
        return

    vocab, draws, big = (10**5, 10**6, 2048) if args.quick else (10**6, 10**7, 8192)
    print(f"## Negative sampling: Zipfian weights, V={vocab:,}, {draws:,} draws\n")
    sampling = sampling_benchmark(vocab, draws)
    print(markdown_table(sampling, ["method", "seconds", "Mdraws_per_s", "alias_speedup", "target", "met"]))

    print(f"\n## NT-Xent forward+backward, D=128 (CPU), chunk={args.chunk}\n")
    ntx = nt_xent_benchmark(__file__, big, args.chunk)
    print(markdown_table(ntx, ["mode", "batch", "chunk", "seconds", "peak_mb"]))
    unchunked_big = next(r for r in ntx if r["mode"] == "unchunked" and r["batch"] == big)
    chunked_big = next(r for r in ntx if r["mode"] == "chunked" and r["batch"] == big)
    ratio = chunked_big["peak_mb"] / unchunked_big["peak_mb"]
    memory_met = ratio <= 0.25
    print(f"\nchunked / unchunked peak memory at B={big}: {ratio:.3f} (target <= 0.25: {'met' if memory_met else 'NOT met'})")

    all_met = all(r.get("met", True) for r in sampling) and memory_met
    path = write_json("core", {"vocab": vocab, "draws": draws, "sampling": sampling, "nt_xent": ntx,
                               "chunked_peak_ratio": ratio, "all_targets_met": all_met, "quick": args.quick}, args.json)
    print(f"\nall targets met: {all_met}; JSON written to {path}")


if __name__ == "__main__":
    main()
