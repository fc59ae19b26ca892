"""The one bootstrap (harness means, factor effects, reward-model comparisons) against scipy's."""
from __future__ import annotations

import math

import numpy as np
import pytest

from safetune_data.stats import bootstrap_interval, bootstrap_mean, bootstrap_means


@pytest.mark.parametrize("seed", [0, 7])
def test_interval_is_scipys_percentile_bootstrap(seed):
    from scipy.stats import bootstrap

    x = np.random.default_rng(11).gamma(2.0, size=83)
    ref = bootstrap((x,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(seed))
    assert bootstrap_interval(x, seed=seed) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-12)


def test_rows_are_resampled_alike_so_paired_differences_keep_their_pairing():
    x = np.random.default_rng(0).normal(size=40)
    boot = bootstrap_means(np.stack([x, x + 1.0]), n_boot=500, seed=3)
    assert boot.shape == (2, 500)
    assert np.allclose(boot[1] - boot[0], 1.0)  # unpaired resampling would scatter around 1
    assert not np.allclose(boot[0], boot[0][0])


def test_degenerate_inputs():
    assert bootstrap_interval([]) == pytest.approx((math.nan, math.nan), nan_ok=True)
    assert bootstrap_interval([2.5]) == (2.5, 2.5) and bootstrap_interval([1.0] * 9) == (1.0, 1.0)
    r = bootstrap_mean([1, 1, 2, 5, 5, 3, 4, 1, 2, 5], seed=3)
    assert r["mean"] == pytest.approx(2.9) and r["ci_low"] < 2.9 < r["ci_high"]
    assert (r["ci_low"], r["ci_high"]) == bootstrap_interval([1, 1, 2, 5, 5, 3, 4, 1, 2, 5], seed=3)
