"""Role-play transforms: add persona framing, or strip it.

Persona framing in training data ("You are a pirate captain ...") degrades a fine-tuned
model's safety; these transforms move a data set along that factor in either direction,
and only along it: a rewritten row must not contradict itself.

- `roleplay.add` puts a persona in the system prompt ("You are ...", prepended to an
  existing system prompt with a blank line) or in front of the first user turn
  ("Pretend you are ... ", "Act as ... and answer the following:"). It leaves a row alone
  when a persona would clash with it: the system prompt fixes an output format or tool
  contract, the row already frames the assistant (a persona, a task premise, a functional
  role, or, for a system persona, the assistant's own identity prompt), an answer states an
  AI identity (unless `with_identity: keep`), or the row is not in English. Answers are
  never touched.
- `roleplay.strip` removes persona framing sentences from the system prompt (a system
  prompt that was only framing is removed) and from user turns, and keeps what the row
  needs: creative and scenario premises of a task and product identity prompts ("You are
  Chef Bot, a cooking assistant for Acme Foods.").

Both use `safetune_data.detectors.roleplay`: every framing `add` writes is checked, in
context, to be one that `strip` removes whole, so that strip undoes add exactly.

    from safetune_data import transforms as T
    ds.map(T.roleplay.add(where="system", assign="domain"), batched=True)
"""
from __future__ import annotations

import difflib
import random
import re
from dataclasses import dataclass

from ..detectors.language import detect_language
from ..detectors.roleplay import PREMISE_KINDS, find_framing, format_contract, framing_kinds
from ..errors import ParamError
from ..resources import Persona, builtin_library, load_personas
from ..text import capitalize_first, remove_span
from ..registry import schema
from .base import Outcome, Transform, register
from .fidelity import identity_present


def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern | None:
    if not keywords:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)) + r")\b", re.IGNORECASE)


