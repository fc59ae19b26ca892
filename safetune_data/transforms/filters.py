"""Record filters: keep or drop a conversation, each drop counted with its reason."""
from __future__ import annotations

import random
import re

from ..detectors.identity import find_identity
from ..detectors.refusal import is_refusal
from ..detectors.roleplay import roleplay_where
from ..errors import ParamError
from ..registry import schema
from .base import Outcome, Transform, register

_ROLE_ENUM = ["system", "user", "assistant", "tool"]


@register
class LengthFilter(Transform):
    """Drop conversations whose turns are too short or too long (characters)."""

    name = "filter.length"
    params_schema = schema(
        role={"enum": ["user", "assistant", "any", "total"], "default": "assistant", "description": "which turns to measure; total = all turns together"},
        min_chars={"type": "integer", "minimum": 0, "default": 0},
        max_chars={"type": ["integer", "null"], "minimum": 1, "default": None},
    )

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        role, lo, hi = self.params["role"], self.params["min_chars"], self.params["max_chars"]
        msgs = record["messages"]
        if role == "total":
            lengths = [sum(len(m["content"]) for m in msgs)]
        else:
            lengths = [len(m["content"]) for m in msgs if role == "any" or m["role"] == role]
        if any(n < lo for n in lengths):
            return Outcome.dropped(f"{role} shorter than {lo} chars")
        if hi is not None and any(n > hi for n in lengths):
            return Outcome.dropped(f"{role} longer than {hi} chars")
        return Outcome.unchanged(record, "kept")


@register
class RegexFilter(Transform):
    """Drop (or keep only) conversations whose turns match a regular expression."""

    name = "filter.regex"
    params_schema = schema(
        required=["pattern"],
        pattern={"type": "string", "minLength": 1},
        roles={"type": "array", "items": {"enum": _ROLE_ENUM}, "default": ["user", "assistant"]},
        action={"enum": ["drop", "keep"], "default": "drop", "description": "drop matching rows, or keep only matching rows"},
        ignore_case={"type": "boolean", "default": True},
    )

    def setup(self) -> None:
        try:
            self.regex = re.compile(self.params["pattern"], re.I if self.params["ignore_case"] else 0)
        except re.error as exc:
            raise ParamError(f"invalid regular expression: {exc}", field="pattern") from None

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        roles = set(self.params["roles"])
        hit = any(m["role"] in roles and self.regex.search(m["content"]) for m in record["messages"])
        if self.params["action"] == "drop":
            return Outcome.dropped("matches pattern") if hit else Outcome.unchanged(record, "kept")
        return Outcome.unchanged(record, "kept") if hit else Outcome.dropped("does not match pattern")


@register
class RolesFilter(Transform):
    """Drop conversations by their turn structure (system prompt, tool turns, turn count)."""

    name = "filter.roles"
    params_schema = schema(
        require={"type": "array", "items": {"enum": _ROLE_ENUM}, "default": []},
        forbid={"type": "array", "items": {"enum": _ROLE_ENUM}, "default": []},
        max_turns={"type": ["integer", "null"], "minimum": 1, "default": None, "description": "most user turns"},
    )

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        roles = [m["role"] for m in record["messages"]]
        for r in self.params["require"]:
            if r not in roles:
                return Outcome.dropped(f"no {r} turn")
        for r in self.params["forbid"]:
            if r in roles:
                return Outcome.dropped(f"has {r} turn")
        mt = self.params["max_turns"]
        if mt is not None and roles.count("user") > mt:
            return Outcome.dropped(f"more than {mt} user turns")
        return Outcome.unchanged(record, "kept")


@register
class FactorFilter(Transform):
    """Drop conversations that already carry a factor: refusals, identity statements, persona framing.

    Uses the product's own detectors, so a study's variants are not confounded by rows that
    already refuse or already say "As an AI ..."."""

    name = "filter.factors"
    params_schema = schema(
        refusal={"type": "boolean", "default": True, "description": "drop rows whose answer refuses"},
        identity={"type": "boolean", "default": True, "description": "drop rows whose answer states an identity"},
        roleplay={"type": "boolean", "default": False, "description": "drop rows with persona framing"},
    )

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        answers = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
        if self.params["refusal"] and any(is_refusal(a) for a in answers):
            return Outcome.dropped("answer refuses")
        if self.params["identity"] and any(find_identity(a) for a in answers):
            return Outcome.dropped("answer states an identity")
        if self.params["roleplay"] and roleplay_where(record):
            return Outcome.dropped("persona framing")
        return Outcome.unchanged(record, "kept")


length = LengthFilter
regex = RegexFilter
roles = RolesFilter
factors = FactorFilter
