"""The transform contract, the registry and per-step statistics.

A transform is one small class. Record-level transforms implement `apply(record, rng)` and
return an `Outcome` (changed / unchanged with a reason / dropped with a reason), in the
manner of datatrove's filters, so that every row a step leaves alone or drops is counted by
reason. Randomness comes only from `rng`, seeded from (recipe seed, step index, record id):
results never depend on order, batching or worker count.

Dataset-level steps (mix, sample, dedup) subclass `DatasetStep` and see the whole table.

Parameters are validated against the class's JSON Schema (`params_schema`); unknown or
ill-typed parameters raise `ParamError` naming the parameter. The recipe loader adds the
recipe file and step index to that error.
"""
from __future__ import annotations

import copy
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable


from ..errors import ConfigError, InputError
from ..records import content_id, require_messages
from ..registry import NO_PARAMS, Registry, validate_params
from .fidelity import CHECKS, ON_FIDELITY_PARAM, first_failure

# The modules that register transforms, imported on the first lookup.
MODULES = ("structure", "identity", "roleplay", "filters", "dataset_steps", "select", "answers")
TRANSFORMS: Registry[type["Transform"]] = Registry(
    "transform", modules=tuple(f"{__package__}.{m}" for m in MODULES), field="",
    listing="run `safetune transforms` to list them")
register = TRANSFORMS.register()  # class decorator: available to recipes under `cls.name`


def rng_for(seed: int, step: int, record_id: str) -> random.Random:
    """A random generator that depends only on (seed, step index, record id)."""
    digest = hashlib.sha256(f"{seed}\x1f{step}\x1f{record_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def fraction_for(seed: int, step: int, record_id: str, salt: str = "rate") -> float:
    """A uniform number in [0, 1) per record, for deterministic `rate` selection."""
    digest = hashlib.sha256(f"{salt}\x1f{seed}\x1f{step}\x1f{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class Outcome:
    """What one transform did to one record.

    status: "changed" | "unchanged" | "dropped". `reason` is required for unchanged and
    dropped rows (it becomes a counted stat). `detail` is a short description of what was
    done, appended to `meta.transforms` on changed rows. `fired` lists pattern or rule
    names that matched, counted in the step's stats (e.g. which identity pattern fired).
    """

    record: dict | None
    status: str
    reason: str = ""
    detail: str = ""
    fired: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @classmethod
    def changed(
        cls, record: dict, detail: str = "", fired: Iterable[str] = (), *, added: Iterable[str] = (), removed: Iterable[str] = ()
    ) -> "Outcome":
        """`added`/`removed`: the text the transform meant to insert or delete (the fidelity
        `content` check allows exactly their words to appear or disappear)."""
        return cls(record, "changed", "", detail, tuple(fired), tuple(added), tuple(removed))

    @classmethod
    def unchanged(cls, record: dict, reason: str, fired: Iterable[str] = ()) -> "Outcome":
        return cls(record, "unchanged", reason, "", tuple(fired))

    @classmethod
    def dropped(cls, reason: str, fired: Iterable[str] = ()) -> "Outcome":
        return cls(None, "dropped", reason, "", tuple(fired))


@dataclass
class StepStats:
    """Per-step counts; merged across batches and workers by addition.

    For a rewriting transform, `fidelity_action` is its `on_fidelity`, `fidelity_failed`
    counts rows by the first fidelity check they failed and `fidelity_problems` by
    "check: problem" (held back under `skip`, kept under `keep`).
    """

    op: str
    step: int
    seen: int = 0
    changed: int = 0
    added: int = 0
    unchanged: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    fired: Counter = field(default_factory=Counter)
    fidelity_action: str | None = None
    fidelity_failed: Counter = field(default_factory=Counter)
    fidelity_problems: Counter = field(default_factory=Counter)

    def count_fidelity(self, action: str, failure: Any | None) -> None:
        self.fidelity_action = action
        if failure is not None:
            self.fidelity_failed[failure.check] += 1
            self.fidelity_problems[f"{failure.check}: {failure.problem}"] += 1

    def count(self, outcome: Outcome) -> None:
        self.seen += 1
        if outcome.status == "changed":
            self.changed += 1
        elif outcome.status == "unchanged":
            self.unchanged[outcome.reason or "unspecified"] += 1
        elif outcome.status == "dropped":
            self.dropped[outcome.reason or "unspecified"] += 1
        else:
            raise ValueError(f"unknown outcome status {outcome.status!r}")
        self.fired.update(outcome.fired)

    def merge(self, other: "StepStats") -> "StepStats":
        self.seen += other.seen
        self.changed += other.changed
        self.added += other.added
        for counts in ("unchanged", "dropped", "fired", "fidelity_failed", "fidelity_problems"):
            getattr(self, counts).update(getattr(other, counts))
        self.fidelity_action = self.fidelity_action or other.fidelity_action
        return self

    def as_dict(self) -> dict[str, Any]:
        out = {
            "step": self.step,
            "op": self.op,
            "seen": self.seen,
            "changed": self.changed,
            "added": self.added,
            **{counts: dict(sorted(getattr(self, counts).items())) for counts in ("unchanged", "dropped", "fired")},
            "out": self.seen - sum(self.dropped.values()) + self.added,
        }
        if self.fidelity_action is not None:
            out["fidelity"] = self.fidelity_summary()
        return out

    def fidelity_summary(self) -> dict[str, Any]:
        """Shares of the rows seen: moved (changed and passed, or kept under `keep`) and
        held back or flagged by each check."""
        failed = sum(self.fidelity_failed.values())
        n = self.seen or 1
        held = self.fidelity_action == "skip"
        return {
            "action": self.fidelity_action,
            "rewritten": self.changed + (failed if held else 0),
            "passed": self.changed - (0 if held else failed),
            "moved_share": round(self.changed / n, 4),
            "failed": {c: self.fidelity_failed.get(c, 0) for c in CHECKS},
            "failed_share": {c: round(self.fidelity_failed.get(c, 0) / n, 4) for c in CHECKS},
            "problems": dict(sorted(self.fidelity_problems.items())),
        }


class Step:
    """What record transforms and dataset steps share: a registered name, parameters
    validated against `params_schema`, the seed and step index a pipeline binds, and stats."""

    name: ClassVar[str] = ""
    level: ClassVar[str] = "record"
    params_schema: ClassVar[dict] = NO_PARAMS

    def __init__(self, **params: Any) -> None:
        self.params = validate_params("transform", self.name, self.params_schema, params)
        self.seed = 0
        self.step = 0
        self.bound = False  # set by bind(): log `self.step`, not the row's next step number
        self.stats = StepStats(self.name, 0)
        self.setup()

    def setup(self) -> None:
        """Build what the step needs once (patterns, pipelines) from `self.params`."""

    def bind(self, seed: int, step: int) -> "Step":
        """Set the recipe seed and this step's index (they seed every record's rng)."""
        self.seed, self.step = int(seed), int(step)
        self.bound = True
        self.stats = StepStats(self.name, self.step)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})"


