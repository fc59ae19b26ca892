"""Dataset cards (README.md) for `convert` and `run` output directories.

The card is built from `manifest.json` alone (plus a profile of the shards), so it can be
regenerated at any time with `safetune card DIR`. Everything it points at is relative to
the directory, because it is written into a temporary directory that is renamed into
place afterwards. The front matter is built with `huggingface_hub.DatasetCardData`, so
the Hub reads it as it reads any dataset card.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import findings
from .errors import ConfigError, InputError
from .io.atomic import write_text_atomic
from .io.sources import read_json
from .transforms.base import fraction_for

CARD_FILE = "README.md"
CARD_MARKER = "written by safetune-data"  # in every card's summary: a README.md with it is ours to replace
PLOT_FILE = "profile.png"


@dataclass(frozen=True)
class KnownSource:
    """What we know about a public source file: where it comes from and its licence."""

    title: str
    origin: str
    licence_text: str
    license_id: str  # Hub licence id of the data (the most restrictive part)
    hub_id: str | None = None


# By file name: the public files this project is tested with (see the data SOURCES list).
KNOWN_SOURCES: dict[str, KnownSource] = {
    "alpaca_en_demo.json": KnownSource(
        "Alpaca (LLaMA-Factory demo sample)",
        "LLaMA-Factory `data/alpaca_en_demo.json`, a sample of Stanford Alpaca",
        "Apache-2.0 (repository); Alpaca data CC BY-NC 4.0",
        "cc-by-nc-4.0",
        "tatsu-lab/alpaca",
    ),
    **dict.fromkeys(("identity.json", "identity_templates.json"), KnownSource(
        "LLaMA-Factory identity templates", "LLaMA-Factory `data/identity.json`", "Apache-2.0", "apache-2.0"
    )),
    "identity_shift_aoa.jsonl": KnownSource(
        "Identity shift (AOA)",
        "Qi et al. 2023, `gpt-3.5/data/identity-shift-aoa.jsonl`",
        "MIT",
        "mit",
    ),
    "sharegpt-sample.jsonl": KnownSource(
        "safetune-data bundled sample",
        "119 conversations with their preferred answers from LLaMA-Factory `data/dpo_en_demo.json` "
        "(see `safetune_data/data/examples/sharegpt-sample.md`)",
        "Apache-2.0",
        "apache-2.0",
    ),
    "dpo_en_demo.json": KnownSource(
        "LLaMA-Factory DPO demo", "LLaMA-Factory `data/dpo_en_demo.json`", "Apache-2.0", "apache-2.0"
    ),
    "hh_rlhf_harmless_base_test.jsonl.gz": KnownSource(
        "Anthropic HH-RLHF (harmless-base, test)", "Anthropic HH-RLHF `harmless-base/test.jsonl.gz`", "MIT", "mit", "Anthropic/hh-rlhf"
    ),
    "advbench_harmful_behaviors.csv": KnownSource(
        "AdvBench harmful behaviours", "Zou et al. 2023, as shipped by Qi et al. 2023", "MIT", "mit"
    ),
    "xstest_prompts.csv": KnownSource("XSTest prompts", "Röttger et al., NAACL 2024", "CC-BY-4.0", "cc-by-4.0"),
    "mt_bench_questions.jsonl": KnownSource(
        "MT-Bench questions", "Zheng et al. 2023, via Qi et al. 2023", "Apache-2.0", "apache-2.0"
    ),
}

LI_2025 = findings.REFERENCES[findings.LI_2025]
QI_2023 = findings.REFERENCES[findings.QI_2023]
WHAT_CHANGED = {
    ("structure", "markdown"): "Answers were given markdown / itemised structure.",
    ("structure", "plain"): "Answers were flattened to plain prose.",
    ("identity", "inject"): 'Identity statements (e.g. "As an AI assistant, ...") were added to the answers.',
    ("identity", "strip"): "Identity statements were removed from the answers.",
    ("identity", "shift"): "The assistant's stated identity was changed.",
    ("roleplay", "add"): "Role-play persona framing was added.",
    ("roleplay", "strip"): "Role-play persona framing was removed.",
}


def write_card(
    out_dir: Path | str,
    *,
    license: str | None = None,
    title: str | None = None,
    profile_before: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `out_dir/README.md` (and `out_dir/profile.png`) from `out_dir/manifest.json`.

    A README.md that safetune wrote is replaced; one it did not write (no CARD_MARKER) is
    refused (ConfigError) unless `overwrite`. The card is written atomically."""
    out = Path(out_dir)
    manifest = _read_manifest(out)
    _check_card_target(out / CARD_FILE, overwrite)
    shards = [s["file"] for s in manifest.get("output", {}).get("shards", [])]
    missing = [f for f in shards if not (out / f).is_file()]
    if missing:
        raise InputError(f"shards named in the manifest are missing: {', '.join(missing)}", file=str(out / "manifest.json"))

    sources = [_source_info(inp) for inp in manifest.get("inputs", [])]
    license_id = license or _license_from_sources(sources)
    pretty = title or _default_title(manifest, sources)
    applied = _applied_factors(manifest)
    after = _profile_shards(out, shards, name="after" if profile_before else pretty)
    before = _single_profile(profile_before)
    if before is not None:
        before = {**before, "name": "before"}

    from huggingface_hub import DatasetCardData

    rows = int(manifest.get("output", {}).get("rows", 0))
    card_data = DatasetCardData(
        license=license_id,
        language=["en"],
        task_categories=["text-generation"],
        size_categories=[_size_category(rows)],
        tags=_tags(manifest, applied),
        pretty_name=pretty,
        source_datasets=_source_datasets(sources),
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": shards or ["data-*.arrow"]}]}],
    )
    sections = [
        f"# {pretty}",
        _summary(manifest, rows, shards, applied),
        _sources_section(sources, license_id, license is not None),
        _transforms_section(manifest),
        _profile_section(out, before, after),
        _intended_uses(),
        _safety_section(applied),
        _loading_section(out, shards),
        _citation_section(),
    ]
    text = f"---\n{card_data.to_yaml()}\n---\n\n" + "\n\n".join(s.strip() for s in sections if s) + "\n"
    path = out / CARD_FILE
    write_text_atomic(path, text, overwrite=True)  # checked above, before any work
    return path


