"""Identity-calibration transforms: inject, strip, replace, and mix in identity Q&A.

Answers that state the assistant's identity ("As an AI assistant, ...") preserve safety
after fine-tuning; these transforms move a data set along that factor in either direction:

- `identity.inject` adds a template statement (prefix clause / prefix sentence / suffix);
- `identity.strip` removes identity and self-reference statements (the detector in
  `safetune_data.detectors.identity` finds them; the edit rules live here);
- `identity.replace` swaps names and developers ("ChatGPT" -> "Aria");
- `identity.qa` appends standalone "Who are you?" conversations (a dataset-level step).

Inject and strip are built to be inverse: every built-in template is a pure identity
statement, inject re-cases the first word only in a way strip undoes, and strip removes
the whitespace inject added. The round trip is measured in the tests and the quality script.

    from safetune_data import transforms as T
    ds.map(T.identity.inject(name="Aria", developer="Acme", rate=0.5), batched=True)
"""
from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..detectors.identity import IdentityMatch, find_identity
from ..errors import ParamError
from ..records import assistant_indices
from .base import DatasetStep, Outcome, Transform, register, rng_for

PLACEHOLDERS = ("name", "developer")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


# --- built-in libraries ----------------------------------------------------------------
def load_package_yaml(filename: str) -> Any:
    """Read a YAML file shipped in `safetune_data/data/` (works from a wheel too)."""
    path = resources.files("safetune_data").joinpath("data").joinpath(filename)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def builtin_templates() -> dict[str, list]:
    """The built-in template library: {"prefix": [...], "suffix": [...], "qa": [...]}."""
    return load_package_yaml("identity_templates.yaml")


