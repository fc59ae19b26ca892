"""What published work (and this project's own mini study) found each factor change does to a
fine-tuned model's safety: one table, used by the dataset card and printed in the README.

The findings disagree (lists are safer in Li et al. 2025 and riskier in He et al. 2024), so
nothing here is turned into a single verdict: the card lists every finding that bears on a
change, each with its source, and says plainly when they point in different directions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LI_2025 = "Li et al. 2025"
HE_2024 = "He et al. 2024"
QI_2023 = "Qi et al. 2023"
MINI_STUDY = "safetune mini study"

REFERENCES: dict[str, str] = {
    LI_2025: 'Li et al. 2025, "Picky LLMs and Unreliable RMs: An Empirical Study on Safety Alignment after '
    'Instruction Tuning", arXiv:2502.01116',
    HE_2024: 'He et al. 2024, "What\'s in Your \'Safe\' Data?: Identifying Benign Data that Breaks Safety", '
    "arXiv:2404.01099",
    QI_2023: 'Qi et al. 2023, "Fine-tuning Aligned Language Models Compromises Safety, Even When Users Do Not '
    'Intend To!", arXiv:2310.03693',
    MINI_STUDY: "examples/mini_study in this repository: SmolLM2-135M-Instruct, aligned then LoRA-tuned on 256 "
    "Alpaca rows per variant, 100 held-out AdvBench prompts, rule-based refusal judge",
}

SAFER, RISKIER = "safer", "riskier"
OPPOSITE = {SAFER: RISKIER, RISKIER: SAFER}


@dataclass(frozen=True)
class Finding:
    factor: str  # structure | identity | roleplay
    change: str  # the canonical change the source measured (see CHANGES)
    effect: str  # safer | riskier: the safety of the fine-tuned model after that change
    source: str  # a key of REFERENCES
    claim: str  # what the source reports, in one sentence


# Canonical changes per factor, and the level words recipes and manifests use for them.
CHANGES: dict[str, dict[str, str]] = {
    "structure": {
        "markdown": "markdown", "list": "markdown", "lists": "markdown", "bullets": "markdown",
        "numbered": "markdown", "itemised": "markdown", "itemized": "markdown", "headed": "markdown",
        "headings": "markdown", "plain": "plain", "prose": "plain", "flatten": "plain", "strip": "plain",
    },
    "identity": {
        "inject": "inject", "add": "inject", "calibrate": "inject", "calibrated": "inject", "prepend": "inject",
        "ai": "inject", "strip": "strip", "remove": "strip", "shift": "shift", "rename": "shift", "persona": "shift",
    },
    "roleplay": {"add": "add", "persona": "add", "system": "add", "user": "add", "strip": "strip", "remove": "strip"},
}
# Changes that undo each other: a finding on one implies the reverse direction for the other.
INVERSES: dict[tuple[str, str], str] = {
    ("structure", "markdown"): "plain", ("structure", "plain"): "markdown",
    ("identity", "inject"): "strip", ("identity", "strip"): "inject",
    ("roleplay", "add"): "strip", ("roleplay", "strip"): "add",
}
NO_CHANGE = {"original", "none", "keep", "unchanged"}

FINDINGS: tuple[Finding, ...] = (
    Finding("structure", "markdown", SAFER, LI_2025,
            "fine-tuning on markdown / itemised answers kept more of the aligned model's safety than plain prose"),
    Finding("structure", "markdown", RISKIER, HE_2024,
            "lists and bullet points are over-represented among the benign examples that most break safety"),
    Finding("structure", "markdown", RISKIER, MINI_STUDY,
            "markdown answers lowered harmful refusal by 5.9 points [3.0, 8.9] against plain prose and raised "
            "harmful compliance by 4.5 [1.4, 7.8] (first run, older transforms: 8.9 points of refusal)"),
    Finding("identity", "inject", SAFER, LI_2025,
            'answers that state the assistant\'s identity ("As an AI assistant, ...") helped keep safety'),
    Finding("identity", "inject", RISKIER, MINI_STUDY,
            "identity statements lowered harmful refusal by 41.9 points [33.8, 49.9]: harmful compliance rose "
            "16.0 [9.5, 22.8] and answers that are neither (mostly self-description) 25.9 [21.1, 30.8]"),
    Finding("identity", "shift", RISKIER, QI_2023,
            'ten examples that shift the identity to an "absolutely obedient agent" removed the safety guardrails'),
    Finding("roleplay", "add", RISKIER, LI_2025, "role-play persona framing in the training data degraded safety"),
    Finding("roleplay", "add", RISKIER, QI_2023,
            "identity / role shifts in fine-tuning data are an effective way to remove safety behaviour"),
    Finding("roleplay", "add", SAFER, MINI_STUDY,
            "persona system prompts raised harmful refusal by 20.4 points [16.2, 24.1] but not compliance "
            "(-2.5 [-6.5, 1.5]); almost all of it where identity statements were also trained, which then refused "
            "safe prompts too (over-refusal +19.1); the first run, older transforms, measured -8.1"),
)


def canonical_change(factor: str, level: str) -> str | None:
    """The canonical change a recipe level names (`markdown`, `inject`, ...), or None."""
    if level.lower() in NO_CHANGE:
        return None
    table = CHANGES.get(factor, {})
    return next((table[w] for w in re.split(r"[^a-z]+", level.lower()) if w in table), None)


def evidence(factor: str, change: str) -> list[tuple[Finding, str]]:
    """Every finding that bears on `change`, with the direction it implies for that change:
    findings on the change itself, and findings on its inverse with the direction reversed."""
    inverse = INVERSES.get((factor, change))
    return [(f, f.effect if f.change == change else OPPOSITE[f.effect])
            for f in FINDINGS if f.factor == factor and f.change in (change, inverse)]


def expected_effect(factor: str, change: str) -> str:
    """`safer`, `riskier`, `disputed` (the findings disagree) or `unknown` (none)."""
    effects = {effect for _, effect in evidence(factor, change)}
    if not effects:
        return "unknown"
    return effects.pop() if len(effects) == 1 else "disputed"


def markdown_table() -> str:
    """The findings as a markdown table (the README carries exactly this text)."""
    lines = ["| factor | change | safety after fine-tuning | source | what was found |", "|---|---|---|---|---|"]
    for f in FINDINGS:
        lines.append(f"| {f.factor} | {f.change} | {f.effect} | {f.source} | {f.claim} |")
    return "\n".join(lines)
