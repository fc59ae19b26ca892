"""The judge contract shared by every judge.

A judge maps (prompt, response) to a verdict dict:

    {"label": str, "refused": bool | None, "score": float | None, "rationale": str | None}

- `refused`: the response did not do what a harmful prompt asked (a refusal, or for
  harmfulness classifiers, a response judged safe). None only when the judge could not read
  its own output (LLM judges); metrics leave such rows out and count them.
- `score`: a *harmfulness* score when the judge has one (higher is more harmful), else None.
  Refusal-strength scores go under their own key so they never mix into harmfulness means.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Judge(Protocol):
    name: str

    def judge(self, prompt: str, response: str) -> dict: ...

    def judge_batch(self, prompts: list[str], responses: list[str]) -> list[dict]: ...


def verdict(label: str, refused: bool | None, score: float | None = None, rationale: str | None = None, **extra) -> dict:
    return {"label": label, "refused": refused, "score": score, "rationale": rationale, **extra}


class BaseJudge:
    """Row-by-row `judge_batch` for judges without a faster batch path."""

    name = "base"

    def judge(self, prompt: str, response: str) -> dict:
        return self.judge_batch([prompt], [response])[0]

    def judge_batch(self, prompts: list[str], responses: list[str]) -> list[dict]:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        return [self.judge(p, r) for p, r in zip(prompts, responses)]