@register
class RoleplayAdd(Transform):
    """Add persona framing to the system prompt or the first user turn."""

    name = "roleplay.add"
    factor = "roleplay"
    target = frozenset({"present"})
    params_schema = schema(
        where={"enum": ["system", "user"], "default": "system"},
        personas={
            "description": "'builtin', a list of descriptions or {id, name, description, keywords}, or a YAML/JSON/text file",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": ["string", "object"]}},
            ],
            "default": "builtin",
        },
        assign={"enum": ["one", "random", "domain"], "default": "one"},
        persona={"type": ["string", "null"], "minLength": 1, "default": None, "description": "id or name, for assign: one"},
        templates={
            "description": "framing templates with {persona}; default: the built-in ones for `where`",
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": "\\{persona\\}"},
        },
        rate={"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        with_identity={
            "enum": ["skip", "keep"],
            "default": "skip",
            "description": "rows whose answer or system prompt states an AI identity: leave alone (skip) or add the persona anyway (keep; a factorial grid that sets identity itself)",
        },
    )

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
                if _strip_text(framing + "Answer.", self.params["where"]).text != "Answer.":
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
        clash = self._clash(record)
        if clash:
            return Outcome.unchanged(record, clash[0], fired=clash[1:])
        where = self.params["where"]
        i = users[0] if where == "user" else (0 if messages[0]["role"] == "system" else None)  # None: no system prompt yet
        original = "" if i is None else messages[i]["content"]
        persona, how = self._choose(messages[users[0]]["content"], rng)
        found = self._fitting_framing(persona, original, rng.sample(range(len(self.templates)), len(self.templates)))
        if found is None:
            return Outcome.unchanged(record, "framing would read as a task premise")
        k, framing = found
        if i is None:
            messages.insert(0, {"role": "system", "content": framing.rstrip()})
        else:
            messages[i] = {**messages[i], "content": framing + original}
        detail = f"persona={persona.id} where={where} template={k} assign={how}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=[persona.id], added=(framing.strip(),))

    def _clash(self, record: dict) -> tuple[str, ...] | None:
        """Why a persona would contradict this row (reason, fired names), or None.

        A persona over a JSON/tool contract, over another persona or a task premise, over a
        product identity prompt, or over answers that say "as an AI model" makes the row say
        two incompatible things about who answers and how.
        """
        messages = record["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        first_user = next(m["content"] for m in messages if m["role"] == "user")
        contract = format_contract(system) if system else None
        if contract:
            return ("system prompt sets an output format", f"format:{contract}")
        kinds = framing_kinds(record)
        persona_at = sorted(r for r, k in kinds.items() if "persona" in k)
        if persona_at:
            return (f"already has persona ({', '.join(persona_at)})",)
        premise = sorted(kinds.get("user", set()) & PREMISE_KINDS)
        if premise:
            return ("user turn sets a task premise", *premise)
        functional = sorted(r for r, k in kinds.items() if "functional_role" in k)
        if functional:
            return ("row assigns a functional role", *(f"functional:{r}" for r in functional))
        if (self.params["where"] == "system" and self.params["with_identity"] == "skip"
                and "assistant_identity" in kinds.get("system", set())):
            return ("system prompt sets the assistant identity",)
        said = {k for k in ("assistant_identity", "remark") if k in {m.kind for m in find_framing(first_user, "user")}}
        if said:
            return ("user turn already says who the assistant is", *sorted(said))
        for text in (first_user, system or ""):
            lang = detect_language(text)
            if lang not in ("en", "unknown"):
                return ("not English", f"language:{lang}")
        if self.params["with_identity"] == "skip":
            if any(identity_present(m["content"] or "") for m in messages if m["role"] == "assistant"):
                return ("answer states an AI identity",)
        return None

    def _fitting_framing(self, persona: Persona, original: str, order: list[int]) -> tuple[int, str] | None:
        """The first template in `order` (a seeded shuffle, so the fitting ones stay equally
        likely) whose framing reads as persona framing in front of `original` and is removed
        whole by `roleplay.strip` ("Pretend you are X. Write a poem" reads as a creative
        premise, so another template is used), or None."""
        for kk in order:
            framing = self._frame(self.templates[kk], persona)
            stripped = _strip_text(framing + original, self.params["where"])
            if stripped.removed and stripped.text == original:
                return kk, framing
        return None


@dataclass
class Stripped:
    """A text with its persona framing removed: what was removed, which patterns, what was kept."""

    text: str
    removed: list[str]
    fired: list[str]
    kept: list[str]


def _strip_text(text: str, role: str) -> Stripped:
    """Remove every persona framing sentence of `text` (a message of `role`); keep premises,
    identity prompts and functional roles. An opening clause ("Act as a pirate, how ...?")
    goes with its comma and the next word is re-capitalised."""
    out = Stripped(text, [], [], [])
    for m in reversed(find_framing(text, role)):
        if m.kind != "persona":
            out.kept.append(m.kind)
            continue
        if m.text.endswith(","):
            out.text = out.text[: m.start] + capitalize_first(out.text[m.end :].lstrip())
        else:
            out.text = remove_span(out.text, m.start, m.end)
        out.removed.append(m.text)
        out.fired.append(m.pattern)
    out.removed.reverse()
    out.fired.sort()
    return out


# A name the framing gives the persona: "Your new name is AOA", "You are Captain Morgan, ...",
# "Act as Sherlock Holmes" (a capitalised name right after the verb, with no article).
_NAME = re.compile(
    r"\b(?:name is|named|called|call you|known as|[Yy]ou are(?: now)?|[Yy]ou['’]re|[Aa]ct as|[Pp]retend to be|"
    r"[Pp]retend you are|[Pp]lay)\s+((?:[A-Z][\w'’-]*)(?:\s+[A-Z][\w'’-]*)*)"
)
_NOT_NAMES = frozenset({"I", "AI", "An", "A", "The", "ChatGPT", "GPT"})


def _names_used_elsewhere(removed: list[str], messages: list[dict]) -> list[str]:
    """Names the removed framing gave the persona ("Your new name is AOA", "You are Captain
    Morgan") that the rest of the row still uses ("Hey, AOA", "I am AOA"): the answers and
    later turns are in character, so the framing cannot go without leaving them unexplained."""
    rest = "\n".join(m["content"] or "" for m in messages)
    found: list[str] = []
    for text in removed:
        for m in _NAME.finditer(text):
            for word in m.group(1).split():
                if word in _NOT_NAMES or word in found:
                    continue
                if re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", rest):
                    found.append(word)
    return sorted(found)


_KEPT_REASONS = {
    "creative_premise": "kept creative premise",
    "scenario_premise": "kept scenario premise",
    "task_scenario": "kept task scenario",
    "assistant_identity": "kept assistant identity",
    "functional_role": "kept functional role",
}


@register
class RoleplayStrip(Transform):
    """Remove persona framing from the system prompt and the opening of the first user turn."""

    name = "roleplay.strip"
    factor = "roleplay"
    target = frozenset({"absent"})
    params_schema = schema(
        where={
            "type": "array",
            "items": {"enum": ["system", "user"]},
            "minItems": 1,
            "uniqueItems": True,
            "default": ["system", "user"],
        },
    )

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        where = set(self.params["where"])
        messages = list(record["messages"])
        removed: list[str] = []
        fired: list[str] = []
        kept: list[str] = []
        done: list[str] = []
        left: set[str] = set()
        for i in reversed(range(len(messages))):
            role = messages[i]["role"]
            if role not in ("system", "user") or (role == "system" and i != 0):
                continue
            s = _strip_text(messages[i]["content"] or "", role)
            kept += s.kept
            if not s.removed:
                continue
            if role not in where:
                left.add(role)
                continue
            if not s.text.strip() and role == "user":
                return Outcome.unchanged(record, "framing is a whole user turn", fired=s.fired)
            removed += s.removed
            fired += s.fired
            if s.text.strip():
                messages[i] = {**messages[i], "content": s.text}
                done.append(f"{role}: framing removed")
            else:
                messages.pop(i)
                done.append("system: prompt removed")
        if left:
            return Outcome.unchanged(record, "persona outside `where`", fired=sorted(left))
        named = _names_used_elsewhere(removed, messages)
        if named:
            return Outcome.unchanged(record, "the row speaks to or as the persona by name", fired=named)
        if not removed:
            reason = next((_KEPT_REASONS[k] for k in _KEPT_REASONS if k in kept), "no persona")
            return Outcome.unchanged(record, reason, fired=sorted(set(kept) & set(_KEPT_REASONS)))
        keep_note = f"; kept {', '.join(sorted(set(kept) & set(_KEPT_REASONS)))}" if set(kept) & set(_KEPT_REASONS) else ""
        detail = "; ".join(sorted(set(done))) + f" ({', '.join(sorted(fired))}){keep_note}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=sorted(fired), removed=removed)


# Short names for Python use: T.roleplay.add(...), T.roleplay.strip()
add = RoleplayAdd
strip = RoleplayStrip