def load_list_file(path: str, param: str) -> list:
    """A list from a YAML/JSON/JSONL file, or one item per non-empty line of a text file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ParamError(f"file not found: {path}", field=param, hint="give a list, 'builtin', or a path to a YAML/JSON/text file")
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".jsonl":
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = [line.strip() for line in text.splitlines() if line.strip()]
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ParamError(f"cannot parse {path}: {exc}", field=param) from None
    if isinstance(data, dict):  # a YAML/JSON file may wrap the list, e.g. {"prefix": [...]}
        return data
    if not isinstance(data, list):
        raise ParamError(f"{path} does not hold a list", field=param)
    return data


def fill(template: str, name: str | None, developer: str | None) -> str:
    """Substitute {name}/{developer} (and LLaMA-Factory's {{name}}/{{author}}) literally."""
    out = template.replace("{{name}}", "{name}").replace("{{author}}", "{developer}")
    if name is not None:
        out = out.replace("{name}", name)
    if developer is not None:
        out = out.replace("{developer}", developer)
    return out


def needed_placeholders(template: str) -> set[str]:
    t = template.replace("{{name}}", "{name}").replace("{{author}}", "{developer}")
    return set(_PLACEHOLDER_RE.findall(t))


# --- text surgery shared with role-play strip ---------------------------------------------
_SENT_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n")
_SENT_BREAK = re.compile(r"[.!?]+[\"'”’)\]]*\s+|\n")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def sentence_start(text: str, pos: int) -> int:
    """Start of the sentence holding `pos` (after the last ". "/"! "/"? " or newline)."""
    start = 0
    for m in _SENT_BREAK.finditer(text, 0, pos):
        start = m.end()
    return start


def sentence_end(text: str, pos: int) -> int:
    """End of the sentence holding `pos`, including its closing punctuation (not a newline)."""
    m = _SENT_END.search(text, pos)
    if m is None:
        return len(text)
    return m.start() if m.group() == "\n" else m.end()


def remove_span(text: str, a: int, b: int) -> str:
    """Remove text[a:b] with the whitespace that separated it from its neighbours.

    A span at the start takes the whitespace after it (so "I am X. Answer" -> "Answer");
    any other span takes the whitespace before it ("Answer\\n\\nI am X." -> "Answer").
    """
    if not text[:a].strip():
        while b < len(text) and text[b].isspace():
            b += 1
    else:
        while a > 0 and text[a - 1].isspace():
            a -= 1
    return text[:a] + text[b:]


def capitalize_first(text: str, pos: int = 0) -> str:
    """Upper-case the word at `pos` if it is an all-lower-case word (leaves "iPhone" alone)."""
    m = _WORD.match(text, pos)
    if m and m.group().islower():
        return text[:pos] + text[pos].upper() + text[pos + 1 :]
    return text


def lower_first_word(text: str) -> str:
    """Lower-case the first word for use after a leading clause, unless it looks like a name.

    Kept as is: "I" and its contractions, acronyms and mixed case ("NASA", "iPhone"), and
    words that also appear capitalised mid-sentence elsewhere in the text (evidence of a
    proper noun: "Paris is ... in Paris"). Everything else is lower-cased; `capitalize_first`
    undoes it exactly.
    """
    m = _WORD.match(text)
    if not m:
        return text
    word = m.group()
    if word == "I" or re.match(r"I['’]", word) or not word[0].isupper() or any(c.isupper() for c in word[1:]):
        return text
    for at in _whole_word_at(text, word, m.end()):
        before = text[:at].rstrip(" \t")
        if before and before[-1] not in ".!?:;\n\"“'‘*#(-":
            return text
    return text[0].lower() + text[1:]


def _wordish(c: str) -> bool:
    return c.isalnum() or c in "_'’-"


def _whole_word_at(text: str, word: str, start: int):
    """Positions of `word` as a whole word in text[start:] (a plain search: a regex per
    answer and word would be compiled anew each time and dominate the transform's cost)."""
    i = text.find(word, start)
    while i != -1:
        j = i + len(word)
        if not _wordish(text[i - 1]) and (j >= len(text) or not _wordish(text[j])):
            yield i
        i = text.find(word, i + 1)


# --- strip rules ----------------------------------------------------------------------------
_CLAUSE_LEADS = ("as", "speaking", "being")


def _groups(text: str, matches: list[IdentityMatch]) -> list[tuple[int, int, list[str]]]:
    """Merge overlapping matches into (start, end, pattern names)."""
    out: list[list] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if out and m.start < out[-1][1]:
            out[-1][1] = max(out[-1][1], m.end)
            if m.pattern not in out[-1][2]:
                out[-1][2].append(m.pattern)
        else:
            out.append([m.start, m.end, [m.pattern]])
    return [(s, e, p) for s, e, p in out]


def _edit_for(text: str, s: int, e: int) -> tuple[str, int, int, str, bool] | None:
    """How to remove the identity statement text[s:e].

    Returns ("sentence", a, b, "", False) to drop the whole sentence text[a:b], or
    ("cut", a, b, replacement, recapitalise) to replace text[a:b] inside its sentence;
    None when the statement is not in a form we can remove without breaking the sentence.
    """
    first = re.match(r"[A-Za-z]+", text[s:e]).group().lower()
    a_sent = sentence_start(text, s)
    b_sent = sentence_end(text, e)
    post = text[e:b_sent]
    at_start = not text[a_sent:s].strip()
    if first in _CLAUSE_LEADS:
        # "As an AI, here is" / "Sorry, but as an AI language model, I cannot" -> cut the clause.
        m = re.match(r"\s*,\s*", post) or re.match(r"\s+(?=I\b)", post)
        if m is None:
            return None
        return ("cut", s, e + m.end(), "", at_start)
    # Statements: "I am an AI.", "I am Aria, an AI ...", "I was trained by X", "My name is X, an AI".
    if re.fullmatch(r"\s*[.!]*[\"'”’)\]]*\s*", post):
        return ("sentence", a_sent, b_sent, "", False)
    if first == "i":
        # "I am an AI and I cannot" / "I'm just an AI, but I can" -> "I cannot" / "I can"
        m = re.match(r",?\s+and\s+(?=I\b)", post) or re.match(r",?\s*(?:(?:but|so)\s+)?(?=I\b)", post)
        if m:
            return ("cut", s, e + m.end(), "", False)
        # "I am an AI and do not have" -> "I do not have"
        m = re.match(r",?\s+and\s+(?=[a-z])", post)
        if m:
            return ("cut", s, e + m.end(), "I ", False)
        # "I'm an AI assistant, so unable to" -> "I'm unable to"
        m = re.match(r",?\s+(?:so|but)\s+(?=[a-z])", post)
        if m:
            subject = re.match(r"I\s*(?:am|['’]m)\s*", text[s:e])
            return ("cut", s, e + m.end(), subject.group() if subject else "I ", False)
    # Anything else with a first-person identity statement: the sentence is about identity.
    return ("sentence", a_sent, b_sent, "", False)


def strip_identity(text: str) -> tuple[str, list[str]]:
    """Remove identity statements; return the new text and the patterns that were removed."""
    matches = find_identity(text)
    if not matches:
        return text, []
    edits: list[tuple[str, int, int, str, bool, list[str]]] = []
    for s, e, patterns in _groups(text, matches):
        if edits and s < edits[-1][2]:  # inside a span already being removed
            edits[-1][5].extend(p for p in patterns if p not in edits[-1][5])
            continue
        edit = _edit_for(text, s, e)
        if edit is not None:
            edits.append((*edit, list(patterns)))
    fired: list[str] = []
    for kind, a, b, repl, recap, patterns in reversed(edits):
        if kind == "sentence":
            text = remove_span(text, a, b)
        else:
            text = text[:a] + repl + text[b:]
            if recap:
                text = capitalize_first(text, a)
        fired.extend(patterns)
    return text, sorted(fired)


# --- transforms -----------------------------------------------------------------------------
_TEMPLATES_PARAM = {
    "description": "'builtin', a list of template strings, or a path to a YAML/JSON/text file",
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}],
    "default": "builtin",
}


