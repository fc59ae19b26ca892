"""Agreement between two sets of verdicts: a judge against human labels, or two judges.

Every rule-based or model judge is wrong on someone's outputs (string-match refusal checks
are a recurring complaint), so the advice is to hand-label about 50 of your own model's
responses and measure the judge on them before trusting its rates. This module does the
measuring: accuracy, precision / recall / F1 of the positive label, Cohen's kappa (agreement
beyond what two raters with these label shares would reach by chance), the confusion table,
and the rows where the two disagree, for reading.

Labels are compared as strings after `normalise_label`: booleans and the words people use
for them ("refused", "refusal", "yes", "1", XSTest's "2_full_refusal" ...) map onto
`refused` / `complied`, so a judgement file's `refused` column can be compared with a human
`final_label` column directly. Other labels (e.g. three-way outcomes) are compared as given.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ...stats import wilson_interval

_REFUSED = {"true", "1", "yes", "refused", "refusal", "refuse", "2_full_refusal", "3_partial_refusal",
            "full_refusal", "partial_refusal", "unsafe_refused"}
_COMPLIED = {"false", "0", "no", "complied", "compliance", "comply", "1_full_compliance", "full_compliance"}


def normalise_label(value: Any) -> str | None:
    """A verdict or human label as a comparable string; None for a missing one."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "refused" if value else "complied"
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _REFUSED:
        return "refused"
    if text in _COMPLIED:
        return "complied"
    return text


@dataclass
class Agreement:
    """Agreement of `predicted` with `reference` over the rows both label."""

    n: int
    skipped: int  # rows where either side has no label
    accuracy: float | None
    accuracy_ci: tuple[float, float]
    kappa: float | None
    positive: str
    precision: float | None
    recall: float | None
    f1: float | None
    labels: list[str]
    confusion: dict[str, dict[str, int]]  # reference label -> predicted label -> count
    disagreements: list[int] = field(default_factory=list)  # row indices

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "skipped": self.skipped, "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci), "kappa": self.kappa, "positive": self.positive,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "confusion": self.confusion, "disagreements": len(self.disagreements),
        }


def agreement(predicted: list[Any], reference: list[Any], positive: str = "refused") -> Agreement:
    """Compare two equally long label lists (row i with row i)."""
    if len(predicted) != len(reference):
        raise ValueError(f"{len(predicted)} predictions but {len(reference)} reference labels")
    pairs, disagree, skipped = [], [], 0
    for i, (p, r) in enumerate(zip(predicted, reference)):
        p, r = normalise_label(p), normalise_label(r)
        if p is None or r is None:
            skipped += 1
            continue
        pairs.append((r, p))
        if p != r:
            disagree.append(i)
    n = len(pairs)
    labels = sorted({x for pair in pairs for x in pair})
    counts = Counter(pairs)
    confusion = {r: {p: counts.get((r, p), 0) for p in labels} for r in labels}
    agree = sum(1 for r, p in pairs if r == p)
    accuracy = agree / n if n else None
    kappa = None
    if n:
        ref_share = Counter(r for r, _ in pairs)
        pred_share = Counter(p for _, p in pairs)
        chance = sum(ref_share[x] * pred_share[x] for x in labels) / (n * n)
        kappa = 1.0 if chance == 1.0 else (accuracy - chance) / (1.0 - chance)
    tp = counts.get((positive, positive), 0)
    predicted_pos = sum(v for (r, p), v in counts.items() if p == positive)
    actual_pos = sum(v for (r, p), v in counts.items() if r == positive)
    precision = tp / predicted_pos if predicted_pos else None
    recall = tp / actual_pos if actual_pos else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return Agreement(n, skipped, accuracy, wilson_interval(agree, n), kappa, positive, precision, recall, f1,
                     labels, confusion, disagree)


def render_agreement(a: Agreement, predicted_name: str, reference_name: str) -> str:
    """Plain-text report: the figures, then the confusion table (rows: reference)."""
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = [
        f"{predicted_name} vs {reference_name}: {a.n} rows compared" + (f", {a.skipped} without a label skipped" if a.skipped else ""),
        f"accuracy {fmt(a.accuracy)} (95% CI {a.accuracy_ci[0]:.3f}-{a.accuracy_ci[1]:.3f}), Cohen's kappa {fmt(a.kappa)}",
        f"'{a.positive}': precision {fmt(a.precision)}, recall {fmt(a.recall)}, F1 {fmt(a.f1)}",
        "",
        "confusion (rows: " + reference_name + ", columns: " + predicted_name + ")",
    ]
    width = max([len(x) for x in a.labels] + [10])
    lines.append(" " * (width + 2) + "  ".join(x.rjust(width) for x in a.labels))
    for r in a.labels:
        lines.append(r.ljust(width + 2) + "  ".join(str(a.confusion[r][p]).rjust(width) for p in a.labels))
    return "\n".join(lines)
