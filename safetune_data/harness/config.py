"""Harness config: load, validate, fill defaults, resolve every path — all before training.

A run that fails on its third variant after an hour of training because of a typo is the
failure this module exists to prevent. Everything that can be checked without a model is
checked here: the schema, every variant directory, every benchmark (loaded, so its prompts
are known), every judge name. Errors name the config file and the key.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, ConfigErrors, InputError, SafetuneError
from ..recipe import load_recipe, recipe_from_data
from ..run import INDEX_FILE, index_variants, run_recipe
from ..yaml_config import check_schema, read_yaml_mapping
from .benchmarks import load_benchmark
from .hooks import SILENT, Hooks
from .models import check_model_source
from .settings import FinetuneSettings, GenerateSettings, HarnessSettings, build, fill_defaults
from .tiny import write_tiny

RESERVED_ROWS = ("base",)


@dataclass
class RowPlan:
    """One row of the comparison: the base model, an alignment stage or a variant."""

    name: str
    kind: str  # "base" | "stage" | "variant"
    data: Path | None = None  # the records to fine-tune on (None for the base row)
    finetune: FinetuneSettings | None = None
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    evaluate: bool = True
    factors: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str | None = None


@dataclass
class BenchmarkPlan:
    key: str
    spec: dict[str, Any]
    items: list[dict[str, Any]]


@dataclass
class JudgePlan:
    name: str
    options: dict[str, Any]


@dataclass
class HarnessConfig:
    path: Path
    raw: dict[str, Any]  # the config as written, defaults filled: recorded in results.json and config.resolved.json
    settings: HarnessSettings  # the same, typed: what the run reads
    out_dir: Path
    rows: list[RowPlan]
    benchmarks: list[BenchmarkPlan]
    judges: list[JudgePlan]
    chat_template: str | None
    heldout: Path | None = None  # records for the held-out loss of every evaluated row (heldout_loss.data)
    heldout_fingerprint: str | None = None

    @property
    def primary_judge(self) -> str:
        return self.judges[0].name


# ----------------------------------------------------------------------------- helpers
def deep_merge(base: dict, over: dict | None) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


S = TypeVar("S", FinetuneSettings, GenerateSettings)


def with_overrides(settings: S, over: dict | None) -> S:
    """A row's own finetune/generate settings: the config's block with the row's overrides (nested keys merge)."""
    return build(type(settings), deep_merge(asdict(settings), over))


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def dataset_fingerprint(data_dir: Path) -> str:
    """What identifies a variant's content: the datasets fingerprint and the manifest, when present."""
    h = hashlib.sha256()
    for name in ("state.json", "manifest.json"):
        p = data_dir / name
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _check_dataset_dir(path: Path, cfg_file: Path, key: str) -> None:
    if not path.exists():
        raise ConfigError(f"directory not found: {path}", file=str(cfg_file), field=key,
                          hint="give the output directory of `safetune run` (or its index.json)")
    if not path.is_dir() or not ((path / "state.json").is_file() or (path / "dataset_info.json").is_file()):
        raise ConfigError(f"not a saved dataset directory (no state.json): {path}", file=str(cfg_file), field=key,
                          hint="variants are written by `safetune run` or `Dataset.save_to_disk`")


def _read_manifest_factors(path: Path) -> dict[str, Any]:
    try:
        man = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError, json.JSONDecodeError):
        return {}
    factors = man.get("factors") if isinstance(man, dict) else None
    return factors if isinstance(factors, dict) else {}


# ----------------------------------------------------------------------------- variants
def _expand_index(index_path: Path, cfg_file: Path, key: str) -> list[tuple[str, Path, dict]]:
    try:
        return index_variants(index_path)
    except InputError as exc:
        raise ConfigError(exc.message, file=exc.file, field=key, hint=f"referenced from {cfg_file} {key}") from exc


