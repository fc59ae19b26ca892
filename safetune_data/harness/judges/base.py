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

from ...registry import Registry


@runtime_checkable
class Judge(Protocol):
    name: str

    def judge(self, prompt: str, response: str) -> dict: ...

    def judge_batch(self, prompts: list[str], responses: list[str]) -> list[dict]: ...


# Every judge module registers its class here; `get_judge` builds one by name.
JUDGES: Registry = Registry("judge", modules=tuple(f"{__package__}.{m}" for m in ("keyword", "refusal", "llm", "classifier")))
register = JUDGES.register()


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


def judge_outcomes(judge: Judge, prompts: list[str], responses: list[str]) -> list[dict]:
    """`judge.judge_batch` plus the three-way outcome of every row (refused / complied /
    neither, with its reason) and its fluency measures (see `detectors.outcome`).

    Every judge maps onto the same outcomes: a row it judged refused (or, for harmfulness
    classifiers, safe) is `refused`; the rest go through the rule-based checks for
    degenerate, self-description-only and off-topic responses, so a broken answer is never
    counted as compliance. An empty response is `neither/empty` whatever the judge said. A
    row the judge could not read (refused None) keeps outcome None.
    """
    from ...detectors.outcome import Outcome, classify, fluency

    out = []
    for prompt, response, v in zip(prompts, responses, judge.judge_batch(prompts, responses)):
        if v.get("refused") is None:  # unreadable verdict: no outcome, fluency still measured
            extra = Outcome(None, None, fluency(response)).as_dict()
        else:
            extra = classify(prompt, response, bool(v["refused"])).as_dict()
        out.append({**v, **extra})
    return out
