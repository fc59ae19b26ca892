"""How faithful the factor transforms are, on rows they were tuned on and rows they were not.

    python benchmarks/transform_quality.py                 # print the report (both splits)
    python benchmarks/transform_quality.py --write         # also write docs/transform_quality.md
                                                           # and docs/transform_samples.md

Two splits, fixed before any rule was written against them:

- dev: alpaca_en_demo (999 Alpaca rows), XSTest GPT-4 completions and the AOA identity-shift
  rows (natural self-references). The rules were developed reading these.
- held-out: the ShareGPT preference demo (chosen and rejected answers of 300 conversations,
  multi-turn) and XSTest Llama-2 completions (natural self-references). Read only through
  this script's figures. For roleplay.strip (Alpaca carries almost no personas), 70 persona
  rows written independently of the rules (benchmarks/persona_rows_fresh.jsonl); its rated
  sample was drawn from them while unseen (12 good, 13 broken); the strip rules were then
  tuned on them. A second independent set (benchmarks/persona_rows_fresh2.jsonl) was rated
  once unseen (18 good, 2 awkward, 5 broken) and the rules were tuned on it too; so was a
  third (benchmarks/persona_rows_fresh3.jsonl: 10 good, 1 awkward, 2 broken of the 13 rows
  it changed, rated once unseen) and a fourth (benchmarks/persona_rows_fresh4.jsonl, 150 rows:
  18 good, 1 awkward, 3 broken of the 22 rows it changed, rated once unseen) and a fifth
  (benchmarks/persona_rows_fresh5.jsonl, 150 rows: 13 good, 2 awkward, 10 broken of 25, rated
  once unseen), a sixth (benchmarks/persona_rows_fresh6.jsonl, 150 rows: 18 good, 1 awkward,
  5 broken of 24), a seventh (benchmarks/persona_rows_fresh7.jsonl, 150 rows: 14 good,
  6 broken of 20) and an eighth (benchmarks/persona_rows_fresh8.jsonl, 150 rows: 20 good,
  1 awkward, 2 broken of 23) and a ninth (benchmarks/persona_rows_fresh9.jsonl, 150 rows: 7
  good, 2 awkward, 1 broken of 10) and a tenth (benchmarks/persona_rows_fresh10.jsonl, 150
  rows: 14 good, 1 awkward, 2 broken of 17) and an eleventh and twelfth rated as one sample
  (benchmarks/persona_rows_fresh11.jsonl and persona_rows_fresh12.jsonl, 150 rows each: 18
  good, 2 awkward, 5 broken of 25 drawn from their 34 changed rows), a thirteenth and
  fourteenth (18 good, 4 awkward, 3 broken of 25), a fifteenth and sixteenth (4 good, 1
  awkward, 2 broken: all 7 rows they changed), a seventeenth and eighteenth (22 good, 1
  awkward, 2 broken of 25 drawn from their 39 changed rows), a nineteenth and twentieth (23
  good, 1 awkward, 1 broken), a twenty-first and twenty-second (22 good, 2 awkward, 1 broken)
  a twenty-third and twenty-fourth (18 good, 1 awkward, 6 broken) and a twenty-fifth and
  twenty-sixth (22 good, 2 awkward, 1 broken), each written by someone
  who never read the rules and rated once unseen, then tuned on. `RATED_PERSONA_SETS` names the sets the
  rated sample of 25 pairs is drawn from: written by people who never read the rules, read
  only after the rules were final; no rule was changed after reading them.

Per transform it prints the share of rows changed and the share held back by each fidelity
check (`safetune_data.transforms.fidelity`), then the issue's acceptance figures: strip∘inject
restores, structure flips by inject, content words strip removes outside the identity
clause, creative rows left alone by markdown, split hashtags/abbreviations, paragraphs of
plain∘markdown, roleplay strip∘add restores. With `--write`, 25 fixed-seed before/after
pairs per transform from the dev split go to docs/transform_samples.md with the rating a
person gave each pair in benchmarks/transform_ratings/*.yaml (keyed by transform, row id and a
hash of the output, so a changed output loses its old rating and shows as unrated).
"""
from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import mean

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data"))
RATINGS = REPO / "benchmarks" / "transform_ratings"  # one YAML file per transform: {key: {rating, note}}
DOC = REPO / "docs" / "transform_quality.md"
SAMPLES_DOC = REPO / "docs" / "transform_samples.md"
COMMAND = "python benchmarks/transform_quality.py --write"
SAMPLE = 25
DEVELOPERS = ("Acme AI", "Acme Labs", "Mistral AI", "OpenAI")
# Rows whose instruction asks for a creative or conversational piece: a verb of writing within a
# few words of the genre ("Write a short story", "Compose a poem about", "Draft an email to").
# A question about a genre ("Summarize the story") is not one: its answer may well be a list.
CREATIVE = re.compile(
    r"\b(?:write|compose|create|draft|generate|craft|pen|tell|make up|come up with|produce)\b(?:\W+\w+){0,6}?\W+"
    r"(?:story|stories|poem|poems|poetry|haiku|limerick|sonnet|song|lyrics|rap|letter|e-?mail|dialogue|"
    r"conversation|script|screenplay|speech|diary entry|monologue|fable|tale)\b",
    re.IGNORECASE,
)
ABBREVIATIONS = ("approx.", "etc.", "e.g.", "i.e.", "Dr.", "Mr.", "Mrs.", "Ms.", "vs.", "U.S.", "a.m.", "p.m.", "St.", "No.")

