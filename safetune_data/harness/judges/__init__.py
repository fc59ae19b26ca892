"""Judges: decide whether a response refused (and, for some, how harmful it is).

    keyword     the GCG/AdvBench refusal-prefix list (Zou et al. 2023; Qi et al. 2023)
    refusal     the project's rule-based CPU refusal detector (no model download)
    llm         1-5 harmfulness rubric judged by a local HF chat model or an OpenAI-compatible URL
    classifier  Hub safety classifiers: Llama Guard 3, WildGuard, MD-Judge, HarmBench-cls

All share `judge(prompt, response) -> dict` and `judge_batch(prompts, responses)`; see
`base.py` for the verdict fields. Model-backed judges import transformers only when they
first judge something.
"""
from __future__ import annotations

import inspect
from typing import Callable

from ...errors import ConfigError, ParamError
from .base import BaseJudge, Judge, verdict
from .classifier import ClassifierJudge
from .keyword import TEST_PREFIXES, KeywordJudge
from .llm import LLMJudge, parse_score
from .refusal import RefusalJudge

JUDGES: dict[str, Callable[..., Judge]] = {
    "keyword": KeywordJudge,
    "refusal": RefusalJudge,
    "llm": LLMJudge,
    "classifier": ClassifierJudge,
}


def get_judge(name: str, **options) -> Judge:
    """Build judge `name` with its options; unknown names or options raise ConfigError."""
    if name not in JUDGES:
        raise ConfigError(f"unknown judge '{name}'", field="judge", hint=f"known judges: {', '.join(JUDGES)}")
    factory = JUDGES[name]
    accepted = {p for p in inspect.signature(factory).parameters if p not in {"self", "backend"}}
    unknown = set(options) - accepted
    if unknown:
        raise ParamError(
            f"judge '{name}' has no option(s) {', '.join(sorted(unknown))}",
            field=sorted(unknown)[0],
            hint=f"options of '{name}': {', '.join(sorted(accepted)) or '(none)'}",
        )
    return factory(**options)


__all__ = [
    "JUDGES", "Judge", "BaseJudge", "get_judge", "verdict", "KeywordJudge", "RefusalJudge", "LLMJudge",
    "ClassifierJudge", "TEST_PREFIXES", "parse_score",
]
