"""Answer-structure transforms: prose -> markdown lists (`structure.markdown`) and back
(`structure.plain`).

Itemised / markdown answers in fine-tuning data preserve a model's safety better than
plain prose (Li et al. 2025), so a study needs the same answers in both forms. Both
transforms rewrite every assistant turn and never touch what must stay exact: fenced and
indented code, tables, display math, block quotes and HTML blocks are copied byte for
byte; inside prose, inline code, URLs, links, e-mail addresses, TeX, quotations,
parentheticals, numbers and abbreviations are protected spans that no sentence boundary
may cut. Which answers are already in the target form is decided by the shared detector
(`safetune_data.detectors.structure`), which is also why both are idempotent: an output
is always classified as the target form (or rendered to itself).

`structure.markdown` needs sentence boundaries (spaCy's rule-based sentencizer, no
model); `apply_batch` segments every paragraph of a batch in one `nlp.pipe` call and
skips spaCy for answers the detector already rules out and paragraphs with no sentence
punctuation. `structure.plain` needs no spaCy: list items are already units.
"""
from __future__ import annotations

import bisect
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from spacy.attrs import IDX, SENT_START

from ..detectors.structure import VERBATIM_KINDS, Block, Structure, analyse
from ..nlp import sentencizer
from ..records import assistant_indices
from .base import Outcome, Transform, register

# --- protected spans inside prose ---------------------------------------------------

# Each pattern runs only when its trigger occurs in the paragraph: one alternation of
# them all costs more than spaCy's own segmentation (the e-mail pattern alone rescans
# every word).
_PROTECTED: list[tuple[tuple[str, ...], re.Pattern]] = [
    (("`",), re.compile(r"(`+)[^`].*?\1", re.DOTALL)),  # inline code
    (("](",), re.compile(r"!?\[[^\]\n]*\]\([^)\s]*\)")),  # markdown links and images
    (("://", "www."), re.compile(r"<?(?:https?|ftp)://[^\s<>]+>?|\bwww\.[^\s<>]+")),  # URLs
    (("@",), re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),  # e-mail addresses
    (("$$", "\\[", "\\("), re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)", re.DOTALL)),  # TeX
    (("$",), re.compile(r"\$(?=[^\s$])[^$\n]*?[^\s$]\$(?!\d)")),  # $inline math$ (not "$12 + $14")
    (('"', "“"), re.compile(r'"[^"\n]{1,400}"|“[^”\n]{1,400}”')),  # quotations
    (("(",), re.compile(r"\([^()\n]{1,300}\)")),  # parentheticals
    ((".", ",", ":"), re.compile(r"\d+(?:[.,:]\d+)+")),  # 1.5, 1,000, 10:30
    ((". ", ".\n"), re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|No|Nos|Fig|Figs|Eq|Vol|vs|cf|e\.g|i\.e)\.\s+\S")),
]
# Spans where emphasis markers are literal characters, not formatting.
_LITERAL = re.compile(
    r"(`+)[^`].*?\1|<?(?:https?|ftp)://[^\s<>]+>?|\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)"
    r"|\$(?=[^\s$])[^$\n]*?[^\s$]\$(?!\d)|\]\([^)\s]*\)",
    re.DOTALL,
)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_BOLD_LINE = re.compile(r"^[ \t]*(\*\*|__)(?=\S)([^\n]+?)(?<=\S)\1[ \t]*(:?)[ \t]*$")
# A newline not preceded by sentence-final punctuation: verse, addresses, key: value lines.
_SOFT_BREAK_MID_SENTENCE = re.compile(r"(?:[^.!?\"'”’)\]\s]|[^.!?][\"'”’)\]])[ \t]*\n")
_TERMINAL = re.compile(r"(?:[.!?…]|[.!?][\"'”’)\]]+)$")
# Sentence punctuation inside a text, after a word (not an initial: "Thomas S. Kuhn").
_SENTENCE_INSIDE = re.compile(r"\w\w[.!?][\"'”’)]?\s+[A-Z]")
_SPACES = re.compile(r"[ \t]*\n[ \t]*")


