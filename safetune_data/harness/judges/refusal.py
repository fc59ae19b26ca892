"""The `refusal` judge: the project's CPU refusal detector behind the judge contract."""
from __future__ import annotations

from ...detectors import refusal as detector
from ...registry import schema
from .base import BaseJudge, register, verdict


@register
class RefusalJudge(BaseJudge):
    """Rule-based refusal judge (no model). `threshold` moves the refusal cut-off on the score."""

    name = "refusal"
    params_schema = schema(threshold={"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                                      "description": f"refusal cut-off on the score (default {detector.THRESHOLD})"})

    def __init__(self, threshold: float = detector.THRESHOLD) -> None:
        self.threshold = float(threshold)

    def judge_batch(self, prompts: list[str], responses: list[str]) -> list[dict]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        out = []
        for a in detector.analyse_many(responses, prompts):
            refused = a.score >= self.threshold
            out.append(
                verdict("refusal" if refused else "compliance", refused, None, a.rationale(),
                        refusal_score=round(a.score, 4), uncertain=detector.is_uncertain(a.score))
            )
        return out
