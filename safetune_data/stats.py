"""Interval statistics shared by the harness, the judges and the reward-model audit.

Benchmarks here are small (XSTest has 250 safe prompts), so every rate and mean is reported
with a 95% interval. Rates use the Wilson score interval, which stays inside [0, 1] and
behaves at 0/n and n/n where the normal approximation does not. Means use one seeded
percentile bootstrap (numpy's PCG64 generator, the same numbers on every platform).
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

N_BOOT = 2000


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes out of n. (0.0, 1.0) when n == 0."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_means(values: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """Means of `n_boot` resamples (with replacement) of the last axis of `values`.

    Resampling the same column indices in every row keeps rows paired (the harness's factor
    effects resample prompts across all cells at once); shape (..., n_boot)."""
    n = values.shape[-1]
    picks = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    return values[..., picks].mean(axis=-1)


def bootstrap_interval(values: Sequence[float], n_boot: int = N_BOOT, seed: int = 0,
                       confidence: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean; a point for fewer than two or equal values,
    (nan, nan) for none."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or n_boot <= 0 or np.all(x == x[0]):
        return (float(x.mean()), float(x.mean())) if x.size else (math.nan, math.nan)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(bootstrap_means(x, n_boot, seed), [tail, 100 - tail])
    return (float(low), float(high))


def bootstrap_mean(values: Iterable[float], seed: int = 0, n_boot: int = N_BOOT) -> dict:
    """Mean with its percentile-bootstrap 95% interval: {"mean", "n", "ci_low", "ci_high"};
    empty input gives None everywhere but n."""
    xs = [float(v) for v in values]
    if not xs:
        return {"mean": None, "n": 0, "ci_low": None, "ci_high": None}
    low, high = bootstrap_interval(xs, n_boot=n_boot, seed=seed)
    return {"mean": sum(xs) / len(xs), "n": len(xs), "ci_low": low, "ci_high": high}