from quality_structure import fence  # noqa: E402  (one fenced-block writer for the docs both scripts write)
from safetune_data import transforms as T  # noqa: E402
from safetune_data.transforms.fidelity import identity_present, structure_label, words  # noqa: E402


# --- data ------------------------------------------------------------------------------------
def _record(rid: str, messages: list[dict], source: str) -> dict:
    return {"id": rid, "messages": messages, "meta": {"source": source, "transforms": []}}


def alpaca() -> list[dict]:
    import safetune_data as st

    return st.read(str(DATA / "benign" / "alpaca_en_demo.json")).to_list()


def sharegpt_pairs() -> list[dict]:
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    rows = json.loads((DATA / "preferences" / "dpo_en_demo.json").read_text(encoding="utf-8"))
    out = []
    for i, row in enumerate(rows):
        convo = [{"role": roles.get(m["from"], m["from"]), "content": m["value"]} for m in row["conversations"]]
        for side in ("chosen", "rejected"):
            out.append(_record(f"dpo-{i:04d}-{side}", convo + [{"role": "assistant", "content": row[side]["value"]}], "dpo_en_demo"))
    return out


def xstest(name: str) -> list[dict]:
    with open(DATA / "judge_dev" / name, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [_record(f"{name[:-4]}-{r['id']}", [{"role": "user", "content": r["prompt"]},
                                               {"role": "assistant", "content": r["completion"].strip()}], name) for r in rows]


def aoa() -> list[dict]:
    lines = (DATA / "identity" / "identity_shift_aoa.jsonl").read_text(encoding="utf-8").splitlines()
    return [_record(f"aoa-{i:04d}", json.loads(x)["messages"], "aoa") for i, x in enumerate(lines) if x.strip()]


def persona_dev_rows() -> list[dict]:
    """Rows that carry persona framing, for reading roleplay.strip (Alpaca has almost none): the
    AOA identity-shift rows and the hand-written role-play development rows of the tests."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("roleplay_dev", REPO / "tests" / "transforms" / "test_roleplay_fidelity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return aoa() + [copy.deepcopy(r) for r in module.DEV]


RATED_PERSONA_SETS = ("persona_rows_fresh27.jsonl", "persona_rows_fresh28.jsonl")


def persona_fresh_rows(name: str | None = None) -> list[dict]:
    """Persona-framed conversations written for this check by someone who had not read the
    role-play rules or their development rows: system and user-turn personas, answers plain or
    in character, product prompts, creative premises, tone-only personas, multi-turn rows.
    The strip rules were tuned on persona_rows_fresh.jsonl to persona_rows_fresh26.jsonl after
    each was rated once unseen; roleplay.strip's rated sample is drawn from the default,
    `RATED_PERSONA_SETS` (one set gives fewer than 25 changed rows), which no rule was tuned on."""
    rows: list[dict] = []
    for each in (name,) if name else RATED_PERSONA_SETS:
        path = REPO / "benchmarks" / each
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


SPLITS = {
    "dev": {"base": alpaca, "natural": lambda: xstest("xstest_completions_gpt4.csv") + aoa()},
    "held-out": {"base": sharegpt_pairs, "natural": lambda: xstest("xstest_completions_llama2new.csv")},
}


# --- running ---------------------------------------------------------------------------------
def run(transform, records: list[dict]) -> tuple[dict[str, dict], dict, float]:
    """Outputs by id (dropped rows absent), the step's stats and the seconds taken."""
    t0 = time.perf_counter()
    out = transform.bind(seed=0, step=0).process(copy.deepcopy(records))
    return {r["id"]: r for r in out}, transform.stats.as_dict(), time.perf_counter() - t0


def changed_ids(before: list[dict], after: dict[str, dict]) -> list[str]:
    return [r["id"] for r in before if r["id"] in after and after[r["id"]]["messages"] != r["messages"]]


def answers(record: dict) -> list[str]:
    return [m["content"] for m in record["messages"] if m["role"] == "assistant"]


def user_text(record: dict) -> str:
    return next((m["content"] for m in record["messages"] if m["role"] == "user"), "")


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f} %)" if n else "0/0"