def _load_variant_recipe(spec: dict, cfg_file: Path, key: str):
    """The Recipe of a `{recipe, out}` variant entry: a file relative to the config, or inline
    (its errors are pointed at the config's `KEY.recipe` field)."""
    recipe = spec["recipe"]
    if isinstance(recipe, str):
        return load_recipe((cfg_file.parent / recipe).expanduser())
    try:
        return recipe_from_data(copy.deepcopy(recipe), f"{cfg_file} {key}.recipe")
    except SafetuneError as exc:
        problems = [
            ConfigError(e.message, file=str(cfg_file), hint=e.hint,
                        field=f"{key}.recipe" + (f".{e.field}" if e.field and e.field != "recipe" else ""))
            for e in getattr(exc, "errors", None) or [exc]
        ]
        raise (problems[0] if len(problems) == 1 else ConfigErrors(problems, file=str(cfg_file))) from exc


def _recipe_index(spec: dict, cfg_file: Path, key: str, prepare: bool, hooks: Hooks = SILENT) -> Path:
    """OUT/index.json of a `{recipe, out}` entry, running the recipe into OUT first when it is
    missing (with `prepare`). An OUT made from another recipe is refused, not silently reused."""
    out = (cfg_file.parent / spec["out"]).expanduser().resolve()
    index = out / INDEX_FILE
    recipe = spec["recipe"]
    if isinstance(recipe, str):
        rfile = (cfg_file.parent / recipe).expanduser()
        if not rfile.is_file():
            raise ConfigError(f"recipe file not found: {rfile}", file=str(cfg_file), field=f"{key}.recipe")
        recipe = read_yaml_mapping(rfile, "recipe")
    if index.is_file():
        try:
            first = index_variants(index)[0][1]
            made_from = json.loads((first / "manifest.json").read_text(encoding="utf-8")).get("recipe")
        except (OSError, ValueError, KeyError, IndexError, TypeError, InputError):
            made_from = None
        if made_from is not None and stable_hash(made_from) != stable_hash(recipe):
            raise ConfigError(f"{out} was made from another recipe than {key}.recipe", file=str(cfg_file),
                              field=f"{key}.out", hint=f"delete {out} to rebuild it, or name another `out`")
        return index
    if not prepare:
        raise ConfigError(f"variants not built yet: {index} is missing", file=str(cfg_file), field=f"{key}.out",
                          hint="`safetune harness run` builds them from the recipe")
    loaded = _load_variant_recipe(spec, cfg_file, key)
    hooks.message(f"[bold]variants[/] {key}: running the recipe into {out} ({len(loaded.variants)} variant(s))")
    run_recipe(loaded, out)
    return index


def _variant_rows(settings: HarnessSettings, cfg_file: Path, prepare: bool = False,
                  hooks: Hooks = SILENT) -> list[RowPlan]:
    base_dir = cfg_file.parent
    rows: list[RowPlan] = []
    for i, entry in enumerate(settings.variants):
        key = f"variants[{i}]"
        spec = {"dir": entry} if isinstance(entry, str) else dict(entry)
        if "recipe" in spec:
            spec["index"] = str(_recipe_index(spec, cfg_file, key, prepare, hooks))
        target = spec.get("index") or spec["dir"]
        path = (base_dir / target).expanduser().resolve()
        if "recipe" in spec:
            found = _expand_index(path, cfg_file, key + ".out")
        elif "index" in spec or (path.suffix == ".json" and path.name != "manifest.json"):
            found = _expand_index(path, cfg_file, key + (".index" if "index" in spec else ""))
        else:
            found = [(spec.get("name") or path.name, path, {})]
        for name, d, factors in found:
            sub = key + (".dir" if isinstance(entry, dict) and "dir" in entry else "")
            _check_dataset_dir(d, cfg_file, sub if len(found) == 1 else f"{key} ({name})")
            rows.append(RowPlan(
                name=name, kind="variant", data=d,
                finetune=with_overrides(settings.finetune, spec.get("finetune")),
                generate=with_overrides(settings.generate, spec.get("generate")),
                factors=factors or _read_manifest_factors(d),
                data_fingerprint=dataset_fingerprint(d),
            ))
    return rows


