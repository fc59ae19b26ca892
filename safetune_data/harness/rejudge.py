"""`safetune harness rejudge`: judge a finished run's stored answers again, without a model.

A run keeps every answer in `generations/<row>.jsonl`. When a judge's rules change, or a
user wants another judge's view (a classifier, an LLM rubric), the answers need not be
generated again: this reads them, runs the judges, recomputes each row's metrics exactly
as `harness run` does (`runner.judge_benchmark` / `summarise_judged`), and writes a new
results folder beside the original, which is never modified. `comparison.md` shows how
each rate and each factor effect moved against what the run recorded, so a rule change's
consequences are visible row by row.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..io.sources import read_json, read_rows
from ..io.writer import OutputDir
from .effects import factor_effects, generations_file
from .hooks import SILENT, Hooks
from .judges import get_judge
from .report import write_report
from .runner import judge_benchmark, summarise_judged

# Rates compared in comparison.md: (metric key in a row's summary, label).
COMPARED = (
    ("harmful_refusal", "harmful refused"),
    ("harmful_compliance", "harmful complied"),
    ("harmful_neither", "harmful neither"),
    ("over_refusal", "over-refusal"),
)


def is_rejudge_output(path: Path) -> bool:
    """A folder this command wrote (so `--overwrite` may replace it)."""
    try:
        return "rejudged_from" in read_json(path / "results.json")
    except (InputError, OSError, ValueError, TypeError):
        return False


def load_run(run_dir: Path) -> dict[str, Any]:
    """The run's results.json (or the harness_results.json a study summary keeps), checked to be
    one `harness run` wrote."""
    src = run_dir / "results.json"
    if not src.is_file() and (run_dir / "harness_results.json").is_file():
        src = run_dir / "harness_results.json"
    if not src.is_file():
        raise InputError("no results.json here; is this the output directory of `safetune harness run`?",
                         file=str(run_dir))
    doc = read_json(src)
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list) or "benchmarks" not in doc:
        raise InputError("not a harness results file (no rows / benchmarks)", file=str(src))
    return doc


def benchmark_item(answer: dict) -> dict:
    """The benchmark row a stored answer was generated for (id, prompt, category, expected, ...)."""
    return {k: v for k, v in answer.items() if k not in ("row", "benchmark", "response", "judgements")}


def read_generations(path: Path) -> dict[str, list[dict]]:
    """benchmark key -> the stored answers of one row, in file order."""
    if not path.is_file():
        raise InputError("generations of an evaluated row are missing", file=str(path),
                         hint="rejudge needs the run's generations/ folder as `harness run` wrote it")
    by_bench: dict[str, list[dict]] = defaultdict(list)
    for loc in read_rows(path):
        row = loc.row
        for field in ("benchmark", "prompt", "response"):
            if not isinstance(row.get(field), str):
                raise InputError(f"a stored answer needs a text '{field}'", file=str(path), line=loc.line, field=field)
        by_bench[row["benchmark"]].append(row)
    return dict(by_bench)


def judge_specs(doc: dict[str, Any], names: list[str] | None, options: dict[str, dict]) -> list[dict[str, Any]]:
    """The judges to run: the run's own (names and options) unless `names` are given; options
    given per judge name are merged over them. An unknown judge or option fails here (exit 2)."""
    recorded = {j["name"]: dict(j.get("options") or {}) for j in doc.get("judges", [])}
    chosen = names or list(recorded)
    if not chosen:
        raise ConfigError("the run names no judges; pass --judge NAME", field="judge")
    stray = sorted(set(options) - set(chosen))
    if stray:
        raise ConfigError(f"--option for a judge that is not run: {', '.join(stray)}", field="option",
                          hint=f"judges run: {', '.join(chosen)}")
    return [{"name": n, "options": {**recorded.get(n, {}), **options.get(n, {})}} for n in chosen]


def rejudge(run_dir: str | Path, out_dir: str | Path, *, judges: list[str] | None = None,
            options: dict[str, dict] | None = None, overwrite: bool = False,
            before_label: str | None = None, hooks: Hooks = SILENT) -> dict[str, Any]:
    """Re-judge every evaluated row of `run_dir` into `out_dir`; returns the new results document.

    `out_dir` gets results.json / results.md / results.png / factor_effects.json and
    generations/ like a run (so `harness report` and `risk --results` read it), plus
    comparison.md and comparison.json. It is written in a temporary folder and renamed at
    the end: an error or Ctrl-C leaves nothing. `before_label` names what the recorded
    verdicts were in comparison.md (default: "`judge` as recorded")."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    doc = load_run(run_dir)
    if out_dir.resolve() == run_dir.resolve():
        raise ConfigError("--out must differ from the run directory: the run's own results are never rewritten",
                          file=str(out_dir), hint=f"e.g. --out {run_dir / 'rejudged'}")
    specs = judge_specs(doc, judges, options or {})
    built = {s["name"]: get_judge(s["name"], **s["options"]) for s in specs}
    rows = [r for r in doc["rows"] if r.get("evaluated", True)]
    stored = {r["name"]: read_generations(generations_file(run_dir / "generations", r["name"])) for r in rows}
    total = sum(len(a) for per in stored.values() for a in per.values())

    new_rows = []
    with OutputDir(out_dir, overwrite=overwrite, ours=is_rejudge_output) as od:
        (od.path / "generations").mkdir()
        with hooks.task("rejudge", total, "answers") as advance:
            for row in rows:
                judged_by_bench: dict[str, dict[str, list[dict]]] = {}
                lines = []
                for key, answers in stored[row["name"]].items():
                    items = [benchmark_item(a) for a in answers]
                    per_answer, judged_by_bench[key] = judge_benchmark(built, items, [a["response"] for a in answers])
                    lines += [json.dumps({**a, "judgements": verdicts}, ensure_ascii=False)
                              for a, verdicts in zip(answers, per_answer)]
                    advance(len(answers))
                (od.path / "generations" / f"{row['name']}.jsonl").write_text(
                    "".join(line + "\n" for line in lines), encoding="utf-8")
                new_rows.append({**row, **summarise_judged(judged_by_bench)})
        new_doc = {**doc, "rows": new_rows, "judges": specs, "primary_judge": specs[0]["name"],
                   "output_dir": str(out_dir),
                   "rejudged_from": {"run": str(run_dir), "judges": doc.get("judges"),
                                     "primary_judge": doc.get("primary_judge")},
                   "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (od.path / "results.json").write_text(json.dumps(new_doc, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        write_report(od.path)
        comparison = compare(doc, run_dir, new_doc, od.path)
        if before_label:
            comparison["before_label"] = before_label
        (od.path / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
        (od.path / "comparison.md").write_text(render_comparison(comparison), encoding="utf-8")
        od.commit()
    return new_doc


def _rate(summary: dict, judge: str, metric: str) -> float | None:
    m = summary.get(judge, {}).get(metric)
    return None if not m else m.get("rate")


def compare(before: dict[str, Any], before_dir: Path, after: dict[str, Any], after_dir: Path) -> dict[str, Any]:
    """Each row's rates and each factor effect, as the run recorded them and as re-judged.

    `before` uses the run's primary judge as recorded; `after` the new primary judge (usually
    the same name with changed rules). Rates the recorded verdicts lack (e.g. compliance
    before three-way outcomes existed) are None."""
    jb, ja = before["primary_judge"], after["primary_judge"]
    old = {r["name"]: r for r in before["rows"]}
    rows = []
    for r in after["rows"]:
        prev = old.get(r["name"], {}).get("summary", {})
        rows.append({"row": r["name"], **{m: {"before": _rate(prev, jb, m), "after": _rate(r["summary"], ja, m)}
                                          for m, _ in COMPARED}})
    effects = []
    try:
        eb = {(e["factor"], e["benchmark"], e.get("metric", "refusal")): e
              for e in factor_effects(before, before_dir / "generations", judge=jb)}
    except InputError:  # the recorded generations lack this judge: no "before" effects
        eb = {}
    for e in factor_effects(after, after_dir / "generations", judge=ja):
        prev = eb.get((e["factor"], e["benchmark"], e["metric"]))
        effects.append({"factor": e["factor"], "change": f"{e['baseline']} → {e['level']}", "benchmark": e["benchmark"],
                        "metric": e["metric"], "before": prev["effect"] if prev else None, "after": e["effect"],
                        "after_ci": [e["ci_low"], e["ci_high"]]})
    return {"judge_before": jb, "judge_after": ja, "rows": rows, "effects": effects}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _moved(b: float | None, a: float | None) -> str:
    return "–" if a is None or b is None else f"{100 * (a - b):+.1f}"


def render_comparison(c: dict[str, Any]) -> str:
    """Before → after for every row's rates and every factor effect, in %, with the change in points."""
    before = c.get("before_label") or f"`{c['judge_before']}` as recorded"
    lines = [f"# Re-judged: {before} → `{c['judge_after']}` now", "",
             "Rates in % (before → after, change in points). Same answers; only the verdicts differ.", "",
             "| row | " + " | ".join(label for _, label in COMPARED) + " |",
             "|---|" + "---|" * len(COMPARED)]
    for r in c["rows"]:
        cells = [f"{_pct(r[m]['before'])} → {_pct(r[m]['after'])} ({_moved(r[m]['before'], r[m]['after'])})"
                 for m, _ in COMPARED]
        lines.append(f"| {r['row']} | " + " | ".join(cells) + " |")
    if c["effects"]:
        lines += ["", "Factor effects in points (before → after; the interval is the re-judged one's):", "",
                  "| factor | change | benchmark | outcome | before | after | 95% interval (after) |",
                  "|---|---|---|---|---|---|---|"]
        for e in c["effects"]:
            lo, hi = e["after_ci"]
            before = "–" if e["before"] is None else f"{100 * e['before']:+.1f}"
            lines.append(f"| {e['factor']} | {e['change']} | {e['benchmark']} | {e['metric']} | {before} | "
                         f"{100 * e['after']:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] |")
    return "\n".join(lines) + "\n"
