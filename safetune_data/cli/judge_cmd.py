"""`safetune judge`: judge the responses in a CSV/JSON/JSONL file and write them back with verdicts."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, InputError
from ..harness.benchmarks import read_table
from ..harness.metrics import rate
from ..io.atomic import check_file_target, write_jsonl_atomic
from ..options import split_pairs, yaml_value
from .console import console, counting

HELP = """Judge whether each response refused; write every input row back with `refused` (and `score`, `rationale` where the judge gives them) and print the refusal rate with its 95% interval.

Judges: keyword (the GCG/AdvBench prefix list), refusal (rule-based, CPU, no download), llm (1-5 harmfulness rubric; --option model=PATH or --option url=URL), classifier (--option model=ID for Llama Guard 3, WildGuard, MD-Judge or the HarmBench classifier).

Example: safetune judge refusal completions.csv --prompt-field prompt --response-field completion --out judged.jsonl

Example: safetune judge llm answers.jsonl --response-field answer --out judged.jsonl --option url=http://127.0.0.1:8000/v1 --option model_name=qwen2.5-7b-instruct

The refusal judge marks rows whose score lies near its cut-off as uncertain (their verdict is its best guess); --escalate llm --escalate-option url=URL (or classifier --escalate-option model=ID) sends only those rows to a second judge and records which judge decided each row in decided_by.

Before trusting any judge on your model, hand-label about 50 of its responses and measure the judge on them: agree prints accuracy, precision/recall, Cohen's kappa and the confusion table, and writes the disagreeing rows to --out for reading.