# ----------------------------------------------------------------------------- benchmarks, judges
def _load_benchmarks(specs: list[dict], cfg_file: Path) -> list[BenchmarkPlan]:
    plans, seen = [], set()
    for i, spec in enumerate(specs):
        spec = dict(spec)
        key = spec.pop("key", None) or spec["name"]
        if key in seen:
            raise ConfigError(f"benchmark '{key}' given twice", file=str(cfg_file), field=f"benchmarks[{i}]",
                              hint="give each a distinct `key`")
        seen.add(key)
        if spec.get("path"):
            spec["path"] = str((cfg_file.parent / spec["path"]).expanduser().resolve())
        try:
            items = load_benchmark(spec)
        except SafetuneError as exc:
            where = f" ({exc.location()})" if exc.file else ""
            field = f"benchmarks[{i}]" + (f".{exc.field}" if exc.field and not exc.file else "")
            raise ConfigError(f"benchmark '{spec['name']}': {exc.message}{where}", file=str(cfg_file),
                              field=field, hint=exc.hint) from exc
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            raise ConfigError(f"benchmark '{spec['name']}' cannot be loaded: {exc}", file=str(cfg_file),
                              field=f"benchmarks[{i}]") from exc
        if not items:
            raise ConfigError(f"benchmark '{key}' has no prompts", file=str(cfg_file), field=f"benchmarks[{i}]")
        plans.append(BenchmarkPlan(key=key, spec=spec, items=items))
    return plans


def _check_judges(entries: list, cfg_file: Path) -> list[JudgePlan]:
    from .judges import JUDGES  # local: the judges load spaCy, and the CLI imports this module at start-up

    plans = []
    for i, entry in enumerate(entries):
        name, options = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("options") or {})
        if name not in JUDGES:
            unknown = JUDGES.unknown(name)
            raise ConfigError(unknown.message, file=str(cfg_file), field=f"judges[{i}]", hint=unknown.hint)
        if name in {p.name for p in plans}:
            raise ConfigError(f"judge '{name}' given twice", file=str(cfg_file), field=f"judges[{i}]")
        if isinstance(options.get("model"), str) and options["model"]:  # a model-backed judge: loadable here?
            local = (cfg_file.parent / options["model"]).expanduser()
            check_model_source(str(local) if local.exists() else options["model"], field=f"judges[{i}].options.model")
        plans.append(JudgePlan(name=name, options=options))
    return plans


# ----------------------------------------------------------------------------- the model
def _check_model_path(model_path: str, build_tiny: bool, cfg_file: Path) -> None:
    """A model.path that names nothing here fails now: a missing directory, or a Hub id that
    is not cached while the Hub is off or unreachable (in seconds, not after minutes of retries)."""
    local = (cfg_file.parent / model_path).expanduser()
    if local.exists() or build_tiny:
        return
    if model_path.startswith((".", "/", "~")):
        raise ConfigError(f"model directory not found: {local}", file=str(cfg_file), field="model.path")
    try:
        check_model_source(model_path)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=str(cfg_file), field="model.path", hint=exc.hint) from exc


def precheck_model(path: str | Path) -> None:
    """Only the model.path check of `load_config`, cheap enough to run before torch is imported,
    so that an unloadable Hub id fails in about a second; anything malformed is left to
    `load_config` to report."""
    cfg_file = Path(path).expanduser().resolve()
    try:
        model = read_yaml_mapping(cfg_file, "harness config")["model"]
        model_path, build_tiny = model["path"], model.get("build_tiny", False)
    except Exception:  # unreadable, not YAML, no model.path: load_config says which
        return
    if isinstance(model_path, str) and model_path:
        _check_model_path(model_path, build_tiny is True, cfg_file)


