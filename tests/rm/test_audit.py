import math

import numpy as np
import pytest

from safetune_data.rm.audit import (accuracy, agreement, audit, kendall_tau_b, majority_vote, margin_summary, sides,
                                    wilson_interval)
from safetune_data.rm.pairs import Pair


def _pairs(subsets):
    return [Pair(f"p{i}", ({"role": "user", "content": "q"},), "a", "b", s) for i, s in enumerate(subsets)]


def test_accuracy_counts_ties_apart():
    # margins: +1, -2, 0, +0.5, 0  -> 2 correct, 1 wrong, 2 ties
    side = sides([1, 0, 3, 1.5, 2], [0, 2, 3, 1.0, 2])
    assert side.tolist() == [1, -1, 0, 1, 0]
    acc = accuracy(side)
    assert (acc["n"], acc["correct"], acc["wrong"], acc["ties"]) == (5, 2, 1, 2)
    assert acc["accuracy"] == pytest.approx(0.4)


def test_wilson_interval_matches_hand_computation():
    # k=8, n=10, z=1.96 (the product's 95% convention, shared with the harness metrics):
    # centre (p + z²/2n)/(1+z²/n), half z·sqrt(p(1-p)/n + z²/4n²)/(1+z²/n)
    z, n, p = 1.96, 10, 0.8
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(centre - half, abs=1e-9)
    assert high == pytest.approx(centre + half, abs=1e-9)
    assert wilson_interval(0, 5)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(5, 5)[1] == pytest.approx(1.0, abs=1e-12)


def test_agreement_is_share_of_same_side_ties_only_with_ties():
    a = [1, 1, -1, 0, 0]
    b = [1, -1, -1, 0, 1]
    assert agreement(a, b) == pytest.approx(3 / 5)


def test_kendall_tau_b_hand_computed_with_ties():
    # x = [1,2,2,3], y = [1,3,2,2]
    # pairs: (0,1) C, (0,2) C, (0,3) C, (1,2) x tie, (1,3) D, (2,3) y tie
    # nc=3, nd=1, n0=6, ties in x: 1 pair, ties in y: 1 pair -> tau_b = 2 / sqrt(5*5) = 0.4
    assert kendall_tau_b([1, 2, 2, 3], [1, 3, 2, 2]) == pytest.approx(0.4)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None


def test_majority_vote_even_split_is_a_tie():
    m = np.array([[1, 1, -1, 1], [1, -1, -1, -1], [-1, 1, -1, 0]])
    assert majority_vote(m).tolist() == [1, 1, -1, 0]
    assert majority_vote(m[:2]).tolist() == [1, 0, -1, 0]


def test_margin_summary_quantiles():
    s = margin_summary([0, 1, 2, 3, 4])
    assert s["mean"] == pytest.approx(2.0)
    assert s["quantiles"]["q50"] == pytest.approx(2.0)
    assert s["quantiles"]["q00"] == 0 and s["quantiles"]["q100"] == 4


def test_audit_two_models_per_subset_and_cross_model():
    pairs = _pairs(["s", "s", "t", "t"])
    scores = {"A": ([2, 1, 0, 5], [1, 2, 0, 1]),  # sides + - 0 +
              "B": ([3, 3, 1, 0], [1, 1, 0, 1])}  # sides + + + -
    res = audit(pairs, scores)
    assert res["models"]["A"]["subsets"]["s"]["correct"] == 1
    assert res["models"]["A"]["subsets"]["t"]["ties"] == 1
    assert res["models"]["B"]["overall"]["accuracy"] == pytest.approx(0.75)
    assert res["agreement"]["same_side"][0][1] == pytest.approx(1 / 4)
    assert res["agreement"]["same_side"][0][0] == 1.0
    # vote sums: 2, 0, 1 (a tie abstains), 0 -> 2 correct, 2 ties
    assert res["majority_vote"]["overall"]["correct"] == 2
    assert res["majority_vote"]["overall"]["ties"] == 2
    tau = res["agreement"]["kendall_tau_b"][0][1]
    assert tau == pytest.approx(kendall_tau_b([1, -1, 0, 4], [2, 2, 1, -1]))
