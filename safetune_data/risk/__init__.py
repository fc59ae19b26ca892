"""Predicting a dataset's safety cost before training (`safetune risk`).

    from safetune_data.risk import make_scorers, score_risk
    doc = score_risk("aligned_model/", ["runs/study"], make_scorers(["representation", "self_inf_n"]), "risk_out")
    doc["datasets"][0]["scores"]["representation"]["value"]

See `scorers.py` for what each scorer computes and its source, and docs/risk.md for how well
each predicted the mini study's measured safety.
"""
from __future__ import annotations

from .anchors import Anchor, load_anchors, load_probe
from .datasets import score_risk
from .scorers import RISK_SCORERS, make_scorers

__all__ = ["Anchor", "RISK_SCORERS", "load_anchors", "load_probe", "make_scorers", "score_risk"]
