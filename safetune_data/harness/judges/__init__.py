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

from .base import JUDGES, BaseJudge, Judge, verdict
from .classifier import ClassifierJudge
from .keyword import TEST_PREFIXES, KeywordJudge
from .llm import LLMJudge, parse_score
from .refusal import RefusalJudge


def get_judge(name: str, **options) -> Judge:
    """Build judge `name` with its options; unknown names or options raise ConfigError."""
    return JUDGES.get(name)(**JUDGES.check_params(name, options))


__all__ = [
    "JUDGES", "Judge", "BaseJudge", "get_judge", "verdict", "KeywordJudge", "RefusalJudge", "LLMJudge",
    "ClassifierJudge", "TEST_PREFIXES", "parse_score",
]