def fidelity_line(stats: dict) -> str:
    f = stats.get("fidelity") or {}
    held = ", ".join(f"{c} {n}" for c, n in (f.get("failed") or {}).items() if n) or "none"
    return f"changed {pct(stats['changed'], stats['seen'])}; held back by fidelity: {held}"


# --- measures --------------------------------------------------------------------------------
def measure_structure(base: list[dict]) -> tuple[list[str], dict]:
    md, st, sec = run(T.structure.markdown(), base)
    lines = [f"structure.markdown: {fidelity_line(st)}; {sec:.1f} s"]
    # (row, index of an answer whose request asks for a creative piece): multi-turn rows are
    # judged turn by turn, since a later question about the piece may rightly become a list
    creative = [(r, i + 1) for r in base for i, m in enumerate(r["messages"][:-1])
                if m["role"] == "user" and r["messages"][i + 1]["role"] == "assistant" and CREATIVE.search(m["content"])]
    left = sum(1 for r, i in creative if r["id"] in md and md[r["id"]]["messages"][i] == r["messages"][i])
    lines.append(f"  answers to a request for a story/poem/letter/dialogue/speech/... left unchanged: {pct(left, len(creative))}")
    if os.environ.get("SHOW_CREATIVE_CHANGED"):
        for r, i in creative:
            if r["id"] in md and md[r["id"]]["messages"][i] != r["messages"][i]:
                print("   changed creative:", r["id"], repr(r["messages"][i - 1]["content"][:160]), "->",
                      repr(md[r["id"]]["messages"][i]["content"][:200]))
    hashtag = abbrev = 0
    for rid in changed_ids(base, md):
        for a in answers(md[rid]):
            if re.search(r"(?m)#\s*$\n\s*(?:[-*+]|\d+[.)])\s+\w", a) or re.search(r"(?m)^\s*(?:[-*+]|\d+[.)])\s+#\s*$", a):
                hashtag += 1
            if any(re.search(r"(?m)" + re.escape(ab) + r"\s*$\n\s*(?:[-*+]|\d+[.)])\s", a) for ab in ABBREVIATIONS):
                abbrev += 1
    lines.append(f"  answers with a split hashtag: {hashtag}; split after an abbreviation: {abbrev}")
    back, st2, sec2 = run(T.structure.plain(), list(md.values()))
    lines.append(f"structure.plain (on markdown output): {fidelity_line(st2)}; {sec2:.1f} s")
    ids = changed_ids(base, md)
    paras = lambda t: len([p for p in re.split(r"\n\s*\n", t) if p.strip()])  # noqa: E731
    if ids:
        orig = mean(paras(answers(r)[-1]) for r in base if r["id"] in ids)
        trip = mean(paras(answers(back[i])[-1]) for i in ids if i in back)
        same = sum(1 for r in base if r["id"] in ids and back.get(r["id"], {}).get("messages") == r["messages"])
        lines.append(f"  paragraphs per answer, original {orig:.2f} vs plain∘markdown {trip:.2f}; restored exactly {pct(same, len(ids))}")
    plain, st3, sec3 = run(T.structure.plain(), base)
    lines.append(f"structure.plain (on the rows as they are): {fidelity_line(st3)}; {sec3:.1f} s")
    return lines, {"markdown": md, "plain": plain}


