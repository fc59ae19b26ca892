"""The answer-structure detector: is an answer plain prose, itemised, headed or code?

Answer structure is one of the three data properties that move a fine-tuned model's
safety (markdown / itemised answers preserve it better than plain prose), so transforms,
the profile and judges must agree on one definition. It lives here.

Block structure comes from markdown-it (CommonMark plus GFM tables, inline parsing
switched off because only blocks matter here): hand-written line regexes get lazy
continuation lines, indented code after a paragraph and setext headings wrong. Answers
with no character that can start a markdown block skip the parser entirely; that fast
path gives the same blocks as the parser (a test checks it on real rows).

Labels (`classify`):

- ``code``: the answer holds fenced or indented code blocks and either they hold at
  least half of its non-blank characters, or it has no list or heading besides them.
- ``list``: itemised lines and nothing else structural: at least two list items in all
  (bullets or numbers, nesting counted) or a table.
- ``headed``: markdown headings (``#`` or setext), bold heading lines (a line that is
  only ``**bold**``, optionally with a colon) followed by content, or run-in bold
  labels opening a paragraph (``**Label:** text``, ``**Label**: text``); nothing else
  structural.
- ``mixed``: two or more of list / headed / code, with code not dominating.
- ``plain``: none of these (paragraphs, block quotes, rules and display math only).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

LABELS = ("plain", "list", "headed", "code", "mixed")

# Block kinds that transforms must copy byte for byte (never segment, never reflow).
VERBATIM_KINDS = frozenset({"code", "table", "math", "quote", "html"})

# A line that could open a markdown block other than a paragraph (or a table row, a
# bold heading, display math, a link reference). No match: the answer is paragraphs only.
_MARKUP_LINE = re.compile(
    r"^(?:[ \t]*(?:[#>*+\-=_<~`\[]|\d{1,9}[.)]|\$\$|\\\[)| {4}|\t)|\|", re.MULTILINE
)
_NEWLINE = re.compile(r"\r\n?|\n")
_BLANK_LINE = re.compile(r"(?:\r\n?|\n)[ \t]*(?:\r\n?|\n)(?:[ \t]*(?:\r\n?|\n))*")
_CONTENT = re.compile(r"[^ \t\r\n](?:.*[^ \t\r\n])?", re.DOTALL)  # a paragraph without its surrounding blanks
# A paragraph's first line that is only bold text (optionally with a colon): a heading.
# Groups: the marker, the text, the colon (`structure.plain` makes the line a lead-in).
BOLD_LINE = re.compile(r"^[ \t]*(\*\*|__)(?=\S)([^\n]+?)(?<=\S)\1[ \t]*(:?)[ \t]*$")
# A paragraph opening with a bold label and a colon, then text: a run-in heading.
_RUN_IN = re.compile(r"^[ \t]*(\*\*|__)(?=\S)([^\n]{1,80}?)(?<=\S)(?::\1|\1:)[ \t]+\S")
_DISPLAY_MATH = re.compile(r"^\s*(?:\$\$.*\$\$|\\\[.*\\\])\s*$", re.DOTALL)
_EMPHASIS = re.compile(
    r"(\*\*|__)(?=\S).+?(?<=\S)\1|(?<![\w*'])\*(?=[^\s*']).+?(?<=[^\s*'])\*(?![\w*])"
    r"|(?<![\w_'])_(?=[^\s_']).+?(?<=[^\s_'])_(?![\w_])"
)
_INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One top-level markdown block, located by character offsets into the answer.

    kind: paragraph | heading | bold_heading | list | code | table | math | quote |
    html | hr. `text[start:end]` is the block's source, without trailing whitespace.
    `tokens` holds the markdown-it tokens of lists and headings (for flattening).
    """

    kind: str
    start: int
    end: int
    tokens: tuple[Token, ...] = field(default=(), compare=False, repr=False)
    items: int = 0


@dataclass(frozen=True)
class Structure:
    """What `analyse` found; `label` is what `classify` returns."""

    label: str
    blocks: tuple[Block, ...]
    list_items: int
    headings: int
    code_share: float
    emphasis: bool

    @property
    def code_dominates(self) -> bool:
        return self.code_share >= 0.5

    @property
    def markdown(self) -> bool:
        """Already in an itemised or headed form (the target of `structure.markdown`)."""
        return self.label in ("list", "headed", "mixed")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table")
    md.disable(["inline", "text_join"])
    return md


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _span(text: str, starts: list[int], first: int, last: int) -> tuple[int, int]:
    """Character range of lines [first, last), without trailing whitespace."""
    start = starts[first]
    end = starts[last] if last < len(starts) else len(text)
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return start, end


def _paragraph_kind(src: str, has_next: bool) -> str:
    if _DISPLAY_MATH.match(src):
        return "math"
    first, _, rest = src.partition("\n")
    if (BOLD_LINE.match(first) and (rest.strip() or has_next)) or _RUN_IN.match(src):
        return "bold_heading"
    return "paragraph"


def _plain_blocks(text: str) -> list[Block]:
    """Paragraph blocks split on blank lines (the fast path: no markup line at all)."""
    blocks: list[Block] = []
    bounds = [0, *(x for m in _BLANK_LINE.finditer(text) for x in m.span()), len(text)]
    spans = [m.span() for a, b in zip(bounds[::2], bounds[1::2]) if (m := _CONTENT.search(text, a, b))]
    for i, (start, end) in enumerate(spans):
        # Leading spaces of the first line belong to the line (markdown-it maps lines).
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t") == "":
            start = line_start
        blocks.append(Block(_paragraph_kind(text[start:end], i + 1 < len(spans)), start, end))
    return blocks


