"""Answers written from templates (`answer.template`).

An alignment stage needs harmful prompts paired with refusals; writing those pairs by hand
into a data file hides the choice of wording from the recipe. This step draws each answer
from a list of templates (seeded per record), so the pairing is one readable recipe step
and its spread over templates is counted in the manifest:

    steps:
      - answer.template: {templates: refusals.yaml}   # a YAML list, or {templates: [...]}

Templates are used as written (no placeholders): the same text may answer many prompts.
"""
from __future__ import annotations

import random
from pathlib import Path

from ..errors import ParamError
from ..registry import schema
from ..resources import load_list_file
from .base import Outcome, Transform, register


def _load_templates(spec: str | list) -> list[str]:
    data = spec if isinstance(spec, list) else load_list_file(spec, "templates", key="templates")
    if not data or not all(isinstance(t, str) and t.strip() for t in data):
        raise ParamError("templates must be a non-empty list of non-empty strings", field="templates")
    return [t.strip() for t in data]


@register
class AnswerTemplate(Transform):
    """Replace the assistant answer with a template drawn per record (e.g. refusals for harmful prompts)."""

    name = "answer.template"
    params_schema = schema(
        required=["templates"],
        templates={
            "description": "a list of answers, or a path to a YAML/JSON list (or {templates: [...]}) / text file, one per line",
            "oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        },
        turns={"enum": ["last", "all"], "default": "last", "description": "which assistant turns to replace"},
        rate={"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
    )

    def setup(self) -> None:
        self.templates = _load_templates(self.params["templates"])
        spec = self.params["templates"]
        self.source = Path(spec).name if isinstance(spec, str) else "inline"

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        if not self.selected(record, self.params["rate"]):
            return Outcome.unchanged(record, "not selected")
        msgs = [dict(m) for m in record["messages"]]
        targets = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
        if self.params["turns"] == "last":
            targets = targets[-1:]
        chosen = []
        for i in targets:
            k = rng.randrange(len(self.templates))
            msgs[i]["content"] = self.templates[k]
            chosen.append(k)
        fired = [f"template {k}" for k in chosen]
        return Outcome.changed({**record, "messages": msgs},
                               f"answer from {self.source} template {', '.join(map(str, chosen))}", fired=fired)


template = AnswerTemplate