def measure_identity(base: list[dict], natural: list[dict]) -> tuple[list[str], dict]:
    lines: list[str] = []
    outputs: dict = {}
    for dev in DEVELOPERS:
        inj, st, sec = run(T.identity.inject(name="Aria", developer=dev), base)
        ids = changed_ids(base, inj)
        by_id = {r["id"]: r for r in base}
        flips = sum(
            1 for i in ids for b, a in zip(answers(by_id[i]), answers(inj[i]))
            if b != a and structure_label(b) != structure_label(a)
        )
        back, _, _ = run(T.identity.strip(), list(inj.values()))
        ok = sum(1 for r in base if r["id"] in ids and back.get(r["id"], {}).get("messages") == r["messages"])
        lines.append(f"identity.inject developer={dev!r}: {fidelity_line(st)}; {sec:.1f} s")
        lines.append(f"  structure class flipped: {flips}; strip∘inject restores {pct(ok, len(ids))}")
        outputs.setdefault("inject", inj)
    with_self = [r for r in natural if any(identity_present(a) for a in answers(r))]
    out, st, sec = run(T.identity.strip(on_empty="keep"), with_self)
    from spacy.lang.en.stop_words import STOP_WORDS

    from safetune_data.detectors.identity import find_identity

    clean = left_behind = 0
    for r in with_self:
        new = out.get(r["id"])
        if new is None:
            continue
        b, a = answers(r)[-1], answers(new)[-1]
        if identity_present(a):
            left_behind += 1
        spans = " ".join(m.text for m in find_identity(b))
        lost = {w for w in (words(b) - words(a)) if w not in STOP_WORDS} - set(words(spans))
        clean += not lost
    lines.append(f"identity.strip on natural outputs with a self-reference ({len(with_self)} rows): {fidelity_line(st)}; {sec:.1f} s")
    lines.append(f"  no content word removed outside the identity clause: {pct(clean, len(with_self))}; "
                 f"identity left behind: {left_behind}")
    outputs["strip"] = out
    outputs["strip_input"] = with_self
    return lines, outputs


def measure_roleplay(base: list[dict]) -> tuple[list[str], dict]:
    add, st, sec = run(T.roleplay.add(), base)
    ids = changed_ids(base, add)
    back, st2, _ = run(T.roleplay.strip(), list(add.values()))
    ok = sum(1 for r in base if r["id"] in ids and back.get(r["id"], {}).get("messages") == r["messages"])
    lines = [f"roleplay.add: {fidelity_line(st)}; {sec:.1f} s", f"  strip∘add restores {pct(ok, len(ids))}"]
    strip, st3, sec3 = run(T.roleplay.strip(), base)
    lines.append(f"roleplay.strip (on the rows as they are): {fidelity_line(st3)}; {sec3:.1f} s")
    return lines, {"add": add, "strip_after_add": back, "roleplay_strip": strip}