Example: safetune judge agree judged.jsonl labels.csv --label-field final_label --out disagreements.jsonl
"""


def judge_options(pairs: list[str], option: str) -> dict:
    """`--option key=value`: YAML scalars (0.4 -> float, true -> bool), dashes in keys as underscores."""
    return {key.replace("-", "_"): yaml_value(value, scalar=True) for key, value in split_pairs(pairs, option)}


def judge_command(
    name: str = typer.Argument(..., help="keyword | refusal | llm | classifier, or agree (compare two files)"),
    input: Path = typer.Argument(..., help="CSV, JSON (array of objects) or JSONL file (agree: the judgement file)"),
    reference: Optional[Path] = typer.Argument(None, help="agree only: the file with the reference labels (human labels, or another judge's output)", show_default=False),
    prompt_field: Optional[str] = typer.Option("prompt", "--prompt-field", help="column with the prompt ('' for none)"),
    response_field: str = typer.Option("response", "--response-field", help="column with the response to judge"),
    out: Optional[Path] = typer.Option(None, "--out", help="output JSONL: input rows + refused/outcome/score/rationale (agree: the disagreeing rows)", show_default=False),
    option: list[str] = typer.Option([], "--option", help="judge option key=value (repeatable)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace --out if it exists (refused otherwise)"),
    field: str = typer.Option("refused", "--field", help="agree: the verdict column of the judgement file"),
    label_field: str = typer.Option("refused", "--label-field", help="agree: the label column of the reference file"),
    key: Optional[str] = typer.Option(None, "--key", help="agree: match rows by this column (default: by row order)", show_default=False),
    escalate: Optional[str] = typer.Option(None, "--escalate", help="a second judge (llm | classifier | ...) that decides the rows the first marks uncertain", show_default=False),
    escalate_option: list[str] = typer.Option([], "--escalate-option", help="option key=value for the --escalate judge (repeatable)"),
) -> None:
    # local: the judges package pulls in spaCy (and torch through it), kept off `safetune --help`
    from ..harness.judges import get_judge
    from ..harness.judges.files import judge_rows, require_field

    if name == "agree":
        _agree(input, reference, field, label_field, key, out, overwrite)
        return
    if reference is not None:
        raise ConfigError(f"unexpected extra argument '{reference}'", field="judge",
                          hint="only `safetune judge agree JUDGED REFERENCE` takes two files")
    if out is None:
        raise ConfigError("--out is required", field="out", hint="e.g. --out judged.jsonl")
    check_file_target(out, overwrite)  # an existing --out fails before any judging
    judge = get_judge(name, **judge_options(option, "option"))  # bad judge/options fail before reading data
    second = get_judge(escalate, **judge_options(escalate_option, "escalate_option")) if escalate else None
    if escalate_option and not escalate:
        raise ConfigError("--escalate-option needs --escalate JUDGE", field="escalate_option")
    rows = read_table(input)
    require_field(rows, input, response_field, "--response-field")
    if prompt_field:
        require_field(rows, input, prompt_field, "--prompt-field")
    with counting(f"judge {judge.name}", len(rows)) as advance:
        judged = judge_rows(judge, rows, prompt_field or None, response_field, escalate=second, on_rows=advance)
    write_jsonl_atomic(out, judged, overwrite=overwrite)
    flags = [r["refused"] for r in judged if r["refused"] is not None]
    r = rate(flags)
    pct = "n/a" if r["rate"] is None else f"{100 * r['rate']:.1f}%"
    console.print(
        f"{name}: refusal rate {pct} ({r['k']}/{r['n']}), 95% CI [{100 * r['ci_low']:.1f}%, {100 * r['ci_high']:.1f}%]"
        + (f"; {len(judged) - len(flags)} unjudged" if len(flags) < len(judged) else "")
        + _uncertain_note(judged, escalate)
        + f" -> {out}",
        highlight=False,
        soft_wrap=True,
    )


def _uncertain_note(judged: list[dict], escalate: str | None) -> str:
    if not any("uncertain" in r for r in judged):  # the judge has no uncertain band
        return ""
    unsure = sum(1 for r in judged if r.get("uncertain"))
    if escalate:
        return f"; {unsure} uncertain, decided by {escalate}"
    return f"; {unsure} uncertain (best guess counted; --escalate JUDGE sends them to a second judge)"


def _agree(judged_path: Path, reference: Path | None, field: str, label_field: str, key: str | None,
           out: Path | None, overwrite: bool) -> None:
    """`safetune judge agree`: agreement of a judgement file with reference labels."""
    from ..harness.judges.agreement import agreement, render_agreement  # local: spaCy/torch, as above
    from ..harness.judges.files import require_field

    if reference is None:
        raise ConfigError("agree needs two files: JUDGED REFERENCE", field="reference",
                          hint="safetune judge agree judged.jsonl labels.csv --label-field final_label")
    if out is not None:
        check_file_target(out, overwrite)
    predicted_rows, reference_rows = read_table(judged_path), read_table(reference)
    require_field(predicted_rows, judged_path, field, "--field")
    require_field(reference_rows, reference, label_field, "--label-field")
    if key:
        require_field(predicted_rows, judged_path, key, "--key")
        require_field(reference_rows, reference, key, "--key")
        by_key = {str(r[key]): r for r in reference_rows}
        missing = [i for i, r in enumerate(predicted_rows) if str(r[key]) not in by_key]
        if missing:
            raise InputError(f"no reference row with {key} = {predicted_rows[missing[0]][key]!r} "
                             f"({len(missing)} such rows)", file=str(judged_path), row=missing[0], field=key)
        reference_rows = [by_key[str(r[key])] for r in predicted_rows]
    elif len(predicted_rows) != len(reference_rows):
        raise InputError(f"{len(predicted_rows)} rows here but {len(reference_rows)} in {reference}",
                         file=str(judged_path), hint="pass --key COLUMN to match rows by an id")
    result = agreement([r[field] for r in predicted_rows], [r[label_field] for r in reference_rows])
    console.print(render_agreement(result, f"{judged_path.name}:{field}", f"{reference.name}:{label_field}"),
                  highlight=False, markup=False, soft_wrap=True)
    if out is not None:
        disagreeing = [{"row": i, **predicted_rows[i], "reference_label": reference_rows[i][label_field]}
                       for i in result.disagreements]
        write_jsonl_atomic(out, disagreeing, overwrite=overwrite)
        console.print(f"{len(disagreeing)} disagreeing rows -> {out}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("judge", help=HELP)(judge_command)
