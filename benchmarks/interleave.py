"""Interleaved timing of training steps: two contenders take turns, round after round.

Each round runs every contender once (``--steps`` training steps each) and
records, per step, the wall-clock time and the CPU time of the calling thread
(``time.thread_time``). On a machine where other processes hold the cores,
wall-clock times include the time a contender waited to be scheduled, which
varies from one moment to the next; the thread's CPU time does not, so both
are reported: the medians over rounds and the median of the per-round ratios.

Both libraries run on one thread: ``torch.set_num_threads(1)`` and
``threadpool_limits(1)`` for the BLAS that NumPy loaded (called once both
libraries are imported, so that it sees NumPy's OpenBLAS). On 2 shared cores a
second BLAS thread waits at every product's barrier for a core that another
process holds, which once made a gradstep step four times slower.
"""

import statistics
import time


def one_thread():
    """Limit NumPy's BLAS and PyTorch to one thread (import both first)."""
    import numpy  # noqa: F401  (loaded before threadpoolctl looks)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def settle(seconds=0.1):
    """A pause between contenders, so that threads still spinning after one
    (OpenMP's, BLAS's) do not slow the next."""
    time.sleep(seconds)


def interleaved(contenders: dict, rounds: int, steps: int) -> dict:
    """``contenders`` maps a name to a function that runs ``steps`` training
    steps; each is run once untimed, then ``rounds`` times in turn. Returns
    ``{name: {"wall": [...], "cpu": [...]}}``, seconds per step for each round."""
    for run in contenders.values():
        run()
        settle()
    times = {name: {"wall": [], "cpu": []} for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            settle()
            wall, cpu = time.perf_counter(), time.thread_time()
            run()
            times[name]["cpu"].append((time.thread_time() - cpu) / steps)
            times[name]["wall"].append((time.perf_counter() - wall) / steps)
    return times


def report(times: dict, ours: str = "gradstep", theirs: str = "torch") -> None:
    """Print each contender's median time per step (wall clock and CPU) and
    the median over rounds of the ratio ``ours / theirs``."""
    rounds = len(times[ours]["wall"])
    for clock in ("wall", "cpu"):
        medians = {name: statistics.median(t[clock]) for name, t in times.items()}
        ratios = [a / b for a, b in zip(times[ours][clock], times[theirs][clock], strict=True)]
        line = ", ".join(f"{name} {value * 1e3:.1f} ms" for name, value in medians.items())
        print(
            f"{clock:>4}: {line} per step (medians of {rounds} rounds); "
            f"ratio {ours} / {theirs}: median {statistics.median(ratios):.2f} "
            f"(rounds {min(ratios):.2f}-{max(ratios):.2f})"
        )