# ----------------------------------------------------------------------------- entry point
def load_config(path: str | Path, overrides: dict[str, Any] | None = None, out_dir: str | Path | None = None,
                *, prepare: bool = False, hooks: Hooks = SILENT) -> HarnessConfig:
    """Read, validate and resolve a harness config; raises ConfigError naming file and key.

    With `prepare` (what `harness run` passes), the inputs the config asks to build are built
    once everything else has been checked: the tiny model of `model.build_tiny` and the
    variants of `{recipe, out}` entries, each only when missing (announced through `hooks`)."""
    cfg_file = Path(path).expanduser().resolve()
    raw = deep_merge(read_yaml_mapping(cfg_file, "harness config"), overrides)
    check_schema(raw, "harness_config", str(cfg_file), top="(top level)")
    fill_defaults(HarnessSettings, raw)
    settings = build(HarnessSettings, raw)
    model = settings.model

    chat_template = model.chat_template
    if chat_template and chat_template.endswith(".jinja"):
        tpl = (cfg_file.parent / chat_template).expanduser()
        if not tpl.is_file():
            raise ConfigError(f"chat template file not found: {tpl}", file=str(cfg_file), field="model.chat_template")
        chat_template = tpl.read_text(encoding="utf-8")
    local = (cfg_file.parent / model.path).expanduser()
    build_tiny = model.build_tiny and not local.exists()
    _check_model_path(model.path, model.build_tiny, cfg_file)
    if local.exists() or build_tiny:
        model.path = raw["model"]["path"] = str(local.resolve())

    # held-out data, benchmarks and judges first: a mistake there is reported before anything is built
    heldout, heldout_fp = None, None
    if settings.heldout_loss.data:
        heldout = (cfg_file.parent / settings.heldout_loss.data).expanduser().resolve()
        _check_dataset_dir(heldout, cfg_file, "heldout_loss.data")
        heldout_fp = dataset_fingerprint(heldout)
    benchmarks = _load_benchmarks(settings.benchmarks, cfg_file)
    judges = _check_judges(settings.judges, cfg_file)
    if out_dir is not None:
        out = Path(out_dir).expanduser().resolve()
    elif settings.output_dir:
        out = (cfg_file.parent / settings.output_dir).expanduser().resolve()
    else:
        out = cfg_file.parent / f"{cfg_file.stem}_results"
    if prepare:
        from .runner import check_output  # not at the top: runner imports this module

        check_output(out)  # a refused output folder is reported before anything is built
    rows: list[RowPlan] = []
    if settings.evaluate_base:
        rows.append(RowPlan(name="base", kind="base", generate=with_overrides(settings.generate, None)))
    for i, st in enumerate(settings.stages):
        d = (cfg_file.parent / st.data).expanduser().resolve()
        _check_dataset_dir(d, cfg_file, f"stages[{i}].data")
        ft = replace(with_overrides(settings.finetune, st.finetune), merge=True)  # a stage's model is the base of what follows
        rows.append(RowPlan(name=st.name, kind="stage", data=d, finetune=ft,
                            generate=with_overrides(settings.generate, st.generate), evaluate=st.evaluate,
                            data_fingerprint=dataset_fingerprint(d)))
    rows += _variant_rows(settings, cfg_file, prepare, hooks)
    if build_tiny and prepare:  # last: a refused variant entry builds nothing
        hooks.message(f"[bold]model[/] building a tiny random chat model in {local.resolve()} (model.build_tiny)")
        write_tiny(local.resolve(), "chat", seed=settings.seed)
    seen: set[str] = set()
    for r in rows:
        if r.name in seen or (r.kind != "base" and r.name in RESERVED_ROWS):
            raise ConfigError(f"row name '{r.name}' is used twice (or is reserved)", file=str(cfg_file),
                              field="variants", hint="give the variant a distinct `name`")
        seen.add(r.name)

    return HarnessConfig(path=cfg_file, raw=raw, settings=settings, out_dir=out, rows=rows, benchmarks=benchmarks,
                         judges=judges, chat_template=chat_template, heldout=heldout,
                         heldout_fingerprint=heldout_fp)