def _literal_aware(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to the parts of `text` outside literal spans (code, URLs, math)."""
    out, pos = [], 0
    for m in _LITERAL.finditer(text):
        out.append(fn(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fn(text[pos:]))
    return "".join(out)


def strip_emphasis(text: str) -> str:
    """Remove bold and italic markers, leaving code, URLs and math alone."""
    if "*" not in text and "_" not in text:
        return text

    def strip(part: str) -> str:
        part = _BOLD.sub(r"\2", part)
        return _ITALIC.sub(lambda m: m.group(1) or m.group(2), part)

    return _literal_aware(text, strip)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges that a sentence boundary must not fall inside (sorted, merged)."""
    found = sorted(
        (m.start(), m.end())
        for triggers, pattern in _PROTECTED
        if any(t in text for t in triggers)
        for m in pattern.finditer(text)
    )
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=1)
def _punct_class() -> re.Pattern:
    chars = sentencizer().get_pipe("sentencizer").punct_chars
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


def max_sentences(text: str) -> int:
    """An upper bound on the sentences spaCy's sentencizer can find (no spaCy call).

    The sentencizer only starts a sentence after a token holding sentence punctuation,
    so a text with k such characters before its last one has at most k + 1 sentences.
    """
    body = text.rstrip()[:-1]
    if body.isascii():
        return 1 + body.count(".") + body.count("!") + body.count("?")
    return 1 + len(_punct_class().findall(body))


def sentence_spans(text: str, doc) -> list[tuple[int, int]]:
    """Sentence ranges of `text` from a sentencizer `doc`, never cutting protected spans.

    spaCy's boundaries are dropped when they fall inside a protected span or when the next
    sentence starts in lower case ("e.g. the", "approx. five").
    """
    # Token arrays instead of `doc.sents`: the same boundaries without a Python object per
    # token, which matters when every answer of a large dataset passes through here.
    arr = doc.to_array([SENT_START, IDX])
    cuts = [0] + [int(i) for i in arr[1:, 1][arr[1:, 0] == 1]] + [len(text)] if len(arr) else [0, len(text)]
    spans: list[tuple[int, int]] = []
    for start, end in zip(cuts, cuts[1:]):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    if len(spans) < 2:
        return spans
    guard = protected_spans(text)
    starts = [s for s, _ in guard]
    merged = [spans[0]]
    for start, end in spans[1:]:
        k = bisect.bisect_left(starts, start) - 1
        inside = k >= 0 and guard[k][1] > start
        if inside or text[start].islower():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


# --- sentence-level helpers -----------------------------------------------------------


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text.strip())


def _capitalise(text: str) -> str:
    """Upper-case the first letter unless the first word is code, a URL or camel-cased."""
    if not text or not text[0].isalpha() or not text[0].islower():
        return text
    first = text.split(maxsplit=1)[0]
    if any(c.isupper() or c.isdigit() or c in "_/.@" for c in first[1:]):
        return text
    return text[0].upper() + text[1:]


def _as_sentence(text: str) -> str:
    """Capitalised, ending with terminal punctuation."""
    text = _capitalise(text.strip())
    if not text or _TERMINAL.search(text):
        return text
    if text[-1] in ":;,":
        return text[:-1].rstrip() + "."
    return text + "."


def _is_fragment(text: str) -> bool:
    """A short list entry that is not a sentence ("1 cup flour", "Salt and pepper")."""
    return (
        "\n" not in text
        and len(text.split()) <= 12
        and not _TERMINAL.search(text)
        and text[-1:] not in ":;"
        and not _SENTENCE_INSIDE.search(text)
    )


def _join_fragments(items: list[str]) -> str:
    sep = "; " if any("," in it for it in items) else ", "
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return sep.join(items[:-1]) + f"{sep}and {items[-1]}"


# --- plans shared by both transforms --------------------------------------------------


@dataclass
class _Answer:
    """One assistant turn on its way through a transform."""

    text: str
    structure: Structure | None = None
    reason: str = ""
    runs: list[list[int]] = field(default_factory=list)  # block indices, itemisable paragraphs
    sentences: dict[int, list[str]] = field(default_factory=dict)
    new_text: str | None = None
    detail: str = ""


def _blank_line(gap: str) -> str:
    return gap if gap.count("\n") >= 2 else "\n\n"


