"""Precision / recall of the shared factor detectors against hand labels.

    python benchmarks/detector_quality.py [--labels tests/fixtures/detector_labels.jsonl]
                                          [--xstest-dir data/judge_dev] [--json out.json]

Structure, identity and role-play are scored on tests/fixtures/detector_labels.jsonl
(labelling rules in its first line and in docs/profile.md); refusal on the XSTest
completions with human labels (refusal = 2_full_refusal or 3_partial_refusal).
A detector that is not installed is reported as such, not scored.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LABELS = REPO / "tests" / "fixtures" / "detector_labels.jsonl"
DEFAULT_XSTEST = REPO / "data" / "judge_dev"
STRUCTURE_CLASSES = ("plain", "list", "headed", "code", "mixed")
IDENTITY_KINDS = ("ai_self_reference", "named_identity", "developer_attribution")


def prf(pairs: list[tuple[bool, bool]]) -> dict:
    """Precision, recall, F1 and support from (truth, predicted) pairs."""
    tp = sum(t and p for t, p in pairs)
    fp = sum(p and not t for t, p in pairs)
    fn = sum(t and not p for t, p in pairs)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn, "predicted": tp + fp, "n": len(pairs)}


def load_labels(path: Path) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if i["factor"] != "_rules"]


def _detector(module: str):
    try:
        return importlib.import_module(f"safetune_data.detectors.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"safetune_data.detectors.{module}":
            raise
        return None


def score_structure(items: list[dict]) -> dict | None:
    mod = _detector("structure")
    if mod is None:
        return None
    rows = [(i["label"], mod.classify(i["text"])) for i in items if i["factor"] == "structure"]
    per_class = {c: prf([(t == c, p == c) for t, p in rows]) for c in STRUCTURE_CLASSES}
    confusion = {t: {p: sum(1 for a, b in rows if a == t and b == p) for p in STRUCTURE_CLASSES} for t in STRUCTURE_CLASSES}
    return {"accuracy": sum(t == p for t, p in rows) / len(rows), "n": len(rows), "per_class": per_class, "confusion": confusion}


def score_identity(items: list[dict]) -> dict | None:
    mod = _detector("identity")
    if mod is None:
        return None
    rows = [(set(i["label"]), mod.identity_kinds(i["text"]), i.get("lang", "en")) for i in items if i["factor"] == "identity"]
    out: dict = {"n": len(rows)}
    for lang in ("all", "en", "zh"):
        sub = [r for r in rows if lang == "all" or r[2] == lang]
        if not sub:
            continue
        scores = {k: prf([(k in t, k in p) for t, p, _ in sub]) for k in IDENTITY_KINDS}
        scores["any"] = prf([(bool(t), bool(p)) for t, p, _ in sub])
        out[lang] = scores
    return out


def score_roleplay(items: list[dict]) -> dict | None:
    mod = _detector("roleplay")
    if mod is None:
        return None
    rows = []
    for i in items:
        if i["factor"] != "roleplay":
            continue
        if i["where"] == "system":
            msgs = [{"role": "system", "content": i["text"]}, {"role": "user", "content": "Hello."}]
        else:
            msgs = [{"role": "user", "content": i["text"]}]
        msgs.append({"role": "assistant", "content": "OK."})
        where = mod.roleplay_where({"id": "label", "messages": msgs, "meta": {}})
        rows.append((i["where"], bool(i["label"]), i["where"] in where))
    out = {"all": prf([(t, p) for _, t, p in rows])}
    for w in ("system", "user"):
        out[w] = prf([(t, p) for ww, t, p in rows if ww == w])
    return out


def score_refusal(xstest_dir: Path) -> dict | None:
    mod = _detector("refusal")
    if mod is None:
        return None
    out = {}
    pooled: list[tuple[bool, bool]] = []
    for path in sorted(xstest_dir.glob("xstest_completions_*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        pairs = [(r["final_label"].startswith(("2_", "3_")), bool(mod.is_refusal(r["completion"], r["prompt"]))) for r in rows]
        pooled += pairs
        out[path.stem.replace("xstest_completions_", "")] = {
            "accuracy": sum(t == p for t, p in pairs) / len(pairs), **prf(pairs)
        }
    if pooled:
        out["all"] = {"accuracy": sum(t == p for t, p in pooled) / len(pooled), **prf(pooled)}
    return out


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{100 * x:5.1f}"


def report(results: dict) -> str:
    lines = []
    s = results["structure"]
    if s is None:
        lines.append("structure: detector not installed")
    else:
        lines.append(f"structure (n={s['n']}): accuracy {_pct(s['accuracy'])}%")
        for c, m in s["per_class"].items():
            lines.append(f"  {c:8s} P {_pct(m['precision'])}  R {_pct(m['recall'])}  (support {m['support']}, predicted {m['predicted']})")
    i = results["identity"]
    if i is None:
        lines.append("identity: detector not installed")
    else:
        for lang in ("all", "en", "zh"):
            if lang not in i:
                continue
            lines.append(f"identity [{lang}] (n={i[lang]['any']['n']}):")
            for k, m in i[lang].items():
                lines.append(f"  {k:22s} P {_pct(m['precision'])}  R {_pct(m['recall'])}  (support {m['support']})")
    r = results["roleplay"]
    if r is None:
        lines.append("roleplay: detector not installed")
    else:
        for w, m in r.items():
            lines.append(f"roleplay [{w}] (n={m['n']}): P {_pct(m['precision'])}  R {_pct(m['recall'])}  (support {m['support']})")
    f = results["refusal"]
    if f is None:
        lines.append("refusal: detector not installed")
    else:
        for name, m in f.items():
            lines.append(f"refusal [{name}] (n={m['n']}): accuracy {_pct(m['accuracy'])}%  P {_pct(m['precision'])}  R {_pct(m['recall'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    ap.add_argument("--xstest-dir", type=Path, default=DEFAULT_XSTEST)
    ap.add_argument("--json", type=Path, default=None, help="also write the scores as JSON")
    args = ap.parse_args(argv)
    items = load_labels(args.labels)
    results = {
        "structure": score_structure(items),
        "identity": score_identity(items),
        "roleplay": score_roleplay(items),
        "refusal": score_refusal(args.xstest_dir),
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
