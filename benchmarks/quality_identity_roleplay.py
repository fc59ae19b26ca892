"""Quality report for the identity and role-play transforms on real data.

For each transform, on alpaca_en_demo (999 rows): how many rows it changes, why it left
the rest (reason counts), which patterns fired, the inject->strip and add->strip round-trip
rates, the time taken, and five before/after pairs. Also strip on natural self-references
(XSTest GPT-4 completions, the AOA identity-shift set).

    python benchmarks/quality_identity_roleplay.py            # print the report
    python benchmarks/quality_identity_roleplay.py --write    # also write docs/identity_roleplay.md
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from safetune_data import transforms as T  # noqa: E402
from safetune_data.transforms.fidelity import structure_label  # noqa: E402

DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data"))
DOC = REPO / "docs" / "identity_roleplay.md"
COMMAND = "python benchmarks/quality_identity_roleplay.py --write"


def alpaca_records() -> list[dict]:
    """alpaca_en_demo as canonical records, read by the product's own reader."""
    import safetune_data as st

    return st.read(str(DATA / "benign" / "alpaca_en_demo.json")).to_list()


def aoa_records() -> list[dict]:
    lines = (DATA / "identity" / "identity_shift_aoa.jsonl").read_text().splitlines()
    return [{"id": f"aoa-{i:06d}", **json.loads(x), "meta": {"transforms": []}} for i, x in enumerate(lines) if x.strip()]


def short(text: str, n: int = 220) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= n else text[: n - 1] + "…"


def run(transform, records: list[dict]) -> tuple[list[dict], dict, float]:
    t0 = time.perf_counter()
    out = transform.bind(seed=0, step=0).process(copy.deepcopy(records))
    return out, transform.stats.as_dict(), time.perf_counter() - t0