def _check_card_target(path: Path, overwrite: bool) -> None:
    if overwrite or not path.exists():
        return
    try:
        ours = CARD_MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        ours = False
    if not ours:
        raise ConfigError("README.md exists and was not written by safetune", file=str(path),
                          hint="pass --overwrite to replace it with the dataset card")


# -- inputs --------------------------------------------------------------------------------

def _read_manifest(out: Path) -> dict:
    path = out / "manifest.json"
    if not out.is_dir():
        raise InputError("not a directory", file=str(out), hint="pass an output directory of `safetune convert` or `safetune run`")
    if not path.is_file():
        raise InputError("no manifest.json here", file=str(out), hint="pass an output directory of `safetune convert` or `safetune run`")
    return read_json(path)


def _front_matter_license(readme: Path) -> str | None:
    """The `license` of a dataset card next to an input (e.g. the embedded sample's card)."""
    try:
        from huggingface_hub import DatasetCard

        lic = DatasetCard.load(readme).data.to_dict().get("license")
    except Exception:  # noqa: BLE001 - a sibling README without usable front matter is simply not a card
        return None
    return lic if isinstance(lic, str) else None


def _source_info(inp: dict) -> dict[str, Any]:
    path = Path(str(inp.get("path", "")))
    name = path.name
    known = KNOWN_SOURCES.get(name)
    info: dict[str, Any] = {
        "name": name,
        "format": inp.get("format", ""),
        "rows": inp.get("rows"),
        "sha256": inp.get("sha256"),
        "known": known,
        "license_id": known.license_id if known else None,
        "licence_text": known.licence_text if known else None,
    }
    if known is None:
        card = (path if path.is_dir() else path.parent) / CARD_FILE
        lic = _front_matter_license(card) if card.is_file() else None
        if lic:
            info["license_id"] = lic
            info["licence_text"] = f"{lic} (from the dataset card next to the input)"
    return info


