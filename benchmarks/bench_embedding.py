"""Benchmark Embedding's backward pass: the table's slope scattered from the
positions' slopes, ``dE[v] = sum of g over the positions holding token v``.

Four ways, all giving the same sums (a repeated token accumulates):
  add_at_rows   np.add.at(table, tokens, rows): NumPy's generic path
  add_at_flat   np.add.at on the flattened table, one index per (token,
                column): NumPy's fast one-dimensional path (what
                gradstep.layers.Embedding uses)
  reduceat      sort the tokens, np.add.reduceat over runs of equal tokens
  bincount      np.bincount per column (float64 sums, cast back)

Every figure is the best of --repeats timings of --number calls; other
processes on the machine disturb timings, so compare within one run.

    python benchmarks/bench_embedding.py
"""

import argparse
import timeit

import numpy as np

WAYS = ("add_at_rows", "add_at_flat", "reduceat", "bincount")
# (vocabulary, vector size, batch, sequence length)
SIZES = [(50, 8, 4, 10), (1000, 16, 32, 20), (10000, 64, 32, 100), (20000, 128, 64, 200)]


def scatters(vocabulary: int, width: int, tokens: np.ndarray, grad: np.ndarray) -> dict:
    flat_tokens = tokens.ravel()
    rows = grad.reshape(-1, width)

    def add_at_rows():
        table = np.zeros((vocabulary, width), np.float32)
        np.add.at(table, flat_tokens, rows)
        return table

    def add_at_flat():
        table = np.zeros(vocabulary * width, np.float32)
        keys = (flat_tokens[:, None] * width + np.arange(width)).ravel()
        np.add.at(table, keys, rows.ravel())
        return table.reshape(vocabulary, width)

    def reduceat():
        order = np.argsort(flat_tokens, kind="stable")
        ordered = flat_tokens[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        table = np.zeros((vocabulary, width), np.float32)
        table[ordered[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return table

    def bincount():
        table = np.empty((vocabulary, width), np.float32)
        for column in range(width):
            table[:, column] = np.bincount(
                flat_tokens, weights=rows[:, column], minlength=vocabulary
            )
        return table

    return dict(zip(WAYS, (add_at_rows, add_at_flat, reduceat, bincount), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--number", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; milliseconds per call (best of {args.repeats})")
    print(f"{'vocab':>6} {'width':>5} {'tokens':>6}  " + "  ".join(f"{name:>11}" for name in WAYS))
    for vocabulary, width, batch, length in SIZES:
        tokens = rng.integers(0, vocabulary, size=(batch, length))
        grad = rng.normal(size=(batch, length, width)).astype(np.float32)
        ways = scatters(vocabulary, width, tokens, grad)
        reference = ways["add_at_rows"]()
        times = []
        for way in ways.values():
            np.testing.assert_allclose(way(), reference, atol=1e-5)
            best = min(timeit.repeat(way, number=args.number, repeat=args.repeats))
            times.append(best / args.number * 1e3)
        print(
            f"{vocabulary:>6} {width:>5} {batch * length:>6}  "
            + "  ".join(f"{t:>11.3f}" for t in times)
        )


if __name__ == "__main__":
    main()
