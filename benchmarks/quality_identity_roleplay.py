"""Quality report for the identity and role-play transforms on real data.

For each transform, on alpaca_en_demo (999 rows): how many rows it changes, why it left
the rest (reason counts), which patterns fired, the inject->strip and add->strip round-trip
rates, the time taken, and five before/after pairs. Also strip on the AOA identity-shift set.

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
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from safetune_data import transforms as T  # noqa: E402

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

    strip_out, st, sec = run(T.identity.strip(), recs)
    parts.append(section("identity.strip (alpaca)", st, sec, pairs(recs, strip_out)))

    for placement in ("prefix", "suffix"):
        inj_out, st, sec = run(T.identity.inject(name="Aria", developer="Acme", placement=placement), recs)
        changed = {a["id"] for a, b in zip(recs, inj_out) if a["messages"] != b["messages"]}
        back, _, _ = run(T.identity.strip(), inj_out)
        ok, n = restored(recs, back, changed)
        ok_all, n_all = restored(recs, back)
        extra = (f"inject → strip restores {ok}/{n} changed rows ({100 * ok / n:.1f} %); "
                 f"{ok_all}/{n_all} of all rows ({100 * ok_all / n_all:.1f} %; the rest had an identity statement before inject)")
        parts.append(section(f"identity.inject placement={placement} name=Aria developer=Acme (alpaca)", st, sec, pairs(recs, inj_out), extra))

    rep_out, st, sec = run(T.identity.replace(mapping={"AI": "Aria"}), recs)
    parts.append(section("identity.replace mapping={AI: Aria} (alpaca, to show word boundaries)", st, sec, pairs(recs, rep_out)))

    for where, assign in (("system", "domain"), ("user", "random")):
        add_out, st, sec = run(T.roleplay.add(where=where, assign=assign), recs)
        back, _, _ = run(T.roleplay.strip(), add_out)
        ok, n = restored(recs, back)
        parts.append(section(f"roleplay.add where={where} assign={assign} (alpaca)", st, sec, pairs(recs, add_out),
                             f"add → strip restores {ok}/{n} conversations ({100 * ok / n:.1f} %)"))

    rs_out, st, sec = run(T.roleplay.strip(), recs)
    parts.append(section("roleplay.strip (alpaca)", st, sec, pairs(recs, rs_out)))
    aoa = aoa_records()
    aoa_out, st, sec = run(T.roleplay.strip(), aoa)
    parts.append(section("roleplay.strip (identity_shift_aoa, 10 rows with persona system prompts)", st, sec, pairs(aoa, aoa_out, 2)))
    ist_out, st, sec = run(T.identity.strip(), aoa)
    parts.append(section("identity.strip (identity_shift_aoa)", st, sec, pairs(aoa, ist_out, 3)))
    return "\n".join(parts)


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
