"""Role-play transforms: add persona framing, or strip it.

Persona framing in training data ("You are a pirate captain ...") degrades a fine-tuned
model's safety; these transforms move a data set along that factor in either direction.

- `roleplay.add` puts a persona in the system prompt ("You are ...", prepended to an
  existing system prompt with a blank line) or in front of the first user turn
  ("Pretend you are ... ", "Act as ... and answer the following:").
- `roleplay.strip` removes framing sentences from the system prompt (a system prompt that
  was only framing is removed) and the framing that opens the first user turn.

Both use `safetune_data.detectors.roleplay`, and every built-in persona is checked at set-up
to be recognised by it, so that strip undoes add exactly.

    from safetune_data import transforms as T
    ds.map(T.roleplay.add(where="system", assign="domain"), batched=True)
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..detectors.roleplay import PersonaMatch, find_persona
from ..errors import ParamError
from .base import Outcome, Transform, register
from .identity import capitalize_first, load_list_file, load_package_yaml, remove_span


@dataclass(frozen=True)
class Persona:
    id: str
    name: str
    description: str
    keywords: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def builtin_library() -> dict[str, Any]:
    """{"personas": [...], "system_templates": [...], "user_templates": [...]}."""
    return load_package_yaml("personas.yaml")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "persona"


def _to_persona(i: int, item: Any) -> Persona:
    if isinstance(item, str):
        item = {"description": item}
    if not isinstance(item, dict) or not isinstance(item.get("description"), str) or not item["description"].strip():
        raise ParamError(f"persona {i} needs a 'description' string", field="personas")
    desc = item["description"].strip().rstrip(".")
    name = str(item.get("name") or desc)
    keywords = item.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ParamError(f"persona {i}: 'keywords' must be a list of strings", field="personas")
    return Persona(str(item.get("id") or _slug(name)), name, desc, tuple(k.lower() for k in keywords))


def load_personas(spec: str | list) -> list[Persona]:
    """'builtin', a list of descriptions or {id, name, description, keywords}, or a file path."""
    if spec == "builtin":
        raw = builtin_library()["personas"]
    elif isinstance(spec, str):
        raw = load_list_file(spec, "personas")
        if isinstance(raw, dict):
            raw = raw.get("personas")
            if not isinstance(raw, list):
                raise ParamError(f"{spec} has no 'personas' list", field="personas")
    else:
        raw = spec
    personas = [_to_persona(i, item) for i, item in enumerate(raw)]
    ids = [p.id for p in personas]
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup:
        raise ParamError(f"persona id '{dup}' appears twice", field="personas")
    return personas


def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern | None:
    if not keywords:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def _framing_at_start(text: str) -> PersonaMatch | None:
    """The persona framing that opens `text`, if any."""
    for m in find_persona(text):
        if not text[: m.start].strip():
            return m
        break
    return None


@register
class RoleplayAdd(Transform):
    """Add persona framing to the system prompt or the first user turn."""

    name = "roleplay.add"
    params_schema = {
        "type": "object",
        "properties": {
            "where": {"enum": ["system", "user"], "default": "system"},
            "personas": {
                "description": "'builtin', a list of descriptions or {id, name, description, keywords}, or a YAML/JSON/text file",
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": ["string", "object"]}},
                ],
                "default": "builtin",
            },
            "assign": {"enum": ["one", "random", "domain"], "default": "one"},
            "persona": {"type": ["string", "null"], "minLength": 1, "default": None, "description": "id or name, for assign: one"},
            "templates": {
                "description": "framing templates with {persona}; default: the built-in ones for `where`",
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": "\\{persona\\}"},
            },
            "rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        },
        "additionalProperties": False,
    }

    def setup(self) -> None:
        p = self.params
        self.personas = load_personas(p["personas"])
        if not self.personas:
            raise ParamError("no personas given", field="personas")
        self.templates = list(p.get("templates") or builtin_library()[f"{p['where']}_templates"])
        if p["assign"] == "one":
            wanted = p["persona"]
            if wanted is None:
                self.fixed = self.personas[0]
            else:
                found = [x for x in self.personas if wanted in (x.id, x.name)]
                if not found:
                    import difflib

                    close = difflib.get_close_matches(wanted, [x.id for x in self.personas], n=1)
                    raise ParamError(f"unknown persona '{wanted}'", field="persona",
                                     hint=f"did you mean '{close[0]}'?" if close else "run with assign: random or list the personas")
                self.fixed = found[0]
        elif p["persona"] is not None:
            raise ParamError("'persona' applies only to assign: one", field="persona")
        self.keyword_res = [_keyword_pattern(x.keywords) for x in self.personas]
        if p["assign"] == "domain" and not any(self.keyword_res):
            raise ParamError("assign: domain needs personas with keywords", field="assign")
        self._check_recognised()

    def _check_recognised(self) -> None:
        """Every framing we add must be one that `roleplay.strip` recognises and removes whole."""
        for persona in self.personas:
            for k, template in enumerate(self.templates):
                framing = self._frame(template, persona)
                rest = framing + "Answer."
                stripped = _strip_text(rest, leading_only=self.params["where"] == "user")[0]
                if stripped != "Answer.":
                    raise ParamError(
                        f"persona '{persona.id}' with template {k} is not recognised as role-play framing: {framing!r}",
                        field="personas" if self.params["personas"] != "builtin" else "templates",
                        hint="start the description with an article ('a ...', 'an ...') and keep it to one clause",
                    )

    def _frame(self, template: str, persona: Persona) -> str:
        text = template.replace("{persona}", persona.description)
        if self.params["where"] == "system":
            return text.strip() + "\n\n"
        return text if text[-1:].isspace() else text + " "

    def _choose(self, user_text: str, rng: random.Random) -> tuple[Persona, str]:
        assign = self.params["assign"]
        if assign == "one":
            return self.fixed, "one"
        if assign == "domain":
            scores = [len({m.group().lower() for m in r.finditer(user_text)}) if r else 0 for r in self.keyword_res]
            best = max(scores)
            if best > 0:
                tied = [i for i, s in enumerate(scores) if s == best]
                return self.personas[tied[rng.randrange(len(tied))]], f"domain({best})"
            return self.personas[rng.randrange(len(self.personas))], "domain-fallback"
        return self.personas[rng.randrange(len(self.personas))], "random"

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        if not self.selected(record, self.params["rate"]):
            return Outcome.unchanged(record, "not selected")
        messages = list(record["messages"])
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not users:
            return Outcome.unchanged(record, "no user turn")
        first_user = messages[users[0]]["content"]
        where = self.params["where"]
        has_system = bool(messages) and messages[0]["role"] == "system"
        if where == "system" and has_system and find_persona(messages[0]["content"]):
            return Outcome.unchanged(record, "already has persona")
        if where == "user" and _framing_at_start(first_user):
            return Outcome.unchanged(record, "already has persona")
        persona, how = self._choose(first_user, rng)
        k = rng.randrange(len(self.templates))
        framing = self._frame(self.templates[k], persona)
        if where == "system":
            if has_system:
                messages[0] = {**messages[0], "content": framing + messages[0]["content"]}
            else:
                messages.insert(0, {"role": "system", "content": framing.rstrip()})
        else:
            messages[users[0]] = {**messages[users[0]], "content": framing + first_user}
        detail = f"persona={persona.id} where={where} template={k} assign={how}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=[persona.id])


def _strip_text(text: str, leading_only: bool) -> tuple[str, list[str]]:
    """Remove persona framing: every framing sentence, or only the framing that opens the text."""
    fired: list[str] = []
    if leading_only:
        while True:
            m = _framing_at_start(text)
            if m is None or m.text.rstrip().endswith("?"):
                break
            rest = text[m.end :].lstrip()
            if not rest:
                break
            clause = m.text.endswith(",")
            text = capitalize_first(rest) if clause else rest
            fired.append(m.pattern)
        return text, fired
    for m in reversed(find_persona(text)):
        if m.text.rstrip().endswith("?"):
            continue
        if m.text.endswith(","):
            text = text[: m.start] + capitalize_first(text[m.end :].lstrip())
        else:
            text = remove_span(text, m.start, m.end)
        fired.append(m.pattern)
    return text, sorted(fired)


@register
class RoleplayStrip(Transform):
    """Remove persona framing from the system prompt and the opening of the first user turn."""

    name = "roleplay.strip"
    params_schema = {
        "type": "object",
        "properties": {
            "where": {
                "type": "array",
                "items": {"enum": ["system", "user"]},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["system", "user"],
            },
        },
        "additionalProperties": False,
    }

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        where = set(self.params["where"])
        messages = list(record["messages"])
        fired: list[str] = []
        done: list[str] = []
        if "system" in where and messages and messages[0]["role"] == "system":
            new, f = _strip_text(messages[0]["content"], leading_only=False)
            if f:
                fired += f
                if new.strip():
                    messages[0] = {**messages[0], "content": new}
                    done.append("system: framing removed")
                else:
                    messages.pop(0)
                    done.append("system: prompt removed")
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if "user" in where and users:
            i = users[0]
            new, f = _strip_text(messages[i]["content"], leading_only=True)
            if f:
                fired += f
                messages[i] = {**messages[i], "content": new}
                done.append("user: framing removed")
        if not fired:
            return Outcome.unchanged(record, "no persona")
        return Outcome.changed({**record, "messages": messages}, "; ".join(done) + f" ({', '.join(fired)})", fired=fired)


# Short names for Python use: T.roleplay.add(...), T.roleplay.strip()
add = RoleplayAdd
strip = RoleplayStrip
