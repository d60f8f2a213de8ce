"""Wall-clock timing shared by the benchmarks: best of several repeats, with the spread.

One timed run on a loaded machine says little (the same text benchmark printed 15.4x once and
46.6x/53.9x on an idle machine), so every side of a comparison is run ``repeats`` times after a
warm-up; the best time is the figure reported (least disturbed by other load) and the spread
(best, median, worst) says how noisy the machine was.

    from _timing import timed, speedup   # benchmarks run as scripts: this folder is on sys.path
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

Result = TypeVar("Result")


@dataclass(frozen=True)
class Timing(Generic[Result]):
    """Seconds of each timed repeat, and the last repeat's result."""

    seconds: tuple[float, ...]
    result: Result

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    def spread(self) -> str:
        """``best 1.21 s (median 1.30, worst 1.52; 5 runs)``."""
        if len(self.seconds) == 1:
            return f"{self.best:.2f} s (1 run)"
        return (f"best {self.best:.2f} s (median {self.median:.2f}, worst {self.worst:.2f}; "
                f"{len(self.seconds)} runs)")


def timed(run: Callable[[], Result], repeats: int, warmup: bool = True) -> Timing[Result]:
    """Time ``run`` ``repeats`` times, after one untimed warm-up call (first calls allocate
    buffers, plan FFTs, fill caches) unless ``warmup=False``."""
    if repeats < 1:
        raise SystemExit(f"repeats must be at least 1, got {repeats}")
    if warmup:
        run()
    seconds = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), result)


def speedup(slow: Timing, fast: Timing) -> str:
    """``46.6x, 41.9x–52.7x over all repeats``: best over best, then the range any pairing of
    the two sides' repeats gives (slow's best over fast's worst to slow's worst over fast's best)."""
    low, high = slow.best / fast.worst, slow.worst / fast.best
    return f"{slow.best / fast.best:.1f}x, {low:.1f}x–{high:.1f}x over all repeats"
