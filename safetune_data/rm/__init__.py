"""Reward-model safety audit: do reward models prefer the safer answer, and do they agree?

    from safetune_data.rm import load_pairs, load_scorer, evaluate, ModelSpec
    pairs = load_pairs("hh_rlhf_harmless_base_test.jsonl.gz")
    result, rows = evaluate(pairs, [ModelSpec("./my-rm")])

Modules: `pairs` (loaders into one pair shape), `score` (classifier and DPO implicit
rewards, length-sorted batching), `audit` (accuracy, intervals, agreement, tau),
`evaluate` (the `rm eval` flow), `report` (JSON/markdown/plots), `dataset` (`rm score`,
`rm compare`). torch/transformers load only when a model is scored.
"""
from __future__ import annotations

from .audit import accuracy, agreement, audit, kendall_tau_b, majority_vote, sides, wilson_interval
from .evaluate import ModelSpec, evaluate
from .pairs import FORMATS, Pair, PairSet, SplitError, load_pairs, split_hh
from .score import ImplicitRewardModel, ScoreStats, SequenceRewardModel, load_scorer, score_pairs

__all__ = [
    "FORMATS", "ImplicitRewardModel", "ModelSpec", "Pair", "PairSet", "ScoreStats", "SequenceRewardModel",
    "SplitError", "accuracy", "agreement", "audit", "evaluate", "kendall_tau_b", "load_pairs", "load_scorer",
    "majority_vote", "score_pairs", "sides", "split_hh", "wilson_interval",
]
