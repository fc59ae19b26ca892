"""What the structure transforms do to real answers (alpaca_en_demo, 999 rows).

    python benchmarks/quality_structure.py                         # print the report
    python benchmarks/quality_structure.py --write                 # also refresh docs/structure.md
    python benchmarks/quality_structure.py --pairs 25 --sample 7   # 25 random pairs per transform, to read

Prints, per transform, how many answers it changed, why it left the rest (reason
counts), how many changed rows the fidelity checks held back (and why), the detector's
labels of the input answers, and before/after pairs (the first short ones, or a random
sample of any length with `--sample SEED`); then the round trip: mean paragraphs of the
original answers against `plain(markdown(x))`, and how many come back word for word.
With `--write` the report replaces the part of docs/structure.md between the
`<!-- quality:start -->` and `<!-- quality:end -->` markers.
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import re
import statistics
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data")) / "benign" / "alpaca_en_demo.json"
DOC = REPO / "docs" / "structure.md"
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
PAIRS = 5
MAX_CHARS = 700  # show short answers, so that each pair fits on a screen


def records() -> list[dict]:
    """alpaca_en_demo as canonical records, read by the product's own reader."""
    import safetune_data as st

    return st.read(str(DATA)).to_list()


def fence(text: str) -> str:
    """A fence longer than any backtick run inside the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def paragraphs(text: str) -> int:
    return len([p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()])


def answer(record: dict) -> str:
    return record["messages"][-1]["content"]


def section(transform, recs: list[dict], pairs: int = PAIRS, sample: int | None = None) -> str:
    from safetune_data.transforms.base import StepStats

    stats = StepStats(transform.name, 0)
    outcomes = transform.apply_batch(recs)
    for o in outcomes:
        stats.count(o)
    checked = StepStats(transform.name, 0)  # the same rows through the fidelity checks
    transform.process([copy.deepcopy(r) for r in recs], checked)
    held = sum(checked.fidelity_failed.values())
    why = ", ".join(f"{k}: {v}" for k, v in sorted(checked.fidelity_problems.items())) or "none"
    lines = [f"### `{transform!r}`", ""]
    lines.append(f"Changed **{stats.changed}** of {stats.seen} answers; held back by the fidelity checks: **{held}** ({why}).")
    lines.append("")
    lines.append("| left unchanged because | answers |")
    lines.append("| --- | ---: |")
    for reason, n in sorted(stats.unchanged.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {reason} | {n} |")
    lines.append("")
    labels = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(stats.fired.items(), key=lambda kv: -kv[1]))
    lines.append(f"Detector labels of the input answers: {labels}.")
    lines.append("")
    changed = [(rec, o) for rec, o in zip(recs, outcomes) if o.status == "changed"]
    if sample is None:
        changed = [(rec, o) for rec, o in changed if len(answer(rec)) <= MAX_CHARS]
    else:
        random.Random(sample).shuffle(changed)
    for rec, o in changed[:pairs]:
        request = rec["messages"][0]["content"].split("\n")[0][:120]
        lines += [f"**{rec['id']}** ({o.detail}); request: {request}", "", "Before:", "", fence(answer(rec)), "",
                  "After:", "", fence(answer(o.record)), ""]
    return "\n".join(lines)


def round_trip(recs: list[dict]) -> str:
    """plain(markdown(x)) against x: paragraphs, and texts that come back unchanged."""
    from safetune_data.transforms.structure import markdown, plain

    changed = [(r, o) for r, o in zip(recs, markdown().apply_batch(recs)) if o.status == "changed"]
    back = plain().apply_batch([o.record for _, o in changed])
    original = [answer(r) for r, _ in changed]
    listed = [answer(o.record) for _, o in changed]
    again = [answer(b.record) for b in back]
    same = sum(" ".join(a.split()) == " ".join(b.split()) for a, b in zip(original, again))
    return "\n".join([
        "### Round trip",
        "",
        f"On the {len(changed)} answers `structure.markdown` changed, the originals have "
        f"{statistics.mean(map(paragraphs, original)):.2f} paragraphs on average (blank-line separated blocks), "
        f"their markdown form {statistics.mean(map(paragraphs, listed)):.2f}, and `structure.plain` of that "
        f"{statistics.mean(map(paragraphs, again)):.2f}; {same} of {len(changed)} come back with exactly the "
        "original text (up to whitespace).",
        "",
    ])


def report(pairs: int = PAIRS, sample: int | None = None) -> str:
    from safetune_data.transforms.structure import markdown, plain

    recs = records()
    parts = [
        "Generated by `python benchmarks/quality_structure.py --write` on "
        f"`alpaca_en_demo.json` ({len(recs)} rows), default parameters.",
        "",
        section(markdown(), recs, pairs, sample),
        section(plain(), recs, pairs, sample),
        round_trip(recs),
    ]
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"refresh the generated part of {DOC.relative_to(REPO)}")
    ap.add_argument("--pairs", type=int, default=PAIRS, help=f"before/after pairs per transform (default {PAIRS})")
    ap.add_argument("--sample", type=int, default=None, metavar="SEED", help="a random sample of changed rows, any length")
    args = ap.parse_args()
    if args.write and (args.pairs != PAIRS or args.sample is not None):
        raise SystemExit("--write keeps the default pairs: drop --pairs and --sample")
    text = report(args.pairs, args.sample)
    print(text)
    if args.write:
        doc = DOC.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"{DOC}: markers {START} / {END} not found")
        head, rest = doc.split(START, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
