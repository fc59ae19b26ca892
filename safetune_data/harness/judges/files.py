"""Judging a file of responses (`safetune judge`): read its rows, judge them in batches,
optionally send the rows the first judge is unsure of to a second (the CLI writes them back
with `io.atomic.write_jsonl_atomic`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ...errors import InputError
from .base import Judge, judge_outcomes

BATCH = 64
VERDICT_KEYS = ("outcome", "outcome_reason", "distinct_2", "repetition_share")


def require_field(rows: list[dict], path: Path, field: str, option: str) -> None:
    """Every row has `field`; else an InputError naming the row and the option that chose it."""
    for i, row in enumerate(rows):
        if field not in row:
            raise InputError(f"no field '{field}' (fields: {', '.join(map(str, row.keys()))})", file=str(path),
                             row=i, field=field, hint=f"choose the column with {option}")


def judge_rows(judge: Judge, rows: list[dict], prompt_field: str | None, response_field: str,
               escalate: Judge | None = None, on_rows: Callable[[int], None] | None = None) -> list[dict]:
    """Every row plus `refused` and its three-way outcome, and `score` / `rationale` /
    `refusal_score` / `uncertain` when the judge gives them. With `escalate` (a second judge),
    rows the first judge marks uncertain are decided by the second; `decided_by` says which.
    `on_rows(n)` as each batch of n rows is judged."""
    out: list[dict] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        prompts = [str(r.get(prompt_field, "") or "") if prompt_field else "" for r in chunk]
        responses = [str(r[response_field] or "") for r in chunk]
        verdicts = judge_outcomes(judge, prompts, responses)
        decided = [judge.name] * len(chunk)
        unsure = [i for i, v in enumerate(verdicts) if v.get("uncertain")]
        if escalate is not None and unsure:
            second = judge_outcomes(escalate, [prompts[i] for i in unsure], [responses[i] for i in unsure])
            for i, v in zip(unsure, second):
                if v.get("refused") is not None:  # an unreadable second verdict keeps the first
                    verdicts[i] = {**v, "uncertain": True}
                    decided[i] = escalate.name
        for row, v, by in zip(chunk, verdicts, decided):
            judged = dict(row)
            judged["refused"] = v["refused"]
            for key in VERDICT_KEYS:
                judged[key] = v.get(key)
            for key in ("score", "rationale", "refusal_score", "uncertain"):
                if v.get(key) is not None:
                    judged[key] = v[key]
            if escalate is not None:
                judged["decided_by"] = by
            out.append(judged)
        if on_rows:
            on_rows(len(chunk))
    return out