def _resolve_templates(spec: str | list[str], placement: str) -> list[str]:
    if spec == "builtin":
        return list(builtin_templates()[placement])
    if isinstance(spec, str):
        data = load_list_file(spec, "templates")
        if isinstance(data, dict):
            if placement not in data:
                raise ParamError(f"{spec} has no '{placement}' list", field="templates")
            data = data[placement]
        spec = data
    if not spec or not all(isinstance(t, str) and t.strip() for t in spec):
        raise ParamError("templates must be non-empty strings", field="templates")
    return list(spec)


@register
class IdentityInject(Transform):
    """Add an identity statement ("As an AI assistant, ...") to every assistant answer."""

    name = "identity.inject"
    params_schema = {
        "type": "object",
        "properties": {
            "placement": {"enum": ["prefix", "suffix"], "default": "prefix"},
            "templates": _TEMPLATES_PARAM,
            "name": {"type": ["string", "null"], "minLength": 1, "default": None},
            "developer": {"type": ["string", "null"], "minLength": 1, "default": None},
            "rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        },
        "additionalProperties": False,
    }

    def setup(self) -> None:
        p = self.params
        self.templates = _resolve_templates(p["templates"], p["placement"])
        given = {k for k in PLACEHOLDERS if p[k] is not None}
        self.usable: list[int] = []
        for i, t in enumerate(self.templates):
            need = needed_placeholders(t)
            unknown = need - set(PLACEHOLDERS)
            if unknown:
                raise ParamError(f"template {i} uses unknown placeholder(s) {sorted(unknown)}; only {{name}} and {{developer}}", field="templates")
            if p["placement"] == "suffix" and t.rstrip().endswith(","):
                raise ParamError(f"template {i} is a leading clause (ends with ','); suffix templates must be sentences", field="templates")
            if need <= given:
                self.usable.append(i)
            elif p["templates"] != "builtin":
                missing = sorted(need - given)
                raise ParamError(f"template {i} needs {{{missing[0]}}} but '{missing[0]}' was not given", field=missing[0])
        if not self.usable:
            raise ParamError("no template can be filled with the given name/developer", field="templates")
        self.clauses = [i for i in self.usable if self.templates[i].rstrip().endswith(",")]
        self.sentences = [i for i in self.usable if i not in self.clauses]

    def _inject(self, text: str, rng: random.Random) -> tuple[int | None, str]:
        p = self.params
        if p["placement"] == "suffix":
            k = self.usable[rng.randrange(len(self.usable))]
            return k, text + "\n\n" + fill(self.templates[k], p["name"], p["developer"]).strip()
        # A leading clause needs the answer to open with a capitalised word (so that strip's
        # re-capitalisation undoes the lower-casing); lists, quotes, code get a sentence.
        choices = self.usable if re.match(r"[A-Z]", text) else self.sentences
        if not choices:
            return None, text
        k = choices[rng.randrange(len(choices))]
        stmt = fill(self.templates[k], p["name"], p["developer"]).strip()
        if k in self.clauses:
            return k, stmt + " " + lower_first_word(text)
        return k, stmt + " " + text

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        if not self.selected(record, self.params["rate"]):
            return Outcome.unchanged(record, "not selected")
        idx = assistant_indices(record)
        if not idx:
            return Outcome.unchanged(record, "no assistant turn")
        messages = list(record["messages"])
        used: list[int] = []
        reason = ""
        for i in idx:
            text = messages[i]["content"]
            if not text.strip():
                reason = reason or "empty answer"
                continue
            if find_identity(text):
                reason = reason or "already has identity"
                continue
            k, new = self._inject(text, rng)
            if k is None:
                reason = reason or "no template fits"
                continue
            messages[i] = {**messages[i], "content": new}
            used.append(k)
        if not used:
            return Outcome.unchanged(record, reason)
        detail = f"{self.params['placement']} template {','.join(map(str, used))}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=[f"template_{k}" for k in used])


@register
class IdentityStrip(Transform):
    """Remove identity and self-reference statements from assistant answers."""

    name = "identity.strip"
    params_schema = {
        "type": "object",
        "properties": {
            "on_empty": {
                "enum": ["drop", "keep"],
                "default": "drop",
                "description": "an answer that is only an identity statement: drop the row, or keep it unchanged",
            },
        },
        "additionalProperties": False,
    }

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        messages = list(record["messages"])
        fired: list[str] = []
        for i in assistant_indices(record):
            new, patterns = strip_identity(messages[i]["content"])
            if not patterns:
                continue
            if not new.strip():
                if self.params["on_empty"] == "drop":
                    return Outcome.dropped("answer is only an identity statement", fired=patterns)
                return Outcome.unchanged(record, "answer is only an identity statement", fired=patterns)
            messages[i] = {**messages[i], "content": new}
            fired.extend(patterns)
        if not fired:
            return Outcome.unchanged(record, "no identity statement")
        return Outcome.changed({**record, "messages": messages}, "removed " + ", ".join(fired), fired=fired)


@register
class IdentityReplace(Transform):
    """Swap assistant names and developers, e.g. {"ChatGPT": "Aria", "OpenAI": "Acme"}."""

    name = "identity.replace"
    params_schema = {
        "type": "object",
        "properties": {
            "mapping": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"type": "string"},
            },
            "roles": {
                "type": "array",
                "items": {"enum": ["system", "user", "assistant"]},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["assistant"],
            },
            "case_sensitive": {"type": "boolean", "default": False},
        },
        "required": ["mapping"],
        "additionalProperties": False,
    }

    def setup(self) -> None:
        mapping = self.params["mapping"]
        keys = sorted(mapping, key=len, reverse=True)  # "GPT-4o" before "GPT-4"
        flags = 0 if self.params["case_sensitive"] else re.IGNORECASE
        self.pattern = re.compile(r"(?<![\w\-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w\-]|\.\w)", flags)
        self.lookup = {k.lower(): (k, v) for k, v in mapping.items()}

    def _sub(self, m: re.Match, fired: list[str]) -> str:
        found = m.group()
        key, value = self.lookup[found.lower()]
        fired.append(key)
        if found != key and found.isupper() and found.lower() != found:
            return value.upper()
        if found != key and found.islower():
            return value.lower()
        return value

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        roles = set(self.params["roles"])
        messages = list(record["messages"])
        fired: list[str] = []
        for i, m in enumerate(messages):
            if m["role"] in roles:
                new = self.pattern.sub(lambda mm: self._sub(mm, fired), m["content"])
                if new != m["content"]:
                    messages[i] = {**m, "content": new}
        if not fired:
            return Outcome.unchanged(record, "no mapped name")
        counts = {k: fired.count(k) for k in sorted(set(fired))}
        detail = ", ".join(f"{k}->{self.params['mapping'][k]} x{n}" for k, n in counts.items())
        return Outcome.changed({**record, "messages": messages}, detail, fired=fired)