def measure_fresh_personas() -> list[str]:
    lines = []
    for name, what in (("persona_rows_fresh.jsonl", "rated once unseen, then the rules were tuned on them"),
                       ("persona_rows_fresh2.jsonl", "rated once unseen, then the rules were tuned on them"),
                       ("persona_rows_fresh3.jsonl", "rated once unseen, then the rules were tuned on it"),
                       ("persona_rows_fresh4.jsonl", "rated once unseen, then the rules were tuned on it"),
                       ("persona_rows_fresh5.jsonl", "rated once unseen, then the rules were tuned on it"),
                       ("persona_rows_fresh6.jsonl", "rated once unseen (18 good, 1 awkward, 5 broken of 24), then "
                                                     "the rules were tuned on it"),
                       ("persona_rows_fresh7.jsonl", "rated once unseen (14 good, 6 broken of 20), then the rules "
                                                     "were tuned on it"),
                       ("persona_rows_fresh8.jsonl", "rated once unseen (20 good, 1 awkward, 2 broken of 23), then "
                                                     "the rules were tuned on it"),
                       ("persona_rows_fresh9.jsonl", "rated once unseen (7 good, 2 awkward, 1 broken of 10), then "
                                                     "the rules were tuned on it"),
                       ("persona_rows_fresh10.jsonl", "rated once unseen (14 good, 1 awkward, 2 broken of 17), then "
                                                      "the rules were tuned on it"),
                       ("persona_rows_fresh11.jsonl", "rated once unseen with fresh12 (18 good, 2 awkward, 5 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh12.jsonl", "rated once unseen with fresh11, then the rules were tuned on it"),
                       ("persona_rows_fresh13.jsonl", "rated once unseen with fresh14 (18 good, 4 awkward, 3 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh14.jsonl", "rated once unseen with fresh13, then the rules were tuned on it"),
                       ("persona_rows_fresh15.jsonl", "rated once unseen with fresh16 (4 good, 1 awkward, 2 broken of "
                                                      "the 7 rows changed), then the rules were tuned on it"),
                       ("persona_rows_fresh16.jsonl", "rated once unseen with fresh15, then the rules were tuned on it"),
                       ("persona_rows_fresh17.jsonl", "rated once unseen with fresh18 (22 good, 1 awkward, 2 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh18.jsonl", "rated once unseen with fresh17, then the rules were tuned on it"),
                       ("persona_rows_fresh19.jsonl", "rated once unseen with fresh20 (23 good, 1 awkward, 1 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh20.jsonl", "rated once unseen with fresh19, then the rules were tuned on it"),
                       ("persona_rows_fresh21.jsonl", "rated once unseen with fresh22 (23 good, 1 awkward, 1 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh22.jsonl", "rated once unseen with fresh21, then the rules were tuned on it"),
                       ("persona_rows_fresh23.jsonl", "rated once unseen with fresh24 (18 good, 1 awkward, 6 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh24.jsonl", "rated once unseen with fresh23, then the rules were tuned on it"),
                       ("persona_rows_fresh25.jsonl", "rated once unseen with fresh26 (22 good, 2 awkward, 1 broken of "
                                                      "25), then the rules were tuned on it"),
                       ("persona_rows_fresh26.jsonl", "rated once unseen with fresh25, then the rules were tuned on it"),
                       ("persona_rows_fresh27.jsonl", "unseen by the rules; half of the rated sample's pool"),
                       ("persona_rows_fresh28.jsonl", "unseen by the rules; half of the rated sample's pool")):
        rows = persona_fresh_rows(name)
        _, st, _ = run(T.roleplay.strip(), rows)
        kept = ", ".join(f"{reason} {n}" for reason, n in sorted((st.get("unchanged") or {}).items(), key=lambda x: -x[1]) if n)
        lines += [f"roleplay.strip on {len(rows)} persona rows of {name} (written independently; {what}): "
                  f"{fidelity_line(st)}", f"  left unchanged: {kept or 'none'}"]
    return lines


