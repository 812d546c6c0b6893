"""Deterministic random streams and weighted choices.

Every entity draws from its own stream, keyed by the seed and its code, so a district loaded
street by street (`--streets`) gets the same geometry and people as one loaded in one go.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def _digest(seed: int, keys: tuple) -> bytes:
    text = ":".join(str(part) for part in (seed, *keys))
    return hashlib.sha256(text.encode()).digest()


def rng(seed: int, *keys) -> random.Random:
    """A `random.Random` for one (seed, keys) pair, independent of every other pair."""
    return random.Random(int.from_bytes(_digest(seed, keys)[:16], "big"))


def np_rng(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(_digest(seed, keys)[:8], "big"))


class Weighted:
    """A fixed weighted choice, with cumulative weights computed once."""

    def __init__(self, options: Mapping[T, float] | Sequence[tuple[T, float]]):
        pairs = list(options.items()) if isinstance(options, Mapping) else list(options)
        if not pairs or any(w < 0 for _, w in pairs) or sum(w for _, w in pairs) <= 0:
            raise ValueError(f"Weights must be non-negative and not all zero: {pairs!r}")
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))

    def pick(self, r: random.Random):
        return r.choices(self.values, cum_weights=self.cum)[0]


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder), each >= 1
    when `total` allows it."""
    n = len(weights)
    if n == 0:
        return []
    floor = 1 if total >= n else 0
    rest = total - floor * n
    s = float(sum(weights)) or 1.0
    raw = [rest * w / s for w in weights]
    shares = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: raw[i] - shares[i], reverse=True)
    for i in order[: rest - sum(shares)]:
        shares[i] += 1
    return [floor + x for x in shares]
