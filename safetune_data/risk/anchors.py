"""Anchor and probe sets: the harmful prompts the risk scorers compare a dataset against.

Shipped sets (`safetune_data/data/risk/`, built by `tools/make_risk_anchors.py`) come from
AdvBench's training half only (even rows), never from the half the harness evaluates on nor
from XSTest, so a scorer validated against the harness's measurements has not seen the test.

- anchors.jsonl: `{id, prompt, compliance, refusal}`; `compliance` answers have the shape of
  harmful help without specifics, `refusal` answers decline.
- probe.jsonl: `{id, prompt}`, disjoint from the anchors; the probe scorer asks the model
  itself for its answers to them.

Users pass their own files with the same fields (JSON, JSONL or CSV, read by the one row reader).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import InputError
from ..io.sources import read_rows


@dataclass(frozen=True)
class Anchor:
    id: str
    prompt: str
    compliance: str = ""
    refusal: str = ""

    def conversation(self, side: str) -> list[dict]:
        return [{"role": "user", "content": self.prompt}, {"role": "assistant", "content": getattr(self, side)}]


def _builtin(name: str) -> Path:
    return Path(str(resources.files("safetune_data").joinpath("data").joinpath("risk").joinpath(name)))


def _read(path: str | Path, need: tuple[str, ...]) -> list[Anchor]:
    out: list[Anchor] = []
    for loc in read_rows(path):
        row = loc.row
        for field in need:
            value = row.get(field)
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"'{field}' must be non-empty text", file=str(path), line=loc.line,
                                 row=None if loc.line is not None else loc.index, field=field)
        out.append(Anchor(id=str(row.get("id") or f"anchor-{loc.index}"), prompt=row["prompt"],
                          compliance=row.get("compliance") or "", refusal=row.get("refusal") or ""))
    if not out:
        raise InputError("no rows", file=str(path))
    return out


def load_anchors(path: str | Path | None = None) -> list[Anchor]:
    """Harmful prompts with a compliant and a refusing answer each (the shipped set by default)."""
    return _read(path or _builtin("anchors.jsonl"), ("prompt", "compliance", "refusal"))


def load_probe(path: str | Path | None = None) -> list[Anchor]:
    """Harmful prompts for the probe scorer (the shipped set by default)."""
    return _read(path or _builtin("probe.jsonl"), ("prompt",))