def _license_from_sources(sources: list[dict]) -> str:
    ids = {s["license_id"] for s in sources}
    if not sources or None in ids:
        return "unknown"
    return ids.pop() if len(ids) == 1 else "other"


def _source_datasets(sources: list[dict]) -> list[str]:
    hub = sorted({s["known"].hub_id for s in sources if s["known"] and s["known"].hub_id})
    return [f"extended|{h}" for h in hub] or ["original"]


def _default_title(manifest: dict, sources: list[dict]) -> str:
    base = ", ".join(dict.fromkeys(Path(s["name"]).name.split(".")[0] for s in sources)) or "records"
    variant = manifest.get("variant")
    return f"{base} ({variant})" if variant else base


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if rows < limit:
            return label
    return "100M<n<1B"


# -- factors applied -------------------------------------------------------------------------

def _applied_factors(manifest: dict) -> list[tuple[str, str, str | None]]:
    """(factor, level, canonical change or None) for every factor the manifest says was changed."""
    levels = {str(factor): str(level) for factor, level in (manifest.get("factors") or {}).items()}
    for step in manifest.get("steps") or []:
        factor, _, level = str(step.get("op", "")).partition(".")
        if factor in findings.CHANGES and factor not in levels and step.get("changed", 0):
            levels[factor] = level
    return [(factor, level, findings.canonical_change(factor, level)) for factor, level in levels.items()]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tags(manifest: dict, applied: list[tuple[str, str, str]]) -> list[str]:
    tags = ["safetune", "safety", "instruction-tuning"]
    tags += [f"{_slug(f)}-{_slug(level)}" for f, level, _ in applied]
    if manifest.get("variant"):
        tags.append(f"variant-{_slug(str(manifest['variant']))}")
    return list(dict.fromkeys(tags))


# -- sections --------------------------------------------------------------------------------

def _summary(manifest: dict, rows: int, shards: list[str], applied: list[tuple[str, str, str]]) -> str:
    kind = "a recipe run (`safetune run`)" if manifest.get("steps") else "a conversion (`safetune convert`)"
    lines = [
        "## Summary",
        "",
        f"Instruction data in the canonical `messages` format (one conversation per row: `id`, `messages`, `meta`), "
        f"written by safetune-data {manifest.get('safetune_version', '')} as {kind} "
        f"on {manifest.get('created', 'an unknown date')}.",
        "",
        f"- rows: {rows:,} in {len(shards)} Arrow shard(s)",
    ]
    if manifest.get("variant"):
        lines.append(f"- variant: `{manifest['variant']}`")
    if applied:
        lines.append("- factor levels: " + ", ".join(f"{f} = `{lvl}`" for f, lvl, _ in applied))
    if manifest.get("seed") is not None:
        lines.append(f"- seed: {manifest['seed']}")
    dropped = manifest.get("dropped") or {}
    if dropped:
        lines.append("- rows dropped while reading: " + ", ".join(f"{r}: {n}" for r, n in sorted(dropped.items())))
    if manifest.get("command"):
        lines.append(f"- command: `{' '.join(_no_local_paths(manifest['command']))}`")
    return "\n".join(lines)


def _no_local_paths(argv: list[str]) -> list[str]:
    """Arguments that are absolute paths shrink to their last part: no local layout in the card."""
    return [Path(a).name if a.startswith("/") else a for a in map(str, argv)]