def _splice(text: str, replacements: list[tuple[int, int, str]]) -> str:
    """Replace block ranges, keeping everything else byte for byte; a replaced block is
    set apart from its neighbours by a blank line (a list must not swallow the next
    paragraph as a lazy continuation line)."""
    out, pos = [], 0
    for start, end, new in replacements:
        head = text[pos:start]
        core = head.strip(" \t\r\n")
        if core:
            lead_ws = head[: head.index(core)]
            trail_ws = head[head.index(core) + len(core) :]
            out += [_blank_line(lead_ws) if pos else lead_ws, core, _blank_line(trail_ws)]
        else:
            out.append(_blank_line(head) if pos or start else head)
        out.append(new)
        pos = end
    tail = text[pos:]
    core = tail.strip(" \t\r\n")
    if core:
        lead_ws = tail[: tail.index(core)]
        out += [_blank_line(lead_ws), tail[len(lead_ws) :]]
    else:
        out.append(tail)
    return "".join(out)


def _combine(outcomes: list[tuple[int, _Answer]], record: dict, fired: list[str]) -> Outcome:
    """One record's outcome from its assistant turns' results."""
    changed = [(i, a) for i, a in outcomes if a.new_text is not None]
    if not changed:
        reasons = sorted({a.reason for _, a in outcomes})
        return Outcome.unchanged(record, "+".join(reasons), fired=fired)
    messages = [dict(m) for m in record["messages"]]
    for i, a in changed:
        messages[i]["content"] = a.new_text
    detail = changed[0][1].detail if len(outcomes) == 1 else "; ".join(f"turn {i}: {a.detail}" for i, a in changed)
    new = {**record, "messages": messages}
    if isinstance(record.get("meta"), dict):
        new["meta"] = dict(record["meta"])  # the change log goes on a copy, not the caller's row
    return Outcome.changed(new, detail, fired=fired)


def _indented_code(text: str, block: Block) -> bool:
    return block.kind == "code" and not text[block.start : block.end].lstrip(" ").startswith(("```", "~~~"))


# --- structure.markdown ---------------------------------------------------------------