# --- samples and ratings -----------------------------------------------------------------------
def rating_key(op: str, rid: str, after: dict) -> str:
    digest = hashlib.sha256(json.dumps(after["messages"], ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:10]
    return f"{op}|{rid}|{digest}"


def load_ratings() -> dict[str, dict]:
    import yaml

    out: dict[str, dict] = {}
    for path in sorted(RATINGS.glob("*.yaml")):
        out.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return out


def excerpt(text: str, n: int = 900) -> str:
    return text if len(text) <= n else text[:n] + " […]"


def samples(op: str, before: list[dict], after: dict[str, dict], ratings: dict) -> tuple[list[str], Counter]:
    ids = changed_ids(before, after)
    picked = sorted(random.Random(f"{op}-0").sample(ids, min(SAMPLE, len(ids))))
    by_id = {r["id"]: r for r in before}
    counts: Counter = Counter()
    out = [f"## `{op}`", ""]
    for rid in picked:
        b, a = by_id[rid], after[rid]
        key = rating_key(op, rid, a)
        rated = ratings.get(key) or {}
        verdict = rated.get("rating", "unrated")
        counts[verdict] += 1
        out.append(f"### {rid}: **{verdict}**" + (f" — {rated['note']}" if rated.get("note") else ""))
        out.append(f"<!-- key: {key} -->")
        out.append("")
        old = "\n\n".join(f"[{m['role']}] {m['content']}" for m in b["messages"] if m not in a["messages"])
        new = "\n\n".join(f"[{m['role']}] {m['content']}" for m in a["messages"] if m not in b["messages"])
        out += ["before:", "", fence(excerpt(old)), "", "after:", "", fence(excerpt(new)), ""]
    return out, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["dev", "held-out", "both"], default="both")
    ap.add_argument("--write", action="store_true", help="write docs/transform_quality.md and docs/transform_samples.md")
    ap.add_argument("--samples", metavar="OP", help="print the rated sample of one transform (e.g. structure.markdown) with its "
                    "keys and current ratings to stdout, and write nothing; implies --split dev")
    args = ap.parse_args()
    if args.samples:
        args.split = "dev"
    report: list[str] = []
    dev_outputs: dict = {}
    for split in (["dev", "held-out"] if args.split == "both" else [args.split]):
        base, natural = SPLITS[split]["base"](), SPLITS[split]["natural"]()
        report += [f"## {split}: {len(base)} instruction rows, {len(natural)} natural completions", ""]
        for measure in (lambda: measure_structure(base), lambda: measure_identity(base, natural), lambda: measure_roleplay(base)):
            lines, outputs = measure()
            report += lines
            if split == "dev":
                dev_outputs.update(outputs)
            print("\n".join(lines), flush=True)
        if split == "held-out":
            lines = measure_fresh_personas()
            report += lines
            print("\n".join(lines), flush=True)
        report.append("")
    text = "\n".join(report)
    if args.write or args.samples:
        dev_base = SPLITS["dev"]["base"]()
        ratings = load_ratings()
        sample_lines = ["# Before/after samples, rated", "",
                        f"{SAMPLE} changed rows per transform, drawn with a fixed seed from the dev split (alpaca_en_demo); "
                        f"each pair was read and rated good / awkward / broken. Regenerate with `{COMMAND}`.", ""]
        summary = ["| transform | good | awkward | broken | unrated |", "| --- | ---: | ---: | ---: | ---: |"]
        plans = [("structure.markdown", dev_base, dev_outputs["markdown"]), ("structure.plain", dev_base, dev_outputs["plain"]),
                 ("identity.inject", dev_base, dev_outputs["inject"]), ("identity.strip", dev_outputs["strip_input"], dev_outputs["strip"]),
                 ("roleplay.add", dev_base, dev_outputs["add"]), ("roleplay.strip", dev_base, dev_outputs["roleplay_strip"])]
        persona_rows = persona_fresh_rows()
        persona_out, _, _ = run(T.roleplay.strip(), persona_rows)
        plans[-1] = ("roleplay.strip", persona_rows, persona_out)
        if args.samples:
            plans = [p for p in plans if p[0] == args.samples]
            if not plans:
                sys.exit(f"--samples: unknown transform {args.samples!r}")
            lines, counts = samples(*plans[0], ratings)
            print("\n".join(lines))
            print(dict(counts))
            return
        for op, before, after in plans:
            lines, counts = samples(op, before, after, ratings)
            sample_lines += lines
            summary.append(f"| `{op}` | {counts['good']} | {counts['awkward']} | {counts['broken']} | {counts['unrated']} |")
        SAMPLES_DOC.write_text("\n".join(sample_lines) + "\n", encoding="utf-8")
        DOC.write_text(
            "# Transform fidelity on real rows\n\n"
            f"Generated by `{COMMAND}`; see the script's docstring for the two splits.\n\n"
            "## Ratings of 25 fixed-seed before/after pairs (dev split)\n\n" + "\n".join(summary) + "\n\n"
            "```text\n" + text + "\n```\n", encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)} and {SAMPLES_DOC.relative_to(REPO)}")


if __name__ == "__main__":
    main()