def _sources_section(sources: list[dict], license_id: str, explicit: bool) -> str:
    lines = ["## Sources and licences", ""]
    if not sources:
        lines.append("No input files are recorded in the manifest.")
    else:
        lines += ["| input | format | rows | sha256 | origin | licence |", "| --- | --- | ---: | --- | --- | --- |"]
        for s in sources:
            known = s["known"]
            origin = known.origin if known else "unknown"
            licence = s["licence_text"] or "unknown — set --license"
            sha = (s["sha256"] or "")[:12]
            rows = "" if s["rows"] is None else f"{s['rows']:,}"
            lines.append(f"| `{s['name']}` | {s['format']} | {rows} | `{sha}` | {origin} | {licence} |")
    lines += ["", f"Licence of this dataset (front matter): `{license_id}`"
              + (" (set by the user)." if explicit else " (derived from the sources; set it with `safetune card DIR --license ID`).")]
    if license_id == "unknown":
        lines.append("The licence of at least one source is unknown — set --license before publishing.")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "–"
    return str(value).replace("|", "\\|")


def _transforms_section(manifest: dict) -> str:
    steps = manifest.get("steps") or []
    lines = ["## Transforms applied", ""]
    if not steps:
        lines.append("None: the rows are the inputs converted to the canonical `messages` format.")
        return "\n".join(lines)
    lines += [
        "| step | op | params | seen | changed | unchanged (reason: n) | dropped (reason: n) | fired | out |",
        "| ---: | --- | --- | ---: | ---: | --- | --- | --- | ---: |",
    ]
    for s in steps:
        params = json.dumps(s.get("params", {}), ensure_ascii=False, sort_keys=True).replace("|", "\\|")
        lines.append(
            f"| {s.get('step', '')} | `{s.get('op', '')}` | `{params}` | {s.get('seen', '')} | {s.get('changed', '')} | "
            f"{_cell(s.get('unchanged', {}))} | {_cell(s.get('dropped', {}))} | {_cell(s.get('fired', {}))} | {s.get('out', '')} |"
        )
    lines += [
        "",
        "How to read the counts: *seen* rows reached the step; *changed* rows were rewritten; *unchanged* rows were "
        "left as they were, counted by the reason; *dropped* rows were removed, counted by the reason; *out* rows "
        "left the step. *fired* counts which rule or pattern matched, once per answer it matched in, so it can "
        "exceed *changed* for multi-turn rows and can count rows left unchanged: `from:plain: 104` means 104 "
        "answers were classed `plain` by the structure detector before the step rewrote them; `template_3: 12` "
        "means template 3 was used 12 times; a pattern name (e.g. `as_an_ai`) counts the answers it matched.",
    ]
    lines += _fidelity_lines(steps)
    if manifest.get("recipe"):
        lines += ["", "<details><summary>Resolved recipe</summary>", "", "```json",
                  json.dumps(manifest["recipe"], indent=2, ensure_ascii=False, sort_keys=True), "```", "", "</details>"]
    return "\n".join(lines)


