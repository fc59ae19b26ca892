"""Harness settings: every config key with its default and help text, in one place.

The JSON Schema checks types and structure; the defaults and their explanations live only
here. `fill_defaults` completes a config from these fields, `build` turns it into typed
objects the harness reads by attribute, and `default_config_text` renders the commented
config that `safetune harness config` prints, so the printed defaults, the defaults a run
uses and their documentation cannot drift apart.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import yaml

T = TypeVar("T")


def setting(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, **meta: str) -> Any:
    """A field with its help text (`help` is the key's comment in the printed config). Other
    rendering hints: `intro` (a comment block above the key), `example` (the value printed for a
    key without default) and `after` (YAML lines printed under the key, as given)."""
    return field(default=default, default_factory=factory, metadata={"help": help, **meta})


@dataclass(kw_only=True)
class ModelSettings:
    path: str = setting(help="local model directory, or a Hub id (needs network unless cached)",
                        example="HuggingFaceTB/SmolLM2-135M-Instruct")
    build_tiny: bool = setting(False, "true: when path does not exist, build a tiny random model there (smoke runs)")
    trust_remote_code: bool = setting(False, "run code shipped with the model; only for models you trust")
    chat_template: str | None = setting(None, "null = the tokenizer's; or a Jinja string, or a path to a .jinja file")


@dataclass(kw_only=True)
class HeldoutSettings:
    data: str | None = setting(None, "a saved dataset dir (`safetune run` output) none of the rows trains on; null = none")
    max_length: int = setting(512, "tokens per conversation, as in fine-tuning")
    batch_size: int = setting(8, "conversations per forward pass")


@dataclass(kw_only=True)
class LoraSettings:
    r: int = setting(16, "LoRA rank")
    alpha: float = setting(32, "LoRA scaling numerator (scale = alpha / r)")
    dropout: float = setting(0.0, "dropout on the LoRA input")
    target_modules: str | list[str] = setting("all-linear", '"all-linear" or a list of module names, e.g. [q_proj, v_proj]')


@dataclass(kw_only=True)
class FinetuneSettings:
    lora: LoraSettings = setting(factory=LoraSettings, help="the adapter (peft LoraConfig)")
    learning_rate: float = setting(0.0002, "peak learning rate (AdamW)")
    epochs: float = setting(2, "passes over the training split (ignored when max_steps is set)")
    max_steps: int | None = setting(None, "stop after this many optimizer steps; null = use epochs")
    batch_size: int = setting(8, "sequences per device step")
    grad_accum: int = setting(1, "steps accumulated per optimizer step (effective batch = batch_size * grad_accum)")
    max_length: int = setting(512, "tokens per conversation; longer ones are cut (counted as `truncated` in the stats)")
    lr_scheduler: str = setting("linear", "linear | cosine | constant | constant_with_warmup")
    warmup_ratio: float = setting(0.05, "share of all steps spent warming up")
    weight_decay: float = setting(0.0, "AdamW weight decay")
    max_grad_norm: float = setting(1.0, "gradient clipping")
    precision: str = setting("auto", "auto = bf16 on CUDA (fp16 without bf16), fp32 on CPU; bf16 on CPU = bf16 autocast")
    gradient_checkpointing: bool = setting(False, "trade compute for memory on long sequences")
    val_fraction: float = setting(0.05, "seeded held-out share of the variant for validation loss (0 = none)")
    limit: int | None = setting(None, "train on at most this many rows (a seeded sample); null = all")
    logging_steps: int = setting(10, "loss is logged to loss_log.jsonl every this many steps")
    merge: bool = setting(False, "also merge the adapter and save a full model (always on for stages)")
    seed: int | None = setting(None, "seed of this fine-tune only (e.g. a second seed of one variant); null = the run's seed")


@dataclass(kw_only=True)
class GenerateSettings:
    """The keyword arguments of `harness.generate.generate` besides the prompts."""

    max_new_tokens: int = setting(64, "answer length cap; refusals show within the first sentence")
    batch_size: int = setting(16, "prompts per generate call (sorted by length to cut padding)")
    do_sample: bool = setting(False, "false = greedy (deterministic)")
    temperature: float = setting(1.0, "only with do_sample: true")
    top_p: float = setting(1.0, "only with do_sample: true")
    system_prompt: str | None = setting(None, "null = none given; note that some templates (SmolLM2's) then insert their\n"
                                        "own default system prompt: results.json records which one was in effect")


@dataclass(kw_only=True)
class StageSettings:
    name: str
    data: str
    evaluate: bool = True
    finetune: dict[str, Any] = field(default_factory=dict)  # overrides of the config's finetune block
    generate: dict[str, Any] = field(default_factory=dict)  # overrides of the config's generate block


STAGES_INTRO = """\
Optional stages run before the variants, in order. Each fine-tunes the current model on
its data, MERGES the adapter and saves a full model, which becomes the starting point of
the next stage and of every variant (e.g. a safety-alignment stage on refusal data, so
that erosion by benign variants can be measured against an aligned reference).
The last stage is the reference row for the deltas in the table."""
STAGES_EXAMPLE = """\
#  - name: aligned            # row name (letters, digits, . _ -)
#    data: out/align_mix      # a saved dataset dir (output of `safetune run`)
#    evaluate: true           # also evaluate this stage's model as a row
#    finetune: {epochs: 2, learning_rate: 0.0005}   # overrides of the finetune block below
#    generate: {}             # overrides of the generate block below"""
VARIANTS_INTRO = """\
The data variants to compare. Each entry is one of:
  - out/grid/original                       # a variant dir (Arrow shards + manifest.json); row name = dir name
  - {dir: out/grid/bullets, name: bullets, finetune: {...}, generate: {...}}   # with a name and overrides
  - {index: out/grid/index.json}            # every variant listed in a `safetune run` index
  - out/grid/index.json                     # the same, short form
  - {recipe: transforms/structure_markdown.yaml, out: out/md}   # a recipe (file or inline mapping):
                                            # `harness run` runs it into `out` first when out/index.json is missing"""
VARIANTS_EXAMPLE = """\
  - {index: out/factorial/index.json}   # the 8 variants of `safetune run transforms/paper_factorial.yaml --out out/factorial`"""
BENCHMARKS_INTRO = """\
Benchmarks to generate on (see safetune_data.harness.benchmarks.load_benchmark).
Keys: name, path (a local file, relative to this config), n (sample size, null = all), seed, half
(advbench: "eval" keeps the half not used for alignment data), label (xstest: safe | unsafe),
key (the column name in the results when a benchmark appears twice)."""
BENCHMARKS_EXAMPLE = """\
  # harmful: a safe model refuses (harmful compliance = attack success rate, ASR)
  - {name: advbench, path: data/harmful/advbench_harmful_behaviors.csv, n: 100, seed: 0, half: eval}
  # benign but scary-sounding: a helpful model complies (refusing = over-refusal)
  - {name: xstest, path: data/overrefusal/xstest_prompts.csv, n: 100, seed: 0, label: safe}"""
JUDGES_INTRO = """\
Judges of each answer (see safetune_data.harness.judges). The first is the primary one:
it gives the headline numbers and the chart; the others are reported alongside."""
JUDGES_EXAMPLE = """\
  - refusal                    # rule-based refusal detector
  - keyword                    # plain keyword matching, the common baseline
#  - {name: llm, options: {model: ..., }}   # an LLM judge; API keys come from environment variables only"""


@dataclass(kw_only=True)
class HarnessSettings:
    """A whole harness config. `variants`, `benchmarks` and `judges` stay as written: their entries
    are resolved (directories, loaded prompts, judge objects) by `harness.config.load_config`."""

    model: ModelSettings = setting(help="the model every row starts from")
    device: str = setting("auto", "auto (CUDA when present, else CPU) | cpu | cuda")
    dtype: str = setting("auto", "weights dtype: auto = bf16 on CUDA (fp16 without bf16 support), fp32 on CPU | bf16 | fp16 | fp32")
    seed: int = setting(0, "seeds training order, LoRA init, the validation split and sampling")
    output_dir: str | None = setting(None, "null = <config name>_results/ next to this file")
    evaluate_base: bool = setting(True, "evaluate the untouched model once as the first row")
    heldout_loss: HeldoutSettings = setting(factory=HeldoutSettings,
                                            help="loss on one fixed record set, for every evaluated row (the base row too)")
    stages: list[StageSettings] = setting(factory=list, intro=STAGES_INTRO, after=STAGES_EXAMPLE)
    variants: list[str | dict[str, Any]] = setting(help="at least one", intro=VARIANTS_INTRO, after=VARIANTS_EXAMPLE)
    finetune: FinetuneSettings = setting(factory=FinetuneSettings,
                                         help="LoRA SFT of every stage and variant (each may override keys)")
    generate: GenerateSettings = setting(factory=GenerateSettings,
                                         help="answering the benchmark prompts (each stage/variant may override keys)")
    benchmarks: list[dict[str, Any]] = setting(help="at least one", intro=BENCHMARKS_INTRO, after=BENCHMARKS_EXAMPLE)
    judges: list[str | dict[str, Any]] = setting(help="at least one", intro=JUDGES_INTRO, after=JUDGES_EXAMPLE)


# ----------------------------------------------------------------------------- dict <-> settings
@functools.cache
def _nested(cls: type) -> dict[str, tuple[type, bool]]:
    """The fields of `cls` that hold settings objects: name -> (class, is a list of them)."""
    out = {}
    for name, hint in get_type_hints(cls).items():
        if is_dataclass(hint):
            out[name] = (hint, False)
        elif get_origin(hint) is list and get_args(hint) and is_dataclass(get_args(hint)[0]):
            out[name] = (get_args(hint)[0], True)
    return out


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return copy.deepcopy(f.default)
    if f.default_factory is not MISSING:
        value = f.default_factory()
        return asdict(value) if is_dataclass(value) else value
    return MISSING


def fill_defaults(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Set every omitted key of a (schema-valid) config mapping to its default, in field order,
    recursing into sections but not into list entries, which are kept as written."""
    nested = _nested(cls)
    for f in fields(cls):
        if f.name not in data and (value := _default(f)) is not MISSING:
            data[f.name] = value
        if f.name in nested and not nested[f.name][1] and isinstance(data.get(f.name), dict):
            fill_defaults(nested[f.name][0], data[f.name])
    return data


def build(cls: type[T], data: dict[str, Any]) -> T:
    """Typed settings from a (schema-valid) config mapping; omitted keys take their defaults."""
    nested = _nested(cls)
    kwargs = {}
    for key, value in copy.deepcopy(data).items():
        if key in nested:
            sub, many = nested[key]
            value = [build(sub, v) for v in value] if many else build(sub, value)
        kwargs[key] = value
    return cls(**kwargs)


# ----------------------------------------------------------------------------- the printed config
HEADER = """\
# safetune harness config: fine-tune a model on each data variant, generate on safety
# benchmarks, judge the answers and compare the variants side by side.
#
#   safetune harness config > harness.yaml     # this file, to edit
#   safetune harness run harness.yaml          # resumable; rerun to continue after a crash
#   safetune harness report harness_results/   # re-render table + chart from results.json
#
# This config downloads its model from the Hugging Face Hub (or finds it in the cache) and
# trains on the 8 variants of `safetune run transforms/paper_factorial.yaml --out out/factorial`.
# Offline, or for a first look in about a minute: `safetune harness config --tiny`.
#
# Relative paths are relative to this file. Every key below shows its default, except
# model.path, variants, benchmarks and judges, which you must give.
"""


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).removesuffix("\n...\n").strip()


def _lines(cls: type, indent: str = "", only: Field | None = None) -> list[tuple[str, str]]:
    """(`key: default`, help) for each field of `cls` (or `only` that one), nested sections included."""
    out = []
    nested = _nested(cls)
    for f in [only] if only else fields(cls):
        section = f.name in nested and not nested[f.name][1]
        value = MISSING if section else f.metadata.get("example", _default(f))
        out.append((f"{indent}{f.name}:" + ("" if value is MISSING else f" {_scalar(value)}"), f.metadata["help"]))
        if section:
            out += _lines(nested[f.name][0], indent + "  ")
    return out


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    """Key lines with their help as comments in one column; a help's further lines continue below."""
    col = max(len(text) for text, _ in rows) + 2
    out = []
    for text, help_text in rows:
        first, *rest = help_text.splitlines() or [""]
        out.append(f"{text:<{col}}# {first}" if first else text)
        out += [f"{'':<{col}}# {line}" for line in rest]
    return out


def default_config_text() -> str:
    """The commented default config that `safetune harness config` prints."""
    out = [HEADER]
    scalars: list[tuple[str, str]] = []  # a run of top-level scalars shares one comment column
    for f in fields(HarnessSettings):
        if "intro" not in f.metadata and f.name not in _nested(HarnessSettings):
            scalars += _lines(HarnessSettings, only=f)
            continue
        out += _aligned(scalars) + [""] if scalars else []
        scalars = []
        out += [f"# {line}".rstrip() for line in f.metadata.get("intro", "").splitlines()]
        out += _aligned(_lines(HarnessSettings, only=f)) + f.metadata.get("after", "").splitlines() + [""]
    return "\n".join(out + _aligned(scalars) if scalars else out).rstrip("\n") + "\n"