def pairs(before: list[dict], after: list[dict], k: int = 5) -> list[tuple[str, str]]:
    """Up to k (before, after) pairs of the first message that differs, spread over the data."""
    by_id = {r["id"]: r for r in after}
    diffs = []
    for rec in before:
        new = by_id.get(rec["id"])
        new_msgs = new["messages"] if new else []
        if new is None or new_msgs != rec["messages"]:
            diffs.append((rec, new_msgs))
    picked = diffs[:: max(1, len(diffs) // k)][:k] if diffs else []
    out = []
    for rec, new_msgs in picked:
        old = "\n".join(f"[{m['role']}] {m['content']}" for m in rec["messages"] if m not in new_msgs) or "(none)"
        new = "\n".join(f"[{m['role']}] {m['content']}" for m in new_msgs if m not in rec["messages"]) or "(row dropped / removed)"
        common = len(os.path.commonprefix([old, new]))
        if common > 120:  # a suffix: show where the texts differ
            old, new = "…" + old[common - 80 :], "…" + new[common - 80 :]
        out.append((short(old), short(new)))
    return out


def section(title: str, stats: dict, seconds: float, examples: list[tuple[str, str]], extra: str = "") -> str:
    lines = [f"### {title}", "", f"- rows: {stats['seen']}, changed: **{stats['changed']}**, dropped: {sum(stats['dropped'].values())}, time: {seconds:.2f} s"]
    if stats["unchanged"]:
        lines.append("- left unchanged: " + ", ".join(f"{k}: {v}" for k, v in stats["unchanged"].items()))
    if stats["dropped"]:
        lines.append("- dropped: " + ", ".join(f"{k}: {v}" for k, v in stats["dropped"].items()))
    if stats["fired"]:
        top = sorted(stats["fired"].items(), key=lambda kv: (-kv[1], kv[0]))[:12]
        lines.append("- fired: " + ", ".join(f"`{k}` {v}" for k, v in top))
    if extra:
        lines.append(f"- {extra}")
    lines += ["", "| before | after |", "| --- | --- |"]
    for old, new in examples:
        esc = lambda s: s.replace("|", "\\|")  # noqa: E731
        lines.append(f"| {esc(old)} | {esc(new)} |")
    return "\n".join(lines) + "\n"


def restored(originals: list[dict], after: list[dict], only: set[str] | None = None) -> tuple[int, int]:
    """How many of the (selected) original conversations come back unchanged."""
    by_id = {r["id"]: r for r in after}
    selected = [r for r in originals if only is None or r["id"] in only]
    ok = sum(r["id"] in by_id and by_id[r["id"]]["messages"] == r["messages"] for r in selected)
    return ok, len(selected)


def report() -> str:
    recs = alpaca_records()
    parts: list[str] = []

    parts += identity_sections(recs)

    parts += roleplay_sections(recs)
    parts += identity_natural_sections()
    return "\n".join(parts)


DEVELOPERS = ("Acme AI", "Acme Labs", "Mistral AI", "OpenAI")


def identity_sections(recs: list[dict], k: int = 5) -> list[str]:
    """identity.strip on Alpaca, identity.inject (prefix and suffix) with the inject → strip
    round trip for developer names with and without "AI", and identity.replace."""
    parts: list[str] = []
    strip_out, st, sec = run(T.identity.strip(), recs)
    parts.append(section("identity.strip (alpaca)", st, sec, pairs(recs, strip_out, k), fidelity_note(st)))
    for placement in ("prefix", "suffix"):
        shown = None
        trips = []
        for developer in DEVELOPERS:
            inj_out, st, sec = run(T.identity.inject(name="Aria", developer=developer, placement=placement), recs)
            changed = {a["id"] for a, b in zip(recs, inj_out) if a["messages"] != b["messages"]}
            back, _, _ = run(T.identity.strip(), inj_out)
            ok, n = restored(recs, back, changed)
            flips = sum(structure_label(a["messages"][-1]["content"]) != structure_label(b["messages"][-1]["content"])
                        for a, b in zip(recs, inj_out))
            trips.append(f"{developer}: {ok}/{n} ({100 * ok / max(n, 1):.1f} %)")
            if shown is None:
                shown = (st, sec, pairs(recs, inj_out, k), flips)
        st, sec, examples, flips = shown
        extra = (f"inject → strip restores the changed rows, by developer name: {'; '.join(trips)}; "
                 f"structure class flipped by inject: {flips} rows; {fidelity_note(st)}")
        parts.append(section(f"identity.inject placement={placement} name=Aria developer={DEVELOPERS[0]} (alpaca)", st, sec, examples, extra))
    rep_out, st, sec = run(T.identity.replace(mapping={"AI": "Aria"}), recs)
    parts.append(section("identity.replace mapping={AI: Aria} (alpaca, to show word boundaries)", st, sec, pairs(recs, rep_out, k)))
    return parts


def xstest_records() -> list[dict]:
    """XSTest GPT-4 completions that state an AI identity (natural self-references)."""
    import csv

    from safetune_data.detectors.identity import find_identity

    with (DATA / "judge_dev" / "xstest_completions_gpt4.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if find_identity(r["completion"])]
    return [{"id": f"xstest-{i:03d}", "messages": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["completion"]}],
             "meta": {"transforms": []}} for i, r in enumerate(rows)]


def words_lost_outside_identity(before: str, after: str) -> int:
    """Words strip removed beyond the detected identity phrases (0 for a clean edit)."""
    from safetune_data.detectors.identity import find_identity
    from safetune_data.transforms.fidelity import words
    from safetune_data.transforms.identity import _groups

    allowed = Counter()
    for s, e, _ in _groups(before, find_identity(before)):
        allowed.update(words(before[s:e]))
    return sum((words(before) - words(after) - allowed).values())


def identity_natural_sections(k: int = 3) -> list[str]:
    """identity.strip on natural self-references: XSTest GPT-4 completions and the AOA set."""
    from safetune_data.detectors.identity import find_identity

    parts: list[str] = []
    xs = xstest_records()
    out, st, sec = run(T.identity.strip(on_empty="keep"), xs)
    by_id = {r["id"]: r for r in out}
    clean = sum(words_lost_outside_identity(r["messages"][1]["content"], by_id[r["id"]]["messages"][1]["content"]) == 0 for r in xs)
    left = sum(bool(find_identity(by_id[r["id"]]["messages"][1]["content"])) for r in xs)
    parts.append(section("identity.strip (xstest_completions_gpt4, completions with a self-reference)", st, sec, pairs(xs, out, k),
                         f"no word lost outside the identity phrase: {clean}/{len(xs)}; identity left behind: {left}; {fidelity_note(st)}"))
    aoa = aoa_records()
    ist_out, st, sec = run(T.identity.strip(), aoa)
    parts.append(section("identity.strip (identity_shift_aoa)", st, sec, pairs(aoa, ist_out, k), fidelity_note(st)))
    return parts


def fidelity_note(stats: dict) -> str:
    """Rows the fidelity checks held back, by problem (the transforms aim for none)."""
    fid = stats.get("fidelity") or {}
    problems = fid.get("problems") or {}
    return "fidelity: " + (", ".join(f"{k}: {v}" for k, v in problems.items()) if problems else "no row failed a check")


def roleplay_sections(recs: list[dict]) -> list[str]:
    """roleplay.add (both places) with the add → strip round trip, and roleplay.strip on
    Alpaca and on the AOA persona system prompts."""
    parts: list[str] = []
    for where, assign in (("system", "domain"), ("user", "random")):
        add_out, st, sec = run(T.roleplay.add(where=where, assign=assign), recs)
        back, _, _ = run(T.roleplay.strip(), add_out)
        ok, n = restored(recs, back)
        parts.append(section(f"roleplay.add where={where} assign={assign} (alpaca)", st, sec, pairs(recs, add_out),
                             f"add → strip restores {ok}/{n} conversations ({100 * ok / n:.1f} %); {fidelity_note(st)}"))
    rs_out, st, sec = run(T.roleplay.strip(), recs)
    parts.append(section("roleplay.strip (alpaca)", st, sec, pairs(recs, rs_out), fidelity_note(st)))
    aoa = aoa_records()
    aoa_out, st, sec = run(T.roleplay.strip(), aoa)
    parts.append(section("roleplay.strip (identity_shift_aoa, 10 rows with persona system prompts)", st, sec,
                         pairs(aoa, aoa_out, 2), fidelity_note(st)))
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"also write {DOC.relative_to(REPO)}")
    args = ap.parse_args()
    measured = report()
    print(measured)
    if args.write:
        head = DOC.read_text(encoding="utf-8").split(MARKER)[0] if DOC.exists() else ""
        DOC.write_text(head + MARKER + "\n\n" + f"Produced by `{COMMAND}`.\n\n" + measured, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)


MARKER = "## Measured on real data"

if __name__ == "__main__":
    main()