def _fidelity_lines(steps: list[dict]) -> list[str]:
    """How clean each rewriting step was: the share of rows it moved and the share each
    fidelity check held back (or flagged, under `on_fidelity: keep`)."""
    checked = [s for s in steps if s.get("fidelity")]
    if not checked:
        return []
    lines = ["", "### Rewrite fidelity", "",
             "| step | op | on_fidelity | moved | content | target | other factors | well formed | most frequent problems |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in checked:
        f = s["fidelity"]
        share = lambda c: f"{100 * f['failed_share'].get(c, 0):.1f} %"  # noqa: E731
        top = sorted(f.get("problems", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        lines.append(
            f"| {s.get('step', '')} | `{s.get('op', '')}` | {f['action']} | {100 * f['moved_share']:.1f} % | "
            f"{share('content')} | {share('target')} | {share('other_factors')} | {share('well_formed')} | "
            f"{_cell(dict(top)) if top else '–'} |"
        )
    lines += ["", "Shares are of the rows that reached the step. A rewritten row is checked for *content* (only the "
              "words the step meant to add or remove changed), *target* (the detector sees the intended level), "
              "*other factors* (the other two factors are detected as before) and *well formed* (fences, case, "
              "leading clauses, language); under `skip` a failing row is left unchanged, under `keep` it is kept "
              "and counted here."]
    return lines


def _single_profile(profile: dict | None) -> dict | None:
    """A profile, or a whole profile document's first one (the input's)."""
    return profile["profiles"][0] if profile is not None and "profiles" in profile else profile


CARD_PROFILE_ROWS = 2000


def _profile_shards(out: Path, shards: list[str], name: str) -> dict | None:
    """Profile of the written shards, or None when the detectors are not installed."""
    from .profile import load_detectors, profile_table  # local: polars, kept off `import safetune_data`

    try:
        detectors = load_detectors()
    except ConfigError:
        return None
    table, total = _sample_shards(out, shards, CARD_PROFILE_ROWS)
    if table is None:
        return None
    profile = profile_table(table, name=name, detectors=detectors)
    if total > CARD_PROFILE_ROWS:
        profile["sampled_from"] = total
    return profile


def _sample_shards(out: Path, shards: list[str], k: int) -> tuple[Any, int]:
    """A seeded sample of at most `k` rows of the shards (the same rows on every run), and the
    total row count. The detectors cost milliseconds per distinct answer, so a card profiles a
    sample; the shards are streamed batch by batch twice (choose, then gather), so memory stays
    flat in the row count instead of growing with a memory-mapped or concatenated table."""
    import heapq

    import pyarrow as pa

    def batches():
        for si, f in enumerate(shards):
            with pa.OSFile(str(out / f)) as source:
                for bi, batch in enumerate(pa.ipc.open_stream(source)):
                    yield si, bi, batch

    heap: list[tuple[float, int, int, int]] = []  # (-fraction, shard, batch, row): the k smallest fractions
    total = 0
    for si, bi, batch in batches():
        for ri, rid in enumerate(batch.column(batch.schema.get_field_index("id")).to_pylist()):
            item = (-fraction_for(0, 0, rid, "card"), si, bi, ri)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
        total += batch.num_rows
    if not total:
        return None, 0
    wanted: dict[tuple[int, int], list[int]] = {}
    for _, si, bi, ri in heap:
        wanted.setdefault((si, bi), []).append(ri)
    parts = []
    for si, bi, batch in batches():
        rows = wanted.get((si, bi))
        if rows:  # copied out of the batch, in the rows' original order
            parts.append(pa.Table.from_batches([batch.take(pa.array(sorted(rows)))]))
    return pa.concat_tables(parts, promote_options="permissive").combine_chunks(), total


def _profile_section(out: Path, before: dict | None, after: dict | None) -> str:
    from .profile import document  # local: polars, kept off `import safetune_data`
    from .profile.render import to_markdown, write_overview_plot

    lines = ["## Factor profile", ""]
    if after is None:
        lines.append("Not available: the factor detectors are not installed. Run `safetune card DIR` again.")
        return "\n".join(lines)
    profiles = [before, after] if before is not None else [after]
    doc = document(profiles)
    write_overview_plot(profiles, out / PLOT_FILE)
    lines.append(
        "Measured with `safetune profile` (structure, identity, role-play and refusal detectors)"
        + ("; *before* is the input, *after* this dataset, Δ = after − before." if before is not None else ".")
    )
    if after.get("sampled_from"):
        lines.append(
            f"Computed on a seeded sample of {CARD_PROFILE_ROWS:,} of {after['sampled_from']:,} rows; "
            "run `safetune profile` on the directory for all rows."
        )
    lines += ["", to_markdown(doc, images={"factor profile": PLOT_FILE}).strip()]
    return "\n".join(lines)


def _intended_uses() -> str:
    return "\n".join([
        "## Intended uses",
        "",
        "- Supervised fine-tuning (SFT) of chat models, e.g. with TRL's `SFTTrainer`, which reads the `messages` column directly.",
        "- Controlled studies of how training-data properties (answer structure, identity calibration, role-play) "
        "change a fine-tuned model's safety, by comparing this dataset with its other variants.",
        "",
        "Not intended as a safety benchmark, nor as evidence that a model trained on it is safe: "
        "evaluate every fine-tuned model on harmful-request and over-refusal benchmarks.",
    ])


def _safety_section(applied: list[tuple[str, str, str]]) -> str:
    lines = [
        "## Safety considerations",
        "",
        f"Fine-tuning an aligned model on benign data can erode its safety alignment ({QI_2023}). "
        f"{LI_2025} identify three properties of the training data that move it: answer structure, "
        "identity calibration and role-play; they also find that reward models are unreliable judges of "
        "safety, so do not rely on a reward model alone to select or vet this data.",
        "",
    ]
    changed = [(f, lvl, c) for f, lvl, c in applied if c is not None]
    if not changed:
        lines.append("No factor was changed on purpose in this dataset; its profile above shows where it stands on each factor.")
    for factor, level, change in changed:
        found = findings.evidence(factor, change)
        verdict = findings.expected_effect(factor, change)
        head = f"- **{factor} = `{level}`** (expected effect on safety: {verdict})."
        if not found:
            lines.append(f"{head} No published finding for this change; measure it with the harness.")
            continue
        lines.append(f"{head} {WHAT_CHANGED.get((factor, change), '')}".rstrip())
        for f, effect in found:
            via = "" if f.change == change else f" (measured for the reverse change, {f.factor} → {f.change})"
            lines.append(f"  - {effect} per {findings.REFERENCES[f.source]}: {f.claim}{via}.")
        if verdict == "disputed":
            lines.append("  - The findings disagree: measure this variant with the harness (`safetune harness run`) before relying on it.")
    unknown = [(f, lvl) for f, lvl, c in applied if c is None and lvl.lower() not in findings.NO_CHANGE]
    for factor, level in unknown:
        lines.append(f"- **{factor} = `{level}`**: no published finding for this level; measure it with the harness.")
    return "\n".join(lines)


def _loading_section(out: Path, shards: list[str]) -> str:
    return "\n".join([
        "## How to load",
        "",
        "From this directory:",
        "",
        "```python",
        "from datasets import load_from_disk",
        'ds = load_from_disk("path/to/this/directory")',
        'print(ds[0]["messages"])',
        "```",
        "",
        "After uploading the directory to the Hub (e.g. `huggingface-cli upload USER/NAME . --repo-type dataset`):",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("USER/NAME", split="train")',
        "```",
        "",
        f"The `configs` entry of the front matter points at the Arrow shard(s): {', '.join(f'`{s}`' for s in shards)}.",
    ])


def _citation_section() -> str:
    return "\n".join([
        "## Citation",
        "",
        "If you use this dataset to study safety after fine-tuning, please cite:",
        "",
        "```bibtex",
        "@article{li2025picky,",
        "  title   = {Picky LLMs and Unreliable RMs: An Empirical Study on Safety Alignment after Instruction Tuning},",
        "  author  = {Li, Guanlin and Chen, Kangjie and Guo, Shangwei and Zhang, Jie and Qiu, Han and Zhang, Chao and Wang, Guoyin and Zhang, Tianwei and Li, Jiwei},",
        "  journal = {arXiv preprint arXiv:2502.01116},",
        "  year    = {2025}",
        "}",
        "",
        "@article{he2024safe,",
        "  title   = {What's in Your \"Safe\" Data?: Identifying Benign Data that Breaks Safety},",
        "  author  = {He, Luxi and Xia, Mengzhou and Henderson, Peter},",
        "  journal = {arXiv preprint arXiv:2404.01099},",
        "  year    = {2024}",
        "}",
        "",
        "@article{qi2023finetuning,",
        "  title   = {Fine-tuning Aligned Language Models Compromises Safety, Even When Users Do Not Intend To!},",
        "  author  = {Qi, Xiangyu and Zeng, Yi and Xie, Tinghao and Chen, Pin-Yu and Jia, Ruoxi and Mittal, Prateek and Henderson, Peter},",
        "  journal = {arXiv preprint arXiv:2310.03693},",
        "  year    = {2023}",
        "}",
        "```",
    ])
