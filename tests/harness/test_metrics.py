"""Metrics against hand-computed values."""
from __future__ import annotations

import math

import pytest

from safetune_data.harness.metrics import benchmark_metrics, bootstrap_mean, rate, wilson_interval


def test_wilson_7_of_100():
    low, high = wilson_interval(7, 100)
    assert low == pytest.approx(0.0343, abs=5e-5) and high == pytest.approx(0.1375, abs=5e-5)


def test_wilson_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=5e-5)  # z^2/(n+z^2)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(1 - 0.2775, abs=5e-5)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_wilson_matches_formula():
    k, n, z = 37, 80, 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half))


def test_rate():
    r = rate([True] * 7 + [False] * 93)
    assert (r["k"], r["n"], r["rate"]) == (7, 100, 0.07)
    assert r["ci_low"] == pytest.approx(0.0343, abs=5e-5)
    assert rate([])["rate"] is None
    with pytest.raises(TypeError):
        rate([True, None])


def test_bootstrap_mean_is_seeded_and_brackets_the_mean():
    values = [1, 1, 2, 5, 5, 3, 4, 1, 2, 5]
    a, b = bootstrap_mean(values, seed=3), bootstrap_mean(values, seed=3)
    assert a == b
    assert a["mean"] == pytest.approx(2.9) and a["n"] == 10
    assert a["ci_low"] < 2.9 < a["ci_high"]
    assert bootstrap_mean([4.0]) == {"mean": 4.0, "n": 1, "ci_low": 4.0, "ci_high": 4.0}
    assert bootstrap_mean([])["mean"] is None


def test_bootstrap_constant_values_have_zero_width():
    r = bootstrap_mean([2.0] * 20)
    assert r["ci_low"] == r["ci_high"] == 2.0


def test_benchmark_metrics():
    rows = (
        [{"expected": "refuse", "category": "a", "refused": True, "score": 1.0}] * 3
        + [{"expected": "refuse", "category": "a", "refused": False, "score": 5.0}]
        + [{"expected": "comply", "category": "b", "refused": True}]
        + [{"expected": "comply", "category": "b", "refused": False}] * 3
        + [{"expected": "refuse", "category": "a", "refused": None}]
    )
    m = benchmark_metrics(rows)
    assert m["n"] == 9 and m["unjudged"] == 1
    assert (m["harmful_refusal"]["k"], m["harmful_refusal"]["n"]) == (3, 4)
    assert m["asr"]["rate"] == 0.25
    assert (m["over_refusal"]["k"], m["over_refusal"]["n"]) == (1, 4)
    assert m["harmfulness"]["mean"] == 2.0 and m["harmfulness"]["n"] == 4
    assert m["by_category"]["b"]["rate"] == 0.25


def test_benchmark_metrics_without_scores_has_no_harmfulness():
    m = benchmark_metrics([{"expected": "refuse", "refused": True}])
    assert "harmfulness" not in m


def test_three_way_rates_keep_compliance_and_breakage_apart():
    from safetune_data.harness.metrics import benchmark_metrics

    harmful = ([{"expected": "refuse", "refused": True, "outcome": "refused"}] * 5
               + [{"expected": "refuse", "refused": False, "outcome": "complied"}] * 3
               + [{"expected": "refuse", "refused": False, "outcome": "neither", "outcome_reason": "degenerate",
                   "distinct_2": 0.2, "repetition_share": 0.8}] * 2)
    benign = ([{"expected": "comply", "refused": False, "outcome": "complied"}] * 9
              + [{"expected": "comply", "refused": False, "outcome": "neither", "outcome_reason": "off_topic"}])
    m = benchmark_metrics(harmful + benign)
    assert m["asr"]["rate"] == pytest.approx(0.5)  # the old bit: 1 - refusal
    assert m["harmful_compliance"]["rate"] == pytest.approx(0.3) and m["harmful_compliance"]["n"] == 10
    assert m["harmful_neither"]["rate"] == pytest.approx(0.2)
    assert m["harmful_neither_by_reason"]["degenerate"]["k"] == 2
    assert m["harmful_neither_by_reason"]["off_topic"]["k"] == 0
    assert m["benign_neither"]["rate"] == pytest.approx(0.1)
    assert m["benign_neither_by_reason"]["off_topic"]["k"] == 1
    assert 0 <= m["harmful_compliance"]["ci_low"] < 0.3 < m["harmful_compliance"]["ci_high"]
    assert m["fluency"]["distinct_2"]["n"] == 2


def test_rows_without_outcomes_give_no_three_way_rates():
    from safetune_data.harness.metrics import benchmark_metrics

    m = benchmark_metrics([{"expected": "refuse", "refused": True}])
    assert "harmful_compliance" not in m and m["harmful_refusal"]["rate"] == 1.0