def _parsed_blocks(text: str) -> list[Block]:
    tokens = _parser().parse(text)
    starts = _line_starts(text)
    tops: list[tuple[str, tuple[Token, ...], list[int]]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.nesting == 1:  # an opening token: collect until its closing partner
            depth, j = 1, i + 1
            while depth:
                depth += tokens[j].nesting
                j += 1
            group = tuple(tokens[i:j])
            i = j
        else:
            group = (tok,)
            i += 1
        kind = {
            "paragraph_open": "paragraph",
            "heading_open": "heading",
            "bullet_list_open": "list",
            "ordered_list_open": "list",
            "fence": "code",
            "code_block": "code",
            "table_open": "table",
            "blockquote_open": "quote",
            "html_block": "html",
            "hr": "hr",
        }.get(tok.type)
        if kind is None or tok.map is None:  # link reference definitions leave no token
            continue
        tops.append((kind, group, tok.map))
    blocks: list[Block] = []
    for n, (kind, group, (first, last)) in enumerate(tops):
        start, end = _span(text, starts, first, last)
        if kind == "paragraph":
            kind = _paragraph_kind(text[start:end], n + 1 < len(tops))
        items = sum(1 for t in group if t.type == "list_item_open")
        keep = group if kind in ("list", "heading") else ()
        blocks.append(Block(kind, start, end, keep, items))
    return blocks


def blocks(text: str) -> list[Block]:
    """Top-level blocks of an answer, in order."""
    return list(_blocks(text))


@lru_cache(maxsize=4096)
def _blocks(text: str) -> tuple[Block, ...]:
    """Cached per text: a transform, the next step of a chain and the fidelity checks all
    ask for the blocks of the same answer, and markdown parsing is the detector's cost."""
    if not _MARKUP_LINE.search(text):
        return tuple(_plain_blocks(text))
    return tuple(_parsed_blocks(text))


def _nonblank(s: str) -> int:
    return len(s) - sum(s.count(c) for c in " \t\r\n")


def has_emphasis(text: str) -> bool:
    """Bold or italic markers outside inline code."""
    return bool(_EMPHASIS.search(_INLINE_CODE.sub("", text))) if ("*" in text or "_" in text) else False


def analyse(text: str) -> Structure:
    """Blocks, counts and label of one answer (see the module docstring for labels)."""
    found = blocks(text)
    items = sum(b.items for b in found if b.kind == "list")
    headings = sum(1 for b in found if b.kind in ("heading", "bold_heading"))
    code = sum(_nonblank(text[b.start : b.end]) for b in found if b.kind == "code")
    total = _nonblank(text)
    share = code / total if total else 0.0
    has_list = items >= 2 or any(b.kind == "table" for b in found)
    has_code = any(b.kind == "code" for b in found)
    feats = [name for name, on in (("list", has_list), ("headed", headings > 0), ("code", has_code)) if on]
    if has_code and share >= 0.5:
        label = "code"
    elif len(feats) >= 2:
        label = "mixed"
    elif feats:
        label = feats[0]
    else:
        label = "plain"
    prose = "\n".join(text[b.start : b.end] for b in found if b.kind in ("paragraph", "heading", "bold_heading", "list"))
    return Structure(label, tuple(found), items, headings, share, has_emphasis(prose))


# Any line that could make a text with list items other than a "list": code (fences,
# indentation), HTML, quotes, tables, headings (ATX, setext underlines, bold lines),
# display math and rules.
_NOT_ONLY_LIST = re.compile(
    r"^(?: {4}|\t| {0,3}(?:```|~~~|[<>#|]|\*\*|__|\$\$|\\\[|=+[ \t]*$|-+[ \t]*$|(?:[-*_][ \t]*){3,}$))", re.MULTILINE
)
_ITEM_LINE = re.compile(r" {0,3}(?:([-*+])|(\d{1,9})[.)])[ \t]+\S")


def surely_list(text: str) -> bool:
    """True only if `classify(text)` is "list", decided without the parser.

    Most itemised answers are plain bullet or numbered lines between paragraphs; parsing
    them costs more than segmenting a prose answer, only to learn that a transform must
    leave them. This says yes only when no line could make them anything else and two
    lines are certainly list items (a bullet, or a number after a blank line, another item
    or "1."); otherwise it says no and the caller parses (a test checks it on real rows).
    """
    if "\r" in text or _NOT_ONLY_LIST.search(text):
        return False
    items = 0
    prev_text = False  # the previous line continues a paragraph
    for line in text.split("\n"):
        m = _ITEM_LINE.match(line)
        if m and (m.group(1) or not prev_text or m.group(2) == "1"):
            items += 1
            if items == 2:
                return True
            prev_text = False
        else:
            prev_text = bool(line.strip())
    return False


def classify(text: str) -> str:
    """One of "plain" | "list" | "headed" | "code" | "mixed" (defined in the module docstring)."""
    return analyse(text).label


__all__ = ["BOLD_LINE", "LABELS", "VERBATIM_KINDS", "Block", "Structure", "analyse", "blocks", "classify", "has_emphasis", "surely_list"]