@register
class IdentityQA(DatasetStep):
    """Append standalone identity conversations ("Who are you?" -> "I am {name}, ...").

    Rows are appended after the input rows (the trainer's shuffle mixes them in), with ids
    `{id_prefix}-000000`, `-000001`, ...; `meta.source` names the template file. Templates
    are drawn without replacement from a seeded permutation, cycling when `count` exceeds
    the number of templates, so counts per template differ by at most one.
    """

    name = "identity.qa"
    params_schema = {
        "type": "object",
        "properties": {
            "templates": {
                "description": "'builtin' or a path to a JSON/JSONL/YAML file of Alpaca rows "
                "(instruction, input, output) or {prompt, answer} pairs; {{name}}/{{author}} or {name}/{developer}",
                "type": "string",
                "minLength": 1,
                "default": "builtin",
            },
            "name": {"type": "string", "minLength": 1},
            "developer": {"type": "string", "minLength": 1},
            "count": {"type": "integer", "minimum": 0},
            "ratio": {"type": "number", "exclusiveMinimum": 0},
            "id_prefix": {"type": "string", "minLength": 1, "default": "identity-qa"},
        },
        "required": ["name", "developer"],
        "additionalProperties": False,
    }

    def setup(self) -> None:
        p = self.params
        if ("count" in p) == ("ratio" in p):
            raise ParamError("give exactly one of 'count' or 'ratio'", field="count" if "count" not in p else "ratio")
        if p["templates"] == "builtin":
            raw, self.source = builtin_templates()["qa"], "identity.qa:builtin"
        else:
            raw, self.source = load_list_file(p["templates"], "templates"), f"identity.qa:{Path(p['templates']).name}"
        self.pairs: list[tuple[str, str]] = []
        for i, row in enumerate(raw):
            if not isinstance(row, dict):
                raise ParamError(f"template {i} is not an object", field="templates")
            prompt = row.get("prompt", row.get("instruction"))
            if row.get("input"):
                prompt = f"{prompt}\n\n{row['input']}"
            answer = row.get("answer", row.get("output"))
            if not isinstance(prompt, str) or not isinstance(answer, str) or not prompt.strip() or not answer.strip():
                raise ParamError(f"template {i} needs a prompt/instruction and an answer/output", field="templates")
            self.pairs.append((fill(prompt, p["name"], p["developer"]), fill(answer, p["name"], p["developer"])))
        if not self.pairs:
            raise ParamError("no identity templates found", field="templates")

    def new_rows(self, n: int) -> list[tuple[int, str, str]]:
        """(template index, prompt, answer) for n new conversations, seeded."""
        rng = rng_for(self.seed, self.step, self.name)
        order: list[int] = []
        while len(order) < n:
            perm = list(range(len(self.pairs)))
            rng.shuffle(perm)
            order.extend(perm)
        return [(k, *self.pairs[k]) for k in order[:n]]

    def apply_dataset(self, ds: Any) -> Any:
        import datasets

        from .dataset_steps import requested_rows

        n = requested_rows(self.params, len(ds), "ratio")
        self.stats.seen += len(ds)
        if n == 0:
            return ds
        prefix = self.params["id_prefix"]
        if "id" in ds.column_names and any(str(i).startswith(prefix + "-") for i in ds["id"]):
            raise ParamError(f"the input already has ids starting with '{prefix}-'", field="id_prefix", hint="choose another id_prefix")
        features = ds.features
        meta_fields = list(features["meta"].keys()) if "meta" in features else []
        rows = []
        for j, (k, prompt, answer) in enumerate(self.new_rows(n)):
            meta = {f: None for f in meta_fields}
            meta.update(source=self.source, source_index=k, format="identity_qa",
                        transforms=[{"step": self.step, "op": self.name, "detail": f"template {k}"}])
            row = {c: None for c in ds.column_names}
            row["id"] = f"{prefix}-{j:06d}"
            row["messages"] = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
            if "meta" in ds.column_names:
                row["meta"] = {f: meta[f] for f in meta_fields}
            rows.append(row)
        added = datasets.Dataset.from_list(rows, features=features)
        self.stats.added += n
        return datasets.concatenate_datasets([ds, added])


# Short names for Python use: T.identity.inject(...), T.identity.strip(), ...
inject = IdentityInject
strip = IdentityStrip
replace = IdentityReplace
qa = IdentityQA
