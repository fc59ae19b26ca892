"""Role-play transforms: add persona framing, or strip it.

Persona framing in training data ("You are a pirate captain ...") degrades a fine-tuned
model's safety; these transforms move a data set along that factor in either direction,
and only along it: a rewritten row must not contradict itself.

- `roleplay.add` puts a persona in the system prompt ("You are ...", prepended to an
  existing system prompt with a blank line) or in front of the first user turn
  ("Pretend you are ... ", "Act as ... and answer the following:"). By default the persona
  is the one that fits the row (`assign: domain`: the kind of task, then the topic, then a
  general persona such as an editor or a tutor), since a persona unrelated to the task is
  what a reader notices first. It leaves a row alone when a persona would clash with it: the
  system prompt fixes an output format or tool contract, the row already frames the
  assistant (a persona, a task premise, a functional role, or, for a system persona, the
  assistant's own identity prompt), an answer states an AI identity or speaks as a program
  ("I cannot browse the internet"; unless `with_identity: keep`), an answer has a voice of
  its own that would read as the persona's, or the row is not in English. Answers are never
  touched.
- `roleplay.strip` removes persona framing sentences from the system prompt (a system
  prompt that was only framing is removed) and from user turns, and keeps what the row
  needs: creative and scenario premises of a task and product identity prompts ("You are
  Chef Bot, a cooking assistant for Acme Foods."). Since answers are never touched, it also
  leaves a row alone when the rest of it was written for the persona: answers in character
  ("Arr, matey", all capitals, "As a blacksmith, I ...", "In my experience, ..."), a persona
  that sets the answers' attitude ("a sarcastic critic") or period voice ("a 1920s radio
  announcer"), a persona that is the user's counterpart ("my debate opponent") or the "I" of
  a diary the user asks for, a persona clause that names the audience ("who explains things
  to non-technical managers") or the language the row is about ("a Spanish tutor"), a place
  the answers use ("a travel agent specializing in Japan" + "four nights in Tokyo"; a place
  they never use goes), questions that are part of a game ("Where have I been today?") or
  that name no subject ("What should I see first?"), a system prompt that still refers to
  the character ("Answer as she would."), or turns that use the persona's name.

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
from functools import lru_cache

from ..detectors.language import detect_language
from ..detectors.roleplay import (
    PREMISE_KINDS, PersonaMatch, find_framing, first_person, first_person_experience, format_contract, framing_kinds, game_question,
    persona_attitude, persona_period, persona_voice, plays_counterpart, role_noun, shouted_orders, speaks_as_role,
    speaks_for_itself,
)
from ..errors import ParamError
from ..resources import Persona, builtin_library, load_personas
from ..text import cached_search, capitalize_first, has_word, has_word_start, remove_span
from ..registry import schema
from .base import Outcome, Transform, register
from .fidelity import identity_present


def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern | None:
    if not keywords:
        return None
    # "cloud computing" also matches "cloud-computing"
    alternatives = (r"[\s-]+".join(re.escape(w) for w in k.split()) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# An answer that speaks as an AI without naming itself one ("I cannot retrieve that without
# connecting to external data sources", "I don't have personal opinions", "as of my last
# update"): a human persona in front of it makes the row say two things about who answers.
_AI_LIMITATION = re.compile(
    r"""\bI(?:['’]m|\s+am)\s+(?:not\s+able|unable)\s+to\s+(?:browse|access|retrieve|connect\s+to|search\s+the\s+(?:internet|web)|hear|taste|smell|physically)
    |\bI\s+(?:can(?:not|['’]t)|could\s+not|couldn['’]t)\s+(?:browse|access\s+(?:the\s+internet|external|real-time|current|live|your)|retrieve|connect\s+to
        |search\s+the\s+(?:internet|web)|see\s+(?:images?|pictures?|photos?|videos?|your\s+screen)|hear|taste|smell|physically|make\s+(?:phone\s+)?calls|provide\s+real-time)
    |\bI\s+do(?:n['’]t|\s+not)\s+have\s+(?:the\s+)?(?:ability|capability|capacity)\s+to\s+(?:browse|access|retrieve|connect|see|hear|taste|smell|feel|experience|physically)
    |\bI\s+do(?:n['’]t|\s+not)\s+have\s+(?:any\s+)?(?:personal\s+(?:opinions?|experiences?|feelings?|emotions?|preferences?|beliefs?|memories)
        |(?:real-time|real\s+time|current|up-to-date|internet|live)\s+(?:access|information|data)|physical\s+(?:body|form|presence)|a\s+(?:physical\s+)?body|feelings|emotions|consciousness)
    |\bmy\s+(?:training\s+data|knowledge\s+cut-?off|last\s+(?:training\s+|knowledge\s+)?update|programming)\b
    |\bwithout\s+(?:connecting\s+to|access\s+to)\s+(?:the\s+internet|external\s+(?:data\s+)?sources|real-time\s+(?:data|information))
    |\bI\s+(?:was|have\s+been)\s+(?:trained|programmed)\b""",
    re.IGNORECASE | re.VERBOSE,
)


def speaks_as_ai(text: str) -> bool:
    """The answer states a limitation only a program has ("I cannot browse the internet",
    "I don't have personal opinions", "my training data"), though it never says "AI"."""
    return bool(_AI_LIMITATION.search(text or ""))


@dataclass(frozen=True)
class TaskKind:
    """One row of the persona library's task table (`assign: domain`): a kind of task read
    from the instruction, the persona that fits any task of that kind, and whether that
    persona wins over a topic persona (a sentence to rewrite wants an editor whatever the
    sentence is about)."""

    kind: str
    persona: Persona
    over_topic: bool
    cue: re.Pattern


def _words(phrase: str) -> int:
    return len(re.split(r"[\s-]+", phrase))


# Patterns travel into the cached functions below by source text and flags: a compiled
# pattern hashes its whole compiled code on every call, a string caches its hash.
_PatternKey = tuple[tuple[str, int] | None, ...]


def _pattern_key(patterns: list[re.Pattern | None] | tuple[re.Pattern | None, ...]) -> _PatternKey:
    return tuple(None if r is None else (r.pattern, r.flags) for r in patterns)


def _compiled(key: _PatternKey) -> list[re.Pattern | None]:
    return [None if k is None else re.compile(*k) for k in key]  # (`re`'s own cache: no recompiling)


def _keyword_gate(keywords: tuple[str, ...]) -> tuple[tuple[str, bool], ...] | None:
    """What a match of `_keyword_pattern(keywords)` must hold in an ASCII text's lower case:
    one keyword's first word, lower-cased, at the start of a word (after a `\\b`), and as a whole word
    where the keyword is one plain word. None: no such gate (a keyword is not plain ASCII)."""
    out = []
    for k in keywords:
        parts = k.split()
        if not parts:
            return None  # an empty alternative matches anywhere
        first = parts[0].lower()
        if not first.isascii() or not (first[:1].isalnum() or first[:1] == "_"):
            return None
        out.append((first, len(parts) == 1 and bool(re.fullmatch(r"\w+", first))))
    return tuple(out)


@lru_cache(maxsize=8192)
def _first_cue(cues: _PatternKey, instruction: str) -> int | None:
    """Index of the first task cue found in `instruction`, cached per text (bounded)."""
    return next((k for k, cue in enumerate(_compiled(cues)) if cue.search(instruction)), None)


@lru_cache(maxsize=8192)
def _topic_scores(keyword_key: _PatternKey, gates: tuple[tuple[tuple[str, bool], ...] | None, ...],
                  instruction: str, user_text: str) -> tuple[int, ...]:
    """Per persona: its distinct keywords in the turn, those of the instruction counting
    double and a phrase by its words (`_fitting_persona`). Cached per turn (bounded); a
    persona none of whose keywords can match an ASCII turn (`_keyword_gate`, tested with
    `str.find`) scores 0 without two case-insensitive regex scans."""
    low = user_text.lower() if user_text.isascii() else None
    scores = []
    for r, gate in zip(_compiled(keyword_key), gates):
        if r is None or (low is not None and gate is not None and not any(
                f in low and (has_word(low, f) if whole else has_word_start(low, f)) for f, whole in gate)):
            scores.append(0)
            continue
        head = {m.group().lower() for m in r.finditer(instruction)}
        rest = {m.group().lower() for m in r.finditer(user_text)} - head
        # a phrase ("customer persona") says more than one of its words ("customer")
        scores.append(sum(2 * _words(k) for k in head) + sum(_words(k) for k in rest))
    return tuple(scores)


def _instruction(text: str) -> str:
    """The instruction of a first user turn: its first paragraph (Alpaca-style rows put the
    input after a blank line), so that a task word in the input does not decide the task."""
    return text.strip().split("\n\n", 1)[0]


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
        assign={
            "enum": ["one", "random", "domain"],
            "default": "domain",
            "description": "domain: the persona that fits the row (its task kind, then its topic; see `tasks`); random: any "
                           "persona, seeded per row; one: the same persona for every row (`persona`; giving `persona` alone "
                           "implies one)",
        },
        persona={"type": ["string", "null"], "minLength": 1, "default": None, "description": "id or name, for assign: one"},
        tasks={
            "enum": ["builtin", "none"],
            "default": "builtin",
            "description": "assign: domain: 'builtin' reads the kind of task from the instruction with the library's task "
                           "table (code, maths, poetry, fiction, language, writing ...) and falls back to a general persona "
                           "(editor, tutor ...); entries whose persona is not among `personas` are dropped. 'none': topic "
                           "keywords only, a seeded random persona where none matches",
        },
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

    def __init__(self, **params) -> None:
        # `persona: chef` on its own means that persona for every row, as it always has.
        if params.get("persona") is not None and "assign" not in params:
            params = {**params, "assign": "one"}
        self._assign_given = "assign" in params
        super().__init__(**params)

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
        self._keyword_gates = tuple(_keyword_gate(x.keywords) for x in self.personas)
        self.tasks, self.default = self._task_table() if p["tasks"] == "builtin" else ([], None)
        self._cues = _pattern_key([t.cue for t in self.tasks])
        self._keyword_key = _pattern_key(self.keyword_res)
        if p["assign"] == "domain" and not any(self.keyword_res) and not self.tasks and self._assign_given:
            # (by default a plain list of descriptions is drawn from at random, seeded per row)
            raise ParamError("assign: domain needs personas with keywords", field="assign")
        self._check_recognised()

    def _task_table(self) -> tuple[list[TaskKind], Persona | None]:
        """The library's task table, restricted to the personas in use (a custom persona list
        that reuses a built-in id gets its rows; one without any falls back to random)."""
        library = builtin_library()
        by_id = {x.id: x for x in self.personas}
        table = [TaskKind(t["kind"], by_id[t["persona"]], bool(t.get("over_topic")), re.compile(t["cue"], re.IGNORECASE))
                 for t in library.get("tasks") or [] if t["persona"] in by_id]
        return table, by_id.get(library.get("default") or "")

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
            return self._fitting_persona(user_text, rng)
        return self.personas[rng.randrange(len(self.personas))], "random"

    def _fitting_persona(self, user_text: str, rng: random.Random) -> tuple[Persona, str]:
        """The persona a reader would expect to answer this turn, and how it was chosen.

        The kind of task comes first where it decides who answers whatever the subject
        (code, maths, a poem, a story, a sentence to rewrite: `over_topic`); then the topic
        (most distinct keywords, those of the instruction counting double and a phrase by
        its words, ties seeded);
        then the persona of the task's kind, or the library's general default. A persona
        "unrelated to the row" (a clinician over a synonym exercise) is what reviewers
        rejected, so a random persona is drawn only when the library has no task table.
        """
        instruction = _instruction(user_text)
        k = _first_cue(self._cues, instruction)
        task = None if k is None else self.tasks[k]
        if task is not None and task.over_topic:
            return task.persona, f"domain(task:{task.kind})"
        scores = _topic_scores(self._keyword_key, self._keyword_gates, instruction, user_text)
        best = max(scores)
        if best > 0:
            tied = [i for i, s in enumerate(scores) if s == best]
            return self.personas[tied[rng.randrange(len(tied))]], f"domain({best})"
        if task is not None:
            return task.persona, f"domain(task:{task.kind})"
        if self.default is not None:
            return self.default, "domain-default"
        return self.personas[rng.randrange(len(self.personas))], "domain-fallback"

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
        depends = _depends_on_persona([framing.strip()], messages)
        if depends:
            # an answer in a voice of its own ("Arr, matey", all capitals) or a guessing game
            # would read as written for this persona, and `roleplay.strip` would rightly keep it
            return Outcome.unchanged(record, "row would read as written for the persona", fired=[depends[0], *depends[1:]])
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
            answers = [m["content"] or "" for m in messages if m["role"] == "assistant"]
            if any(identity_present(a) for a in answers):
                return ("answer states an AI identity",)
            if any(speaks_as_ai(a) for a in answers):
                return ("answer speaks as an AI",)
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


# "Act as X and review this ...": the request joined to the persona clause. "... and answer the
# following:" (roleplay.add's own template) asks for nothing by itself and goes with the clause.
_JOINED = re.compile(r"(?:,?\s+and|,?\s+but|,\s+so|\s+[—–]|\s+-|;)\s+((?!answer\s+(?:the\s+following|this|my)\b|respond\s+to\s+(?:the\s+following|this)\b)"
                     r"[a-z]+\b.*)$", re.DOTALL)


# Imperatives a request opens with ("and explain ...", "and review ..."); "a chef and baker" is a role.
_TASK_VERBS = frozenset("""
explain describe review tell give write help answer suggest recommend list show teach evaluate critique analyze analyse
assess rate compare create make plan draft summarize summarise translate check correct fix edit rewrite provide offer walk
guide advise share discuss outline propose design name identify calculate solve respond reply talk introduce convince
persuade argue interview ask quiz test find pick choose prepare build draw compose generate come say proofread improve
judge grade score estimate predict diagnose interpret decode break sketch brainstorm critique convert recount
announce deliver report format keep use include limit structure put lay present organize organise
pitch narrate sell hype roast recite sing read commentate dramatize dramatise retell rank sum just skip stick avoid
""".split())


_FILLER = frozenset("go begin start ok okay ready please now thanks thank you proceed action go ahead".split())


def _no_request_left(text: str) -> bool:
    """What is left of a user turn asks for nothing ("Go.", "Ready?", "Begin!")."""
    words = re.findall(r"[a-z']+", text.lower())
    return len(words) <= 3 and all(w in _FILLER for w in words)


# Words after which an object does not make a verb: "a chef but also a poet", "a doctor and
# still a nurse", "a guide — only the best".
_NOT_VERBS = frozenset("""
also not only still just even very too more most less all each every one some any no with without in on at for from of as
like about into over under then than so such both either neither yet always never often usually
""".split())
_OBJECT_WORDS = frozenset("my me this these that those it them our us the a an some your his her their".split())


def _opens_request(clause: str) -> bool:
    """The clause after "and"/"but"/"—" opens with a request: a known task verb, or any other
    word followed by an object ("but forecast my emotions", "and grade this essay")."""
    words = clause.split()
    first = words[0]
    if first in _TASK_VERBS:
        return True
    return (len(words) > 1 and first not in _NOT_VERBS and not first.endswith("ly")
            and words[1].lower() in _OBJECT_WORDS)


# A sentence about the answer's manner only: "Be honest.", "Keep it short.", "No jargon.",
# "Don't hold back.", "Make it funny."
_MANNER = re.compile(r"^(?:please\s+)?(?:be|keep|stay|don['’]?t|do\s+not|no|avoid|make\s+it|just\s+be)\b", re.IGNORECASE)
_MATERIAL = re.compile(r"```.*?(?:```|\Z)|^(?: {4}|\t).*$|\"[^\"\n]*\"|“[^”\n]*”", re.DOTALL | re.MULTILINE)


def _only_manner_left(text: str) -> bool:
    """What is left of a user turn, besides the material it gives (code, quoted text), only
    says how to answer ("Be my Python code reviewer. Be honest." + code -> "Be honest." +
    code): the framing was the request, and without it the turn asks for nothing."""
    prose = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", _MATERIAL.sub(" ", text)) if p.strip(" \t:.-")]
    return bool(prose) and all(_MANNER.match(p) and "?" not in p and len(p.split()) <= 8 for p in prose)


def _joined_task(framing: str) -> tuple[str, str] | None:
    """(the request in a framing sentence, the framing words removed), or None when the
    sentence is framing only: "... and review this resume bullet:", "... — put it in a table."
    keep the request. Removing it would lose the task."""
    m = _JOINED.search(framing)
    if not m or not _opens_request(m.group(1)):
        return None
    return m.group(1), framing[: m.start(1)].rstrip()




def _strip_text(text: str, role: str) -> Stripped:
    """Remove every persona framing sentence of `text` (a message of `role`); keep premises,
    identity prompts and functional roles. An opening clause ("Act as a pirate, how ...?")
    goes with its comma and the next word is re-capitalised."""
    out = Stripped(text, [], [], [])
    for m in reversed(find_framing(text, role)):
        if m.kind != "persona":
            out.kept.append(m.kind)
            continue
        if m.start > 0 and out.text[m.start - 1] == "(" and m.text.rstrip().endswith(")"):
            # "... what is it? (answer as a car mechanic pls)": the brackets go with it
            m = PersonaMatch(m.pattern, m.start - 1, m.end, "(" + m.text, m.kind)
        joined = _joined_task(m.text)
        if joined:
            # "Act as a hiring manager and review this bullet:" -> "Review this bullet:"
            task, gone = joined
            out.text = out.text[: m.start] + capitalize_first(task) + out.text[m.end :]
            out.removed.append(gone)
            out.fired.append(m.pattern)
            continue
        if m.text.endswith(","):
            out.text = out.text[: m.start] + capitalize_first(out.text[m.end :].lstrip())
        else:
            before = out.text[: m.start]
            # only a framing that ran into its task ("...would: could ...") leaves a lower-case
            # start; a sentence the user began in lower case stays as written
            opens = m.text.rstrip().endswith(":") and (not before.strip() or before.rstrip()[-1] in ".!?")
            out.text = remove_span(out.text, m.start, m.end)
            if opens:  # "Respond as Ada Lovelace would: could a machine think?" -> "Could a machine think?"
                at = len(before.rstrip()) if before.strip() else 0
                while at < len(out.text) and out.text[at].isspace():
                    at += 1
                out.text = capitalize_first(out.text, at)
        out.removed.append(m.text)
        out.fired.append(m.pattern)
    out.removed.reverse()
    out.fired.sort()
    return out


# A name the framing gives the persona: "Your new name is AOA", "You are Captain Morgan, ...",
# "Act as Sherlock Holmes" (a capitalised name right after the verb, with no article).
_NAME = re.compile(
    r"\b(?:name is|named|called|call you|known as|[Yy]ou are(?: now)?|[Yy]ou['’]re|[Aa]ct as|[Pp]retend to be|"
    r"[Pp]retend you are|[Pp]lay)\s+(?:the\s+)?(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof|Capt|Sgt|Lt|Col|Gen|Rev|St|Fr)\.\s+)?"
    r"((?:[A-Z][\w'’-]*)(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w'’-]*)*)"
)
_NOT_NAMES = frozenset({"I", "AI", "An", "A", "The", "ChatGPT", "GPT", "of", "the"})


# A sentence about the character rather than about the answer: "You enjoy teaching ...",
# "You are methodical and dry-witted.", "You have lived in Lisbon ..."; not "You are to answer ...".
_TRAIT = re.compile(
    r"(?:^|(?<=[.!?]\s))\s*You(?:\s+are|['’]re)\s+(?!to\b|not\b|(?:only\s+)?(?:allowed|required|expected|able|given|asked|talking|speaking|helping|writing)\b)"
    r"|(?:^|(?<=[.!?]\s))\s*You\s+(?:enjoy|love|like|adore|hate|grew\s+up|were\s+born|have\s+(?:been|lived|worked|spent|taught|trained)|"
    r"live|come\s+from|once|never\s+(?:miss|forget)|"
    # a working life and its values: "You mentor junior developers at a fintech company.",
    # "You value readable code.", "You run a bakery in Lyon."
    r"value|mentor|work\s+(?:at|as|for|in|with)|run\s+(?:a|an|the|your)|own\s+(?:a|an|the)|speciali[sz]e|believe|"
    r"care\s+(?:deeply\s+)?about|were\s+(?:raised|trained)|studied|retired)\b",
)


# What is left of a system prompt that still points at the removed character: "Answer as she
# would", "He speaks warmly and tells stories", "Stay true to the character", "in his voice".
# (User turns are not read: "He went home. Rewrite this sentence." is task material.)
_REFERS = re.compile(
    r"\bas\s+(?:he|she|they)\s+(?:would|might|did|does)\b|\bin\s+(?:his|her|their)\s+(?:own\s+)?(?:voice|style|words|manner|tone)\b"
    r"|\b(?:the|this|that|your)\s+(?:character|persona)\b|\bin\s+character\b|\bin\s+the\s+first\s+person\b"
    r"|(?:^|(?<=[.!?]\s))\s*(?:He|She|His|Her)\s",
)


def _refers_to_persona(text: str) -> str | None:
    """The phrase of an edited prompt that refers to the persona removed from it, or None."""
    m = _REFERS.search(text or "")
    return m.group().strip().lower() if m else None


def _traits_left(system: str) -> bool:
    """The system prompt, its persona sentence removed, still describes the character (an
    identity or functional-role sentence, "You are a helpful assistant.", is not a trait)."""
    kept = {m.start for m in find_framing(system, "system")}
    return any(m.end() - len(m.group().lstrip()) not in kept for m in _TRAIT.finditer(system))


# "a park ranger at Yellowstone", "a travel agent specializing in Japan", "a tour guide in
# ancient Rome", "a chef from Naples": a place or organisation (up to two lower-case words may
# come between the preposition and the name: "in ancient Rome", "in the heart of Paris").
_CONTEXT = re.compile(r"\b(?:at|in|from|near|around|across|throughout)\s+(?:the\s+)?(?:(?-i:[a-z][\w-]*)\s+){0,2}?"
                      r"((?-i:[A-Z][\w'’-]+)(?:\s+(?-i:[A-Z][\w'’-]+))*)")


# "in Italian home cooking", "in Japanese gardens": a demonym used as an adjective (a
# lower-case word follows it), not a place. "specializing in Japan." names the place.
_DEMONYM = re.compile(r"(?:an|ese|ish|ic|ch|i)$")


def _is_place(name: str, text: str, end: int) -> bool:
    """The captured name is a place or organisation, not an adjective or a language."""
    words = name.split()
    if len(words) == 1 and (_LANGUAGE.fullmatch(name) or (_DEMONYM.search(name) and re.match(r"\s+[a-z]", text[end:]))):
        return False
    return True


# The row is about being at the place: the answers speak from it ("around here", "locally", "our
# park", "we rarely see bear attacks"), or a turn points at something there that only the
# persona introduced ("a ticket for the mountain", "the trail", "the museum"), or asks about a
# visit ("a 10-day trip", "sightseeing").
_LOCAL = re.compile(
    r"\b(?:(?:around|out|up|down|over|near|from|live|living)\s+here|here\s+in|locally|in\s+town|nearby|"
    r"the\s+(?:[\w-]+\s+)?(?:mountains?|park|trails?|museum|gallery|castle|cathedral|church|temple|shrine|palace|ruins|site|summit|"
    r"peak|canyon|falls|lake|river|beach|island|harbou?r|port|square|market|old\s+town|city|town|village|valley|bay|coast|"
    r"station|airport|hotel|resort|restaurant|menu|kitchen|winery|vineyard|cellar|shop|store|venue|stadium|arena|zoo|"
    r"aquarium|tour|visitor\s+cent(?:er|re)|entrance|gates?|tickets?|locals)|"
    r"(?:this|our)\s+(?:city|town|area|region|park|island|country|neighbou?rhood|valley|coast|state)|"
    r"our\s+(?:restaurant|hotel|shop|store|clinic|museum|trails?|visitors|guests|office|school|library|market|team|rangers)|"
    r"we\s+(?:(?:rarely|often|usually|always|never|sometimes|typically|regularly|frequently|mostly)\s+)?"
    r"(?:see|get|have\s+(?:seen|had)|serve|treat|handle|close|open|stock|carry))\b",
    re.IGNORECASE,
)


_WE = re.compile(r"\b(?:we|us|our|ours|we['’](?:re|ve|ll|d))\b", re.IGNORECASE)


def _speaks_from_there(messages: list[dict]) -> bool:
    """An answer says "I" or "we" in its own words (not in quotes or code)."""
    return any(first_person(a) or _WE.search(a) for a in (m["content"] or "" for m in messages if m["role"] == "assistant"))


# A user turn about a visit: "I'm planning a 10-day trip in April", "Do I need tickets?".
_VISIT = re.compile(r"\b(?:trip|itinerary|vacation|holiday|sightseeing|visit(?:ing)?|tickets?|tour|stay(?:ing)?\s+(?:for|in|at))\b",
                    re.IGNORECASE)


def _contents(messages: list[dict], *roles: str) -> str:
    """The turns of `roles`, joined by newlines: what the row's prompts or answers say."""
    return "\n".join(m["content"] or "" for m in messages if m["role"] in roles)


def _context_lost(removed: list[str], messages: list[dict]) -> list[str]:
    """Places and organisations the removed framing names that no remaining prompt mentions and
    that the answers rely on: they name it ("Japan Rail Pass", "the heart of Rome") or speak
    from it ("around here", "we rarely see ..."). A sommelier "at a restaurant in Lyon" whose
    pairing advice never touches Lyon brings nothing the answers need, and goes."""
    rest, answers, users = _contents(messages, "system", "user"), _contents(messages, "assistant"), _contents(messages, "user")
    lost: list[str] = []
    for text in removed:
        for m in _CONTEXT.finditer(text):
            name = m.group(1)
            if not _is_place(name, text, m.end(1)):
                continue
            words = [w for w in name.split() if len(w) > 2 and w not in ("The", "Of", "And")]
            if any(has_word(rest, w) for w in words):
                continue  # the row still says where
            # an answer that says "I" or "we" speaks as the person at that place ("what I like to
            # hear at the visitor centre"), even where it never names it
            if (any(has_word(answers, w) for w in words) or _LOCAL.search(answers) or _LOCAL.search(users)
                    or _VISIT.search(users) or _speaks_from_there(messages)):
                lost.append(name)
    return sorted(set(lost))


# Languages a persona can bring ("Act as a Spanish tutor. How do I say 'I'm hungry'?"): the
# answers are in, or about, that language, and nothing else in the row says which. English is
# the rows' own language and says nothing.
_LANGUAGE = re.compile(
    r"\b(Spanish|French|German|Italian|Portuguese|Dutch|Swedish|Norwegian|Danish|Finnish|Polish|Czech|Greek|Turkish|Russian|"
    r"Ukrainian|Arabic|Hebrew|Persian|Farsi|Hindi|Urdu|Bengali|Punjabi|Tamil|Chinese|Mandarin|Cantonese|Japanese|Korean|"
    r"Vietnamese|Thai|Indonesian|Malay|Tagalog|Swahili|Latin|Esperanto|Irish|Welsh|Catalan|Hungarian|Romanian)\b"
)


# The word names a language, not a cuisine or a style ("a chef specialising in Italian home
# cooking" brings nothing the answer needs): the persona teaches or speaks it.
_LANGUAGE_ROLE = re.compile(r"\b(?:tutor|teacher|instructor|coach|speaker|speaks|partner|translator|interpreter|lessons?|"
                            r"conversation|pen[- ]?pal|native|language|grammar|vocabulary)\b", re.IGNORECASE)


def _language_lost(removed: list[str], messages: list[dict]) -> list[str]:
    """Languages the removed framing teaches or speaks that no remaining prompt names."""
    rest = _contents(messages, "system", "user")
    return sorted({m.group(1) for text in removed if _LANGUAGE_ROLE.search(text) for m in _LANGUAGE.finditer(text)
                   if not re.search(r"\b" + m.group(1) + r"\b", rest)})


_ORIGIN = re.compile(r"(?<![\w-])((?-i:[A-Z][a-z]{3,}))\s+(?-i:[a-z])")


def _origin_lost(removed: list[str], messages: list[dict]) -> list[str]:
    """Origins the removed persona had ("a Finnish sauna master") that the answers speak from
    ("Finns have been doing this", "a lake is ideal") and no remaining prompt names: a demonym
    before the role whose country or people the answers name by the same stem ("Finn-").
    English, the rows' own language, says nothing."""
    rest, answers = _contents(messages, "system", "user"), _contents(messages, "assistant")
    lost = set()
    for text in removed:
        for m in _ORIGIN.finditer(text):
            word = m.group(1)
            if word == "English" or not (_LANGUAGE.fullmatch(word) or _DEMONYM.search(word)):
                continue
            stem = re.compile(r"(?<![\w-])" + re.escape(word[:4]) + r"[a-z]*")
            if stem.search(answers) and not stem.search(rest):
                lost.add(word)
    return sorted(lost)


def _persona_names(removed: list[str]) -> list[str]:
    """Personal names the removed framing gives the persona ("You are Captain Elena Ruiz, ...",
    "Pretend you are Albert Einstein"), not product names ("ShopBot")."""
    names: list[str] = []
    for text in removed:
        for m in _NAME.finditer(text):
            # "Marco", "Elena Ruiz"; not an acronym or product name ("AOA", "ShopBot")
            names += [w for w in m.group(1).split()
                      if w not in _NOT_NAMES and re.fullmatch(r"[A-Z][a-z][\w'’-]*", w) and not re.search(r"(?:bot|gpt|ai)$", w, re.I)]
    return names


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
                hits = [h for h in re.finditer(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", rest)
                        if not (word.lower() in _INTERJECTIONS and _opens_with_interjection(rest, h))]
                if hits:
                    found.append(word)
    return sorted(found)


# Names that are also words a sentence opens with ("the Oracle of the Whispering Well" ->
# "Well, ..."; "Captain Right" -> "Right, ..."): such an opener is not the name.
_INTERJECTIONS = frozenset("well sure right now so great okay ok yes no look listen see fine good alright".split())


def _opens_with_interjection(text: str, hit: re.Match) -> bool:
    """`hit` opens a sentence or line and a comma follows it ("Well, it depends")."""
    before = text[: hit.start()].rstrip(" \t\"“*")
    return (not before or before[-1] in ".!?\n") and text[hit.end(): hit.end() + 1] == ","


# "Write a poem in Shakespearean English": the task, not the persona, explains the voice.
_CREATIVE_TASK = re.compile(
    r"\b(?:write|compose|create|draft|generate|craft|pen|tell|make up|come up with|produce|rewrite|say)\b(?:\W+\w+){0,6}?\W+"
    r"(?:story|stories|poem|poems|poetry|haiku|limerick|sonnet|song|lyrics|rap|letter|dialogue|script|speech|monologue|"
    r"fable|tale|style|voice|dialect|accent|english)\b",
    re.IGNORECASE,
)


# "Write a sentence using ...", "Compose an email ...": the answer is text written to order, so
# its "I" is the text's speaker, not a life of the assistant's.
_AUTHORED_TASK = re.compile(
    r"\b(?:write|compose|create|draft|generate|craft|construct|rewrite|produce|make up|come up with|give me|provide)\b"
    r"(?:\W+\w+){0,6}?\W+(?:sentences?|paragraphs?|examples?|story|stories|poem|letter|e-?mail|dialogue|conversation|"
    r"script|speech|review|bio|biography|description|message|note|post|tweet|essay|diary|entry|narrative|response)\b"
    r"|^\s*(?:reword|rewrite|rephrase|paraphrase|rearrange|change|edit|replace|expand|combine|correct|convert|translate|complete|"
    r"sort|design|draft|create|generate|compose|write|train|build|make|give\s+an\s+example|transform|summari[sz]e|proofread)\b",
    re.IGNORECASE,
)


# "Write a diary entry", "a letter from ...", "in the first person": a piece whose "I" is
# whoever the row casts the assistant as.
_FIRST_PERSON_PIECE = re.compile(
    r"\b(?:diary|journal|log\s+entry|logbook|memoir|monologue|soliloquy|"
    r"(?:about|describe|recount)\s+your\s+(?:day|life|morning|night|week|journey|childhood))\b",
    re.IGNORECASE,
)


# "who explains things clearly to non-technical managers", "who writes for beginners",
# "talking to a class of five-year-olds": an instruction about the audience inside the persona
# clause. The audience is a group of people: a plural, an age ("five-year-olds", "third
# graders") or a collective ("a class", "the crew"); or one person of an age or stage ("a
# curious 5-year-old", "a beginner").
_AUDIENCE_GROUP = (
    r"((?:[\w'’-]+\s+){0,4}?(?:beginners?|novices?|newcomers?|children|child|kids?|toddlers?|"
    r"teens?|teenagers?|students?|pupils?|learners?|managers|executives|laypeople|laymen|non-experts|seniors|adults|parents|patients|"
    r"customers|clients|people|readers|audiences?|speakers|users|developers|engineers|listeners|viewers|fans|"
    r"players|campers|tourists|visitors|guests|recruits|employees|staff|residents|villagers|troops|congregation|jury|"
    r"investors|graders|freshmen|class|classroom|crowd|crew|team|[\w-]+-year-olds?))\b"
)
_AUDIENCE = re.compile(
    r"\b(?:(?:who\s+(?:always\s+|usually\s+|mostly\s+)?(?:explains|teaches|speaks|talks|writes|answers|presents|simplifies|"
    r"translates|breaks\s+down|lectures)|writing|speaking|explaining|presenting|talking|lecturing|teaching)\b"
    r"[^.!?\n]{0,40}?\b(?:to|for)|(?:addressing|addresses|briefing|coaching|teaching|tutoring|lecturing|training|mentoring|"
    r"(?:working|talking|speaking)\s+with)"
    # "a biology teacher for 12-year-olds", "an IT helper for older adults": a teaching or
    # helping role named for its audience
    r"|(?:coach|teacher|tutor|helper|guide|instructor|mentor|trainer|counsell?or|librarian|nurse|communicator|educator|"
    r"presenter|host|entertainer|storyteller|advis[eo]r|consultant)\s+(?:for|to))\s+" + _AUDIENCE_GROUP,
    re.IGNORECASE,
)


# "who answers with one command and one short line", "who replies only in haiku", "who
# always responds in exactly three bullet points": the answers' form, said in the persona clause.
_ANSWER_FORM = re.compile(r"\bwho\s+(?:always\s+|only\s+|never\s+)?(?:answers|replies|responds|speaks|writes|talks)\s+"
                          r"(?:only\s+|always\s+|strictly\s+)?(?:with|in|using|without)\b[^.!?\n]*", re.IGNORECASE)


# "a chess coach for my 9-year-old", "a tutor for my son": the user's own people.
_USERS_OWN = re.compile(r"\b(?:for|with|to|of|helping)\s+my\s+(?:[\w'’-]+\s+){0,2}?(?:[\w-]+-year-old|son|daughter|kids?|"
                        r"child(?:ren)?|boy|girl|teen(?:ager)?|students?|class|team|wife|husband|partner|mom|mum|dad|mother|"
                        r"father|parents?|grand(?:ma|pa|mother|father|son|daughter)|friend|family)\b", re.IGNORECASE)


# Roles that are the user's opposite number in an exercise or a game, not an expert who answers.
_COUNTERPART_ROLES = frozenset({
    "partner", "opponent", "adversary", "interviewer", "interviewee", "examiner", "quizmaster", "dm", "gm",
    "customer", "patient", "client", "date", "boyfriend", "girlfriend", "penpal", "pen-pal", "sparring", "rival",
})


# "Role-play as my landlord", "Pretend to be my boss": someone in the user's own life, whom the
# user rehearses talking to; "so I can practise", "I'll start": the row is an exercise.
_MY_COUNTERPART = re.compile(
    r"\bmy\s+(?:[\w-]+\s+){0,2}?(landlord|landlady|tenant|boss|manager|supervisor|employer|neighbou?r|roommate|flatmate|"
    r"ex|coworker|co-worker|colleague)\b|\b(dungeon\s+master|game\s+master|quiz\s*master)\b", re.IGNORECASE)
_PRACTICE = re.compile(
    r"\bso\s+(?:that\s+)?I\s+can\s+(?:practi[cs]e|rehearse)\b|\bhelp\s+me\s+(?:practi[cs]e|rehearse)\b"
    r"|\bI['’]ll\s+(?:start|go\s+first|begin)\b|\bmock\s+(?:interview|negotiation|conversation|call)\b"
    r"|\blet['’]?s\s+(?:practi[cs]e|rehearse|role-?play)\b", re.IGNORECASE)


# What a persona clause says beyond the role: "a dietitian who specialises in type 2 diabetes",
# "a helpdesk technician at a retirement community", "a tutor for adult beginners".
_QUALIFIER = re.compile(r"\b(?:who|that|which|speciali[sz]\w*|for|at|in|with|of)\b(.+)", re.IGNORECASE)


# Manner words a qualifier shares with any answer ("who explains things clearly").
_QUALIFIER_STOP = frozenset("""
always never often every each people person things thing explains explain explaining speaks speak talks talk loves love
likes knows know helps help gives give makes make uses using clear clearly simple simply plain plainly short brief
concise friendly patient kind warm calm gentle gently years year experience expert great good well much many more most
very really only also still even than them they their there where which while whom whose answer answers question
questions world everyone someone anyone everything something anything style words word tone voice
""".split())


def _qualifier_relied_on(removed: list[str], messages: list[dict]) -> list[str]:
    """Words of the removed persona's qualifier that the answers use and no remaining prompt
    says ("type 2 diabetes" -> the answer's "diabetes-friendly"): the answers were written for
    what the persona clause told them, which would leave the row with it."""
    rest, answers = _contents(messages, "system", "user").lower(), _contents(messages, "assistant").lower()
    out = set()
    for text in removed:
        q = _QUALIFIER.search(text)
        if not q:
            continue
        for w in re.findall(r"(?<![\w-])[a-z][a-z-]{2,}", q.group(1)):  # lower-case words: places and names are _context_lost's
            if w not in _NO_TOPIC and w not in _QUALIFIER_STOP and has_word(answers, w) and not has_word(rest, w):
                out.add(w)
    return sorted(out)


# Words that do not say what a question is about: "What should I see first?", "Any tips?",
# "What do you recommend?" ask about whatever the persona was ("a tour guide in Rome", "a
# sommelier"), so without it the question has no subject.
_NO_TOPIC = frozenset("""
i me my mine myself you your yours yourself we us our it its this that these those there here what which who whom whose how
where when why whether if is are was were be been being am do does did doing have has had can could should would will shall
may might must the a an and or but so to of for with in on at by from up about into over after before first next then now
today tonight really just also very more most some any all one thing things something anything stuff see go get know think
tell give make take start begin recommend suggest help try say let need want like please thanks thank hi hello hey okay ok
yes no not don't i'm i'd i've what's it's that's how's where's best good great right way ways tip tips advice idea ideas
question questions answer time do you else other another again well
""".split())


_QUESTION_OPENERS = frozenset("what which how where when why who whom whose should can could would will do does did is are any "
                               "what's how's where's".split())


# A request for the persona's own experience: "the most common red flags you see on CVs",
# "mistakes you've encountered", "in your experience", "your patients". Seeing what the row
# shows ("what problems do you see in my function?") asks nothing of a life.
_EXPERIENCE_VERBS = r"(?:see|encounter|come\s+across|run\s+into|deal\s+with|meet|handle|treat|get|hear)"
_ASKS_EXPERIENCE = re.compile(
    r"\b(?:you(?:['’]ve|\s+have)|have\s+you)\s+(?:ever\s+)?(?:seen|encountered|come\s+across|run\s+into|dealt\s+with|met|"
    r"handled|treated|worked\s+with)\b"
    r"|\b(?:common|frequent|typical|usual|biggest|worst)\b[^.?!\n]{0,60}?\byou\s+(?:usually\s+|typically\s+|often\s+)?"
    + _EXPERIENCE_VERBS + r"\b"
    r"|\byou\s+(?:usually|typically|often|regularly|commonly|always)\s+" + _EXPERIENCE_VERBS + r"\b"
    r"|\byou\s+" + _EXPERIENCE_VERBS + r"\s+(?:[\w'’-]+\s+){0,3}?(?:most\s+often|all\s+the\s+time|a\s+lot|every\s+day|regularly|"
    r"constantly)\b"
    r"|\bin\s+your\s+(?:own\s+)?(?:experience|career|practice|line\s+of\s+work|years|time\s+as)\b"
    r"|\byour\s+(?:own\s+)?(?:clients|patients|customers|students|career|practice)\b",
    re.IGNORECASE,
)


def _topicless(text: str) -> bool:
    """A short question with no word that names a subject ("What should I see first?"); a
    greeting ("Hi") asks nothing the persona could have been the subject of."""
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower().replace("’", "'"))  # "What is 15% of 80?" has a subject
    return ("?" in text and bool(words) and words[0] in _QUESTION_OPENERS and len(words) <= 12
            and all(w in _NO_TOPIC for w in words))


def _without(text: str, removed: list[str]) -> str:
    """`text` without the framing sentences, so that its instruction opens it again."""
    for r in removed:
        text = text.replace(r, "")
    return text


def _answered(messages: list[dict]) -> list[tuple[str, str]]:
    """(answer, the user turn it answers) for every assistant turn."""
    pairs, asked = [], ""
    for m in messages:
        if m["role"] == "user":
            asked = m["content"] or ""
        elif m["role"] == "assistant":
            pairs.append((m["content"] or "", asked))
    return pairs


def _depends_on_persona(removed: list[str], messages: list[dict], stripping: bool = False) -> tuple[str, ...] | None:
    """Why the rest of the row needs the removed persona (reason, fired names), or None.

    Only the prompts are edited, so a row whose answers were written in character ("Arr,
    matey", "SCHEDULE! NO SCREENS!", "As a blacksmith, I ..."), whose persona set the
    answers' attitude ("a sarcastic film critic"), or whose questions are part of the game
    ("Where have I been today?") would be left with answers nothing in it explains.
    `stripping` adds the broad tests only `roleplay.strip` applies (an answer that says "I"
    beyond an assistant's phrases, words of the persona's qualifier the answers use):
    `roleplay.add` asks the same question of a persona it just chose, where such answers are
    no contradiction.
    """
    if stripping:
        langs = sorted({lang for lang in (detect_language(m["content"] or "") for m in messages if m["role"] == "assistant")
                        if lang not in ("en", "unknown")})
        if langs:
            # the voice and first-person tests read English: an answer in another language may
            # speak in character ("de quem tá há mais de vinte anos na beira do campo") unseen
            return ("answer not English: its voice cannot be checked", *(f"language:{lang}" for lang in langs))
    attitudes = sorted({a for a in map(persona_attitude, removed) if a})
    if attitudes:
        return ("persona sets the answers' attitude", *attitudes)
    form = sorted({f.group().lower() for f in (_ANSWER_FORM.search(r) for r in removed) if f})
    if form:
        # "GitGuru, a terse git expert who answers with one command and one short line": an
        # instruction about the answers' form rides in the persona clause
        return ("persona clause sets the answers' form", *form)
    mine = sorted({m.group().lower() for m in (_USERS_OWN.search(r) for r in removed) if m})
    if mine:
        # "a chess coach for my 9-year-old": the user's own people, whom the rest of the row
        # calls "she" and "your daughter", ride in the persona clause
        return ("persona carries context the row relies on", *mine)
    audience = sorted({a.group(1).lower() for a in (_AUDIENCE.search(r) for r in removed) if a})
    if audience:
        # "a data analyst who explains things clearly to non-technical managers": an instruction
        # about the answers rides in the persona clause and would go with it
        return ("persona clause sets the audience", *audience)
    users = [m["content"] or "" for m in messages if m["role"] == "user"]
    if any(game_question(u) for u in users):
        return ("the questions are part of the role-play",)
    counterparts = sorted({n for n in map(role_noun, removed) if n in _COUNTERPART_ROLES}
                          | {(m.group(1) or m.group(2)).lower() for m in (_MY_COUNTERPART.search(r) for r in removed) if m}
                          | ({"practice"} if any(cached_search(_PRACTICE, u) for u in users + removed) else set()))
    if counterparts:
        # "Act as my debate opponent", "You are the dungeon master": the persona is the other side
        # of an exercise, and the answers are its moves, not any assistant's answer
        return ("persona is the user's counterpart", *counterparts)
    answers = [m["content"] or "" for m in messages if m["role"] == "assistant"]
    if any(map(plays_counterpart, answers)):
        # "Now your turn — try ordering a café crème for me!": written for an exchange partner
        return ("answer is in character", "counterpart")
    if (any(cached_search(_FIRST_PERSON_PIECE, u) for u in users) and any(map(first_person, answers))):
        # "You are a lighthouse keeper in the 1890s." + "Write a diary entry": the persona is
        # the piece's "I", a creative premise the answer is written from
        return ("persona is the speaker of the piece",)
    nouns = sorted({n for n in map(role_noun, removed) if n})
    fired = sorted({f"role:{n}" for n in nouns if any(speaks_as_role(a, n) for a in answers)})
    if not any(cached_search(_CREATIVE_TASK, u) for u in users):
        asked = "\n".join(users)
        fired += sorted({v for v in (persona_voice(a, asked) for a in answers) if v}
                        | ({"shouting"} if any(map(shouted_orders, answers)) else set()))
        if _persona_names(removed) and any(map(first_person, answers)):
            # a named character ("You are Marco, a tour guide") who says "I" is that character
            fired.append("named_persona_first_person")
    # each answer against the request it answers: "Write a short bio" makes the first answer's
    # "I" the bio's, not the second's ("the ones I remember", after "Now act as an organiser")
    own = [a for a, u in _answered(messages) if not cached_search(_AUTHORED_TASK, _without(u, removed))]
    if own:
        # "When my instruments failed ...", "Oh, love, ...", "As your trainer, ...": a life
        # that only the persona gave the answer
        fired += sorted({f"experience:{v}" for v in map(first_person_experience, own) if v})
        if stripping and not fired and any(map(speaks_for_itself, own)):
            # "I'll bring snacks", "Nobody polls the intern. My hands are sweating": whoever says
            # "I" beyond an assistant's phrases may be the persona; only the prompts are edited
            fired.append("first_person")
    if fired:
        return ("answer is in character", *fired)
    relied = _qualifier_relied_on(removed, messages) if stripping else []
    if relied:
        return ("persona carries context the row relies on", *relied)
    periods = sorted({p for p in map(persona_period, removed) if p})
    if periods:
        # "Roleplay as a 1920s radio announcer and give me the weather": the answer is a period
        # bulletin ("a real humdinger", "dust off those boaters") in words no dialect list knows;
        # a character set in another time speaks from it, so the row is left whole
        return ("persona sets the answers' period voice", *periods)
    asked_of = [h.group().lower() for h in (_ASKS_EXPERIENCE.search(_without(u, removed)) for u in users) if h] if stripping else []
    if asked_of:
        # "As a recruiter, list the red flags you see on CVs": the request asks for what the
        # persona has seen; without it, it asks the assistant for an experience it lacks
        return ("the request asks for the persona's experience", *sorted(set(asked_of)))
    if users and _topicless(_without(users[0], removed)):
        # "You are a tour guide in Rome." + "What should I see first?": the persona was the subject
        return ("the persona gives the question its subject",)
    return None


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
        edited: list[str] = []
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
            if role == "user" and (not s.text.strip() or _no_request_left(s.text)):
                # "You're an alien anthropologist filing a report on a wedding. Go." -> "Go."
                return Outcome.unchanged(record, "framing is a whole user turn", fired=s.fired)
            if role == "user" and _only_manner_left(s.text):
                # "Be my Python code reviewer. Be honest." + code -> "Be honest." + code
                return Outcome.unchanged(record, "framing carried the request", fired=s.fired)
            if "speak_as" in s.fired:
                # "talk like an old southern farmer", "Answer as a Japanese grandmother": a request
                # for the answers' voice, which the answers written for it keep
                return Outcome.unchanged(record, "persona sets the answers' voice", fired=["speak_as"])
            removed += s.removed
            fired += s.fired
            if s.text.strip():
                messages[i] = {**messages[i], "content": s.text}
                done.append(f"{role}: framing removed")
                if role == "system":
                    edited.append(s.text)
            else:
                messages.pop(i)
                done.append("system: prompt removed")
        if left:
            return Outcome.unchanged(record, "persona outside `where`", fired=sorted(left))
        named = _names_used_elsewhere(removed, messages)
        if named:
            return Outcome.unchanged(record, "the row speaks to or as the persona by name", fired=named)
        # a persona `roleplay.add` put there was chosen so that the answers do not read as its
        # own: the broad strip-only tests would keep what this product added and must undo
        ours = any(isinstance(e, dict) and e.get("op") == "roleplay.add" for e in (record.get("meta") or {}).get("transforms") or [])
        depends = _depends_on_persona(removed, messages, stripping=not ours) if removed else None
        if depends:
            return Outcome.unchanged(record, depends[0], fired=depends[1:])
        refers = [r for r in map(_refers_to_persona, edited) if r]
        if refers:
            # "You are Ada Lovelace. Answer as she would." -> "Answer as she would.": the rest of the
            # prompt still points at the character that was removed
            return Outcome.unchanged(record, "the prompt still refers to the persona", fired=sorted(set(refers)))
        system_cut = any(d.startswith("system") for d in done)
        traits = [t for t in (_traits_left(m["content"] or "") for m in messages[:1] if m["role"] == "system" and system_cut) if t]
        if traits:
            # "You are X, a navigator. You enjoy teaching landlubbers.": the rest of the character stays
            return Outcome.unchanged(record, "persona description left in the system prompt", fired=["trait"])
        context = _context_lost(removed, messages) + _language_lost(removed, messages) + _origin_lost(removed, messages)
        if context:
            # "Pretend you are a park ranger at Yellowstone": the place goes with the persona
            return Outcome.unchanged(record, "persona carries context the row relies on", fired=context)
        if not removed:
            reason = next((_KEPT_REASONS[k] for k in _KEPT_REASONS if k in kept), None)
            if reason is None:
                # the framing patterns are English: "Du bist ...", "Eres ..." are not looked for
                lang = detect_language(_contents(messages, "system", "user"))
                if lang not in ("en", "unknown"):
                    return Outcome.unchanged(record, "not English", fired=[f"language:{lang}"])
                reason = "no persona"
            return Outcome.unchanged(record, reason, fired=sorted(set(kept) & set(_KEPT_REASONS)))
        keep_note = f"; kept {', '.join(sorted(set(kept) & set(_KEPT_REASONS)))}" if set(kept) & set(_KEPT_REASONS) else ""
        detail = "; ".join(sorted(set(done))) + f" ({', '.join(sorted(fired))}){keep_note}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=sorted(fired), removed=removed)


# Short names for Python use: T.roleplay.add(...), T.roleplay.strip()
add = RoleplayAdd
strip = RoleplayStrip