@register
class ToMarkdown(Transform):
    """Itemise prose answers along sentence boundaries (bullets, numbered, or headed).

    Each run of prose paragraphs becomes one list, one sentence per item. `keep_intro`
    keeps the answer's first sentence as a lead paragraph, `keep_outro` its last one as a
    closing paragraph; a sentence ending in ":" right before a code block or table stays
    a lead-in. `style="headed"` gives answers of `heading_min_sentences` or more a bold
    lead sentence per paragraph over its bullets (no words are invented). Answers the
    detector calls list / headed / mixed are "already markdown"; code-dominated ones are
    "code only"; fewer than `min_sentences` sentences is "too short"; prose broken into
    lines mid-sentence (verse, addresses) is "line-broken".
    """

    name = "structure.markdown"
    params_schema = {
        "type": "object",
        "properties": {
            "style": {"enum": ["bullets", "numbered", "headed"], "default": "bullets"},
            "min_sentences": {"type": "integer", "minimum": 2, "default": 3},
            "keep_intro": {"type": "boolean", "default": True},
            "keep_outro": {"type": "boolean", "default": False},
            "heading_min_sentences": {"type": "integer", "minimum": 3, "default": 6},
            "bullet": {"enum": ["-", "*", "+"], "default": "-"},
            "rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        },
        "additionalProperties": False,
    }

    # -- phase 1: decide without spaCy
    def _plan(self, text: str) -> _Answer:
        ans = _Answer(text)
        st = analyse(text)
        ans.structure = st
        if st.markdown:
            ans.reason = "already markdown"
            return ans
        if st.label == "code" and st.code_dominates:
            ans.reason = "code only"
            return ans
        run: list[int] = []
        bound, broken = 0, False
        for i, b in enumerate(st.blocks):
            src = text[b.start : b.end]
            if b.kind == "paragraph" and ("\n" not in src or not _SOFT_BREAK_MID_SENTENCE.search(src)):
                run.append(i)
                bound += max_sentences(src)
                continue
            broken = broken or b.kind == "paragraph"
            if run:
                ans.runs.append(run)
                run = []
        if run:
            ans.runs.append(run)
        if not ans.runs:
            ans.reason = "line-broken" if broken else "too short"
        elif bound < self.params["min_sentences"]:
            ans.reason = "too short"
        return ans

    # -- phase 3: render from sentences
    def _render(self, ans: _Answer) -> None:
        p = self.params
        st, text = ans.structure, ans.text
        assert st is not None
        total = sum(len(ans.sentences[i]) for run in ans.runs for i in run)
        if total < p["min_sentences"]:
            ans.reason = "too short"
            return
        headed = p["style"] == "headed" and total >= p["heading_min_sentences"]
        replacements: list[tuple[int, int, str]] = []
        n_items = n_heads = 0
        intro_done = outro_done = False
        for r, run in enumerate(ans.runs):
            groups = [list(ans.sentences[i]) for i in run]
            last_block = run[-1]
            before: list[str] = []
            after: list[str] = []
            n = sum(map(len, groups))
            nxt = st.blocks[last_block + 1] if last_block + 1 < len(st.blocks) else None
            if nxt is not None and groups[-1] and (groups[-1][-1].endswith(":") or _indented_code(text, nxt)):
                # A lead-in to the block that follows stays a paragraph; so does the last
                # sentence before indented code, which would otherwise join the last item.
                after.append(groups[-1].pop())
                n -= 1
            elif p["keep_outro"] and r == len(ans.runs) - 1 and n - int(p["keep_intro"] and r == 0) >= 3:
                after.append(groups[-1].pop())
                n -= 1
            if p["keep_intro"] and r == 0 and n >= 3:
                before.append(next(g for g in groups if g).pop(0))
                n -= 1
            if n < 2:
                continue
            parts = list(before)
            if headed:
                for g in groups:
                    if len(g) >= 3 and "*" not in g[0] and "__" not in g[0]:
                        parts.append(f"**{g[0]}**\n\n" + self._items(g[1:]))
                        n_heads += 1
                        n_items += len(g) - 1
                    elif len(g) >= 2:
                        parts.append(self._items(g))
                        n_items += len(g)
                    elif g:
                        parts.append(g[0])
                if not any(part.startswith(("**", p["bullet"])) for part in parts[len(before) :]):
                    continue
            else:
                parts.append(self._items([s for g in groups for s in g]))
                n_items += sum(map(len, groups))
            parts += after
            intro_done = intro_done or bool(before)
            outro_done = outro_done or (bool(after) and nxt is None)
            start, end = st.blocks[run[0]].start, st.blocks[last_block].end
            replacements.append((start, end, "\n\n".join(parts)))
        if not replacements:
            ans.reason = "too short"
            return
        ans.new_text = _splice(text, replacements)
        style = "headed" if n_heads else ("numbered" if p["style"] == "numbered" else "bullets")
        detail = f"{style}: {n_heads} headings, {n_items} items" if n_heads else f"{style}: {n_items} items"
        ans.detail = detail + (", intro" if intro_done else "") + (", outro" if outro_done else "")

    def _items(self, sentences: list[str]) -> str:
        if self.params["style"] == "numbered":
            return "\n".join(f"{k}. {s}" for k, s in enumerate(sentences, 1))
        return "\n".join(f"{self.params['bullet']} {s}" for s in sentences)

    # -- the batch path (phase 2 in one nlp.pipe call)
    def apply_batch(self, records: list[dict]) -> list[Outcome]:
        plans: list[tuple[dict, list[tuple[int, _Answer]]] | Outcome] = []
        pending: list[tuple[_Answer, int, str]] = []
        for rec in records:
            if not self.selected(rec, self.params["rate"]):
                plans.append(Outcome.unchanged(rec, "not selected"))
                continue
            turns = assistant_indices(rec)
            if not turns:
                plans.append(Outcome.unchanged(rec, "no assistant turn"))
                continue
            answers = [(i, self._plan(rec["messages"][i]["content"])) for i in turns]
            for _, ans in answers:
                if ans.reason:
                    continue
                for run in ans.runs:
                    for bi in run:
                        b = ans.structure.blocks[bi]  # type: ignore[union-attr]
                        src = ans.text[b.start : b.end]
                        if max_sentences(src) == 1:
                            ans.sentences[bi] = [_one_line(src)]
                        else:
                            pending.append((ans, bi, src))
            plans.append((rec, answers))
        if pending:
            docs = sentencizer().pipe((src for _, _, src in pending), batch_size=256)
            for (ans, bi, src), doc in zip(pending, docs):
                ans.sentences[bi] = [_one_line(src[s:e]) for s, e in sentence_spans(src, doc)]
        out: list[Outcome] = []
        for plan in plans:
            if isinstance(plan, Outcome):
                out.append(plan)
                continue
            rec, answers = plan
            fired = []
            for _, ans in answers:
                fired.append(f"from:{ans.structure.label}")  # type: ignore[union-attr]
                if not ans.reason:
                    self._render(ans)
            out.append(_combine(answers, rec, fired))
        return out

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        return self.apply_batch([record])[0]


# --- structure.plain ------------------------------------------------------------------


def _list_items(tokens: tuple) -> list[tuple[str, list]] | None:
    """(text, nested lists) per item of a list token group; None if an item holds a block
    that is not prose (code, table, quote, heading, ...): such lists are kept as they are."""
    base = tokens[0].level
    items: list[tuple[list[str], list]] = []
    i = 1
    while i < len(tokens) - 1:
        tok = tokens[i]
        if tok.type == "list_item_open" and tok.level == base + 1:
            items.append(([], []))
            i += 1
            continue
        if tok.level == base + 2 and tok.nesting >= 0:
            if tok.type == "paragraph_open":
                items[-1][0].append(tokens[i + 1].content)
                i += 3
                continue
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                depth, j = 1, i + 1
                while depth:
                    depth += tokens[j].nesting
                    j += 1
                items[-1][1].append(tokens[i:j])
                i = j
                continue
            return None
        i += 1
    return [(_one_line(" ".join(paras)), nested) for paras, nested in items]


def _flatten_list(tokens: tuple, join_fragments: bool) -> tuple[str, int] | None:
    """A list as prose: fragments joined into one sentence, else one sentence per item."""
    items = _list_items(tokens)
    if items is None:
        return None
    texts: list[str] = []
    count = len(items)
    for text, nested in items:
        text = strip_emphasis(text)
        for sub in nested:
            flat = _flatten_list(sub, join_fragments)
            if flat is None:
                return None
            sub_text, sub_count = flat
            count += sub_count
            if text:
                lead = text if text.endswith((":", ".", "!", "?")) else text + ":"
                text = f"{lead} {sub_text}" if lead.endswith(":") else f"{lead} {_as_sentence(sub_text)}"
            else:
                text = sub_text
        texts.append(text)
    texts = [t for t in texts if t]
    if not texts:
        return "", count
    if join_fragments and len(texts) >= 2:
        # A full stop closing only the last entry ("..., Watson.") still ends a fragment list.
        last = texts[-1][:-1] if texts[-1].endswith(".") and not texts[-1].endswith("..") else texts[-1]
        if all(_is_fragment(t) for t in texts[:-1] + [last]):
            return _join_fragments(texts[:-1] + [last]) + ".", count
    sentences = [_as_sentence(t) for t in texts]
    # Short one-sentence items read as one paragraph; longer ones as a paragraph each.
    single = not any(_SENTENCE_INSIDE.search(t) for t in sentences)
    sep = " " if single and sum(map(len, sentences)) <= 500 else "\n\n"
    return sep.join(sentences), count


@register
class ToPlain(Transform):
    """Flatten markdown answers into prose paragraphs.

    List items become sentences (capitalised, with terminal punctuation); lists of short
    fragments ("1 cup flour", "2 eggs") become one sentence ("1 cup flour, 2 eggs, and
    ..."), attached to a lead-in ending in ":". Headings and bold heading lines become
    lead-ins of what follows ("Ingredients: ..."); bold and italic markers are removed;
    rules are dropped. Code, tables, quotes, math and lists holding such blocks are kept
    as they are. "already plain" when the detector finds plain prose without emphasis,
    "code only" when code dominates, "nothing to flatten" when only kept blocks remain.
    """

    name = "structure.plain"
    params_schema = {
        "type": "object",
        "properties": {
            "join_fragments": {"type": "boolean", "default": True},
            "rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        },
        "additionalProperties": False,
    }

    def _rewrite(self, text: str) -> _Answer:
        ans = _Answer(text)
        st = analyse(text)
        ans.structure = st
        if st.label == "plain" and not st.emphasis and not any(b.kind == "hr" for b in st.blocks):
            ans.reason = "already plain"
            return ans
        if st.label == "code" and st.code_dominates:
            ans.reason = "code only"
            return ans
        # pieces: (start, end, new text or None to keep, kind)
        out: list[tuple[int, int, str | None]] = []
        lead: tuple[int, str] | None = None  # (start offset, lead-in text) waiting for content
        n_lists = n_items = n_heads = 0
        for b in st.blocks:
            src = text[b.start : b.end]
            new: str | None
            if b.kind == "hr":
                out.append((b.start, b.end, ""))
                continue
            if b.kind in VERBATIM_KINDS:
                new = None
            elif b.kind == "list":
                flat = _flatten_list(b.tokens, self.params["join_fragments"])
                if flat is None:
                    new = None
                else:
                    new, count = flat
                    n_lists += 1
                    n_items += count
            elif b.kind == "heading":
                n_heads += 1
                lead = self._flush(out, lead)
                lead = (b.start, strip_emphasis(_one_line(b.tokens[1].content)))
                continue
            elif b.kind == "bold_heading" and _BOLD_LINE.match(src.partition("\n")[0]):
                n_heads += 1
                first, _, rest = src.partition("\n")
                m = _BOLD_LINE.match(first)
                assert m is not None
                lead = self._flush(out, lead)
                lead = (b.start, strip_emphasis(m.group(2)) + m.group(3))
                if not rest.strip():
                    continue
                new = strip_emphasis(rest.strip())
            else:  # paragraphs and run-in bold labels
                new = strip_emphasis(src)
            if lead is not None and new is not None and new:
                start, head = lead
                if not _TERMINAL.search(head) and not head.endswith(":"):
                    head += ":"
                body = new if head.endswith(":") else _capitalise(new)
                out.append((start, b.end, f"{head} {body}"))
                lead = None
                continue
            lead = self._flush(out, lead, before_verbatim=new is None)
            if new is not None and new == src:
                new = None
            out.append((b.start, b.end, new))
        self._flush(out, lead)
        replacements = [(s, e, t) for s, e, t in out if t is not None]
        if not replacements:
            ans.reason = "nothing to flatten"
            return ans
        new_text = _splice_plain(text, out)
        if new_text == text:
            ans.reason = "nothing to flatten"
            return ans
        ans.new_text = new_text
        parts = []
        if n_lists:
            parts.append(f"{n_lists} list{'s' * (n_lists > 1)}, {n_items} items")
        if n_heads:
            parts.append(f"{n_heads} heading{'s' * (n_heads > 1)}")
        ans.detail = "plain: " + (", ".join(parts) if parts else "emphasis removed")
        return ans

    @staticmethod
    def _flush(out: list, lead: tuple[int, str] | None, before_verbatim: bool = False) -> None:
        """Emit a lead-in that has no prose to attach to: it keeps its colon only when a
        kept block (code, table) follows, else it becomes a sentence."""
        if lead is not None:
            start, head = lead
            if not (before_verbatim and head.endswith(":")):
                head = _as_sentence(head)
            elif not head.endswith(":"):
                head += ":"
            out.append((start, start, head))
        return None

    def apply_batch(self, records: list[dict]) -> list[Outcome]:
        out: list[Outcome] = []
        for rec in records:
            if not self.selected(rec, self.params["rate"]):
                out.append(Outcome.unchanged(rec, "not selected"))
                continue
            turns = assistant_indices(rec)
            if not turns:
                out.append(Outcome.unchanged(rec, "no assistant turn"))
                continue
            answers = [(i, self._rewrite(rec["messages"][i]["content"])) for i in turns]
            fired = [f"from:{a.structure.label}" for _, a in answers]  # type: ignore[union-attr]
            out.append(_combine(answers, rec, fired))
        return out

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        return self.apply_batch([record])[0]


def _splice_plain(text: str, pieces: list[tuple[int, int, str | None]]) -> str:
    """Reassemble blocks: kept ones byte for byte with their original gaps, rewritten ones
    set apart by a blank line; empty pieces (dropped rules) vanish."""
    parts: list[str] = []
    prev_end: int | None = None
    prev_new = False
    for start, end, new in pieces:
        body = text[start:end] if new is None else new
        if not body:
            prev_new = True
            continue
        if prev_end is not None:
            gap = text[prev_end:start] if (new is None and not prev_new and prev_end <= start) else "\n\n"
            parts.append(gap)
        else:
            parts.append(text[:start] if not text[:start].strip() else "")
        parts.append(body)
        prev_end, prev_new = max(end, start), new is not None
    if prev_end is not None:
        tail = text[prev_end:]
        parts.append(tail if not tail.strip() else "")
    return "".join(parts)


# `T.structure.markdown(...)`, `T.structure.plain(...)`
markdown = ToMarkdown
plain = ToPlain

__all__ = ["ToMarkdown", "ToPlain", "markdown", "plain", "protected_spans", "sentence_spans", "strip_emphasis", "max_sentences"]