class Transform(Step):
    """Base of record-level transforms.

    Subclasses set `name` (dotted, e.g. "structure.markdown") and `params_schema`, and
    implement `apply`. They may override `apply_batch` to process many records at once
    (e.g. spaCy's `nlp.pipe`); it must give the same outcomes as `apply` row by row.

    An instance is also a `datasets.Dataset.map` function, batched or not, on any dataset
    with a `messages` column (see `__call__`). Stats of such direct calls accumulate in
    `self.stats`.
    """

    # A rewriting transform names the factor it moves and the level(s) a changed row must
    # reach; every changed row is then checked (see `fidelity`) and the class gets an
    # `on_fidelity` parameter. `keeps_markup`: the rewrite must leave fences, list markers,
    # headings, tables, URLs and the case of the answer's words as they were.
    factor: ClassVar[str | None] = None
    target: ClassVar[frozenset[str]] = frozenset()
    keeps_markup: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("factor") and "on_fidelity" not in cls.params_schema.get("properties", {}):
            declared = copy.deepcopy(cls.params_schema)
            declared.setdefault("properties", {})["on_fidelity"] = dict(ON_FIDELITY_PARAM)
            cls.params_schema = declared

    # --- to implement -------------------------------------------------------------
    def apply(self, record: dict, rng: random.Random) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def fidelity_problem(self, before: dict, after: dict) -> str | None:
        """A transform's own well-formedness rule for a changed row; a short problem name or
        None. The generic checks (`fidelity`) run first."""
        return None

    # --- batch and map plumbing -----------------------------------------------------
    def rng(self, record: dict) -> random.Random:
        return rng_for(self.seed, self.step, record["id"])

    def selected(self, record: dict, rate: float) -> bool:
        """Deterministic per-record choice with probability `rate`."""
        return rate >= 1.0 or fraction_for(self.seed, self.step, record["id"]) < rate

    def apply_batch(self, records: list[dict]) -> list[Outcome]:
        return [self.apply(r, self.rng(r)) for r in records]

    def process(self, records: list[dict], stats: StepStats | None = None) -> list[dict]:
        """Apply to a batch of records; count outcomes; log changes; return kept records.

        A record without an id gets `records.content_id(messages)` (it seeds the record's
        randomness). A change is logged in `meta.transforms` as `self.step` once `bind` set it
        (a Pipeline does); unbound (a bare `ds.map(t)`), as one past the highest step already
        in that row's log (0 for none), so chained maps number their steps 0, 1, 2, ...
        """
        stats = stats if stats is not None else self.stats
        for r in records:
            if r.get("id") is None:
                r["id"] = content_id(r.get("messages"))
        kept: list[dict] = []
        outcomes = self.apply_batch(records)
        if self.factor:
            outcomes = [self._checked(before, o, stats) for before, o in zip(records, outcomes)]
        for outcome in outcomes:
            stats.count(outcome)
            if outcome.status == "dropped":
                continue
            rec = outcome.record
            if outcome.status == "changed":
                # a copy: a transform may return {**record, ...} that shares the caller's meta
                meta = dict(rec.get("meta") or {})
                rec["meta"] = meta
                log = list(meta.get("transforms") or [])
                done = [e.get("step") for e in log if isinstance(e, dict) and isinstance(e.get("step"), int)]
                step = self.step if self.bound else 1 + max(done, default=-1)
                log.append({"step": step, "op": self.name, "detail": outcome.detail})
                meta["transforms"] = log
            kept.append(rec)
        return kept

    def _checked(self, before: dict, outcome: Outcome, stats: StepStats) -> Outcome:
        """Run the fidelity checks on a changed row and act on `on_fidelity`."""
        action = self.params.get("on_fidelity", "skip")
        if outcome.status != "changed":
            stats.count_fidelity(action, None)
            return outcome
        failure = first_failure(self, before, outcome.record, outcome)
        stats.count_fidelity(action, failure)
        if failure is None or action == "keep":
            return outcome
        if action == "fail":
            meta = before.get("meta") or {}
            raise InputError(
                f"row '{before.get('id')}': the rewrite failed the fidelity check '{failure.check}' ({failure.problem})",
                file=meta.get("source"), row=meta.get("source_index"), step=self.step, field="on_fidelity",
                hint="set on_fidelity: skip to leave such rows unchanged, or keep to keep and count them",
            )
        return Outcome.unchanged(before, failure.reason, fired=outcome.fired)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """`ds.map(t)` (one row) or `ds.map(t, batched=True)` (a column batch).

        Needs a `messages` column; `id` and `meta` are optional. The result has exactly the
        columns given: a row without an id uses `records.content_id(messages)` for this step
        only; without a `meta` column changes are counted in `self.stats` but not logged.
        Batched, dropped rows are removed; one row at a time, a dropped row raises
        `ConfigError`, since `map` must return every row then.
        """
        keys = list(batch.keys())
        require_messages(keys, f"transform '{self.name}'")
        if _is_row(batch):
            record = {k: batch[k] for k in keys}
            stats = StepStats(self.name, self.step)
            kept = self.process([record], stats)
            self.stats.merge(stats)
            if not kept:
                raise ConfigError(
                    f"transform '{self.name}' dropped row '{record['id']}' ({next(iter(stats.dropped))}), "
                    "but a map without batched=True must return every row",
                    hint="use ds.map(t, batched=True) to drop rows",
                )
            return {k: kept[0].get(k) for k in keys}
        n = len(batch["messages"])
        records = [{k: batch[k][i] for k in keys} for i in range(n)]
        kept = self.process(records)
        return {k: [r.get(k) for r in kept] for k in keys}


def _is_row(batch: Any) -> bool:
    """Whether a map function got one row (its `messages` a list of message dicts) rather than
    a column batch (a list of conversations). An empty `messages` list is a batch of no rows
    unless another value shows a single row (an `id` string, say)."""
    msgs = batch["messages"]
    if not isinstance(msgs, list):
        return True
    if msgs:
        return not isinstance(msgs[0], (list, tuple)) and msgs[0] is not None
    return any(not isinstance(v, list) for k, v in batch.items() if k != "messages")


class DatasetStep(Step):
    """Base of dataset-level steps (mix, sample, dedup): they see all rows at once.

    `apply_dataset` receives a `datasets.Dataset` of records and returns one, filling
    `self.stats` (seen, added, dropped by reason). Order of the output must depend only
    on the input rows and the seed.
    """

    level: ClassVar[str] = "dataset"

    def apply_dataset(self, ds: "Any") -> "Any":  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, ds: "Any") -> "Any":
        return self.apply_dataset(ds)
