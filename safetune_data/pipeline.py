"""Run a list of transforms over a table of records: fused record steps, dataset steps,
optional worker processes, per-step stats and a seeded trace of before/after pairs.

Consecutive record-level steps run together on each batch (one Arrow → Python → Arrow
round trip per batch, not per step). A dataset-level step (mix, sample, dedup) sees the
whole table; what comes before it is spilled to a memory-mapped Arrow file so memory stays
bounded by the batch size, not the dataset size. Every random choice is seeded by (seed,
step index, record id), so outputs are identical with any batch size or worker count.
"""
from __future__ import annotations

import copy
import heapq
import multiprocessing as mp
import multiprocessing.pool
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow as pa

from .io.api import as_table, dataset_table
from .io.provenance import with_provenance
from .io.tempdirs import keep_until_exit, make_scratch, scratch_object
from .records import content_id, extra_meta_fields, record_schema, require_messages
from .transforms.base import DatasetStep, Step, StepStats, Transform, fraction_for

BATCH_ROWS = 256


class Trace:
    """Keep, per step, the k changed/dropped records with the smallest seeded hash.

    Which records are kept depends only on (seed, step, id), never on order or workers.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.heaps: dict[int, list[tuple[float, str, dict]]] = {}

    def threshold(self, step: int) -> float:
        heap = self.heaps.get(step, [])
        return -heap[0][0] if len(heap) >= self.k else 1.0

    def offer(self, step: int, h: float, rid: str, entry: dict) -> None:
        heap = self.heaps.setdefault(step, [])
        item = (-h, rid, entry)
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif -heap[0][0] > h:
            heapq.heapreplace(heap, item)

    def merge(self, other: "Trace") -> None:
        for step, heap in other.heaps.items():
            for neg_h, rid, entry in heap:
                self.offer(step, -neg_h, rid, entry)

    def entries(self) -> list[dict]:
        return [entry for step in sorted(self.heaps)
                for _, _, entry in sorted(self.heaps[step], key=lambda x: (-x[0], x[1]))]


def _run_record_steps(
    steps: Sequence[Transform], table: pa.Table, schema: pa.Schema, trace: Trace | None, seed: int
) -> tuple[pa.Table, list[StepStats], Trace | None, list[float]]:
    """Apply fused record steps to one batch table."""
    records = table.to_pylist()
    stats = [StepStats(s.name, s.step) for s in steps]
    seconds = [0.0] * len(steps)
    for i, step in enumerate(steps):
        before: dict[str, tuple[float, dict]] = {}
        if trace is not None and trace.k > 0:
            limit = trace.threshold(step.step)
            for r in records:
                h = fraction_for(seed, step.step, r["id"], "trace")
                if h < limit:
                    before[r["id"]] = (h, copy.deepcopy(r))
        t0 = time.perf_counter()
        kept = step.process(records, stats[i])
        seconds[i] += time.perf_counter() - t0
        if before:
            kept_by_id = {r["id"]: r for r in kept}
            for rid, (h, old) in before.items():
                new = kept_by_id.get(rid)
                if new != old:
                    trace.offer(step.step, h, rid, {"step": step.step, "op": step.name, "id": rid,
                                                    "status": "dropped" if new is None else "changed",
                                                    "before": old, "after": copy.deepcopy(new)})
        records = kept
    return pa.Table.from_pylist(records, schema=schema), stats, trace, seconds


# Worker-process state (set before forking so the table is shared, not pickled).
_WORK: dict[str, Any] = {}


class _Pool(mp.pool.Pool):
    """A pool that, abandoned with work pending (an error or Ctrl-C in the consumer), kills its
    workers at once. The stock terminate() can wait for ever: a worker killed while writing a
    result no one reads any more dies holding the result queue's lock, which the pool's task
    handler then needs to finish. A pool whose results were all taken ends as usual."""

    @classmethod
    def _terminate_pool(cls, taskqueue, inqueue, outqueue, pool, change_notifier, worker_handler,
                        task_handler, result_handler, cache):
        if not cache:
            return super()._terminate_pool(taskqueue, inqueue, outqueue, pool, change_notifier, worker_handler,
                                           task_handler, result_handler, cache)
        for handler in (worker_handler, task_handler, result_handler):  # no respawn, no more tasks
            handler._state = mp.pool.TERMINATE
        for p in pool:
            if p.exitcode is None:
                p.kill()
        for p in pool:
            p.join(timeout=10)
        # the handler threads (daemons) may stay blocked on the queues; the process is unwinding


def _pool(ctx: Any, n: int) -> Any:
    """A fork pool whose workers never see Ctrl-C: SIGINT is blocked while forking, so the
    workers inherit it blocked (no traceback from each of them) and an interrupt arriving
    during the fork waits for the parent, which stops the pool on its way out."""
    blocked = hasattr(signal, "pthread_sigmask")
    if blocked:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return _Pool(n, context=ctx)
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ipc_bytes(table: pa.Table) -> bytes:
    """`table` as an Arrow IPC stream: how worker processes and Ray tasks hand back records."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _worker(bounds: tuple[int, int]) -> tuple[bytes, list[StepStats], Trace | None, list[float]]:
    start, length = bounds
    table = _WORK["table"].slice(start, length)
    out, stats, trace, secs = _run_record_steps(_WORK["steps"], table, _WORK["schema"], Trace(_WORK["k"]) if _WORK["k"] else None, _WORK["seed"])
    return ipc_bytes(out), stats, trace, secs


def with_ids(table: pa.Table) -> pa.Table:
    """`table` with an `id` for every row: a missing column or empty value becomes
    `records.content_id(messages)`. Raises `InputError` when there is no `messages` column."""
    require_messages(table.column_names, "a Pipeline")
    if "id" in table.column_names and table.column("id").null_count == 0:
        return table
    given = table.column("id").to_pylist() if "id" in table.column_names else [None] * table.num_rows
    ids: list[str] = []
    for batch in table.select(["messages"]).to_batches(max_chunksize=8192):
        for msgs in batch.column(0).to_pylist():
            rid = given[len(ids)]
            ids.append(str(rid) if rid is not None else content_id(msgs))
    column = pa.array(ids, pa.string())
    if "id" in table.column_names:
        return table.set_column(table.column_names.index("id"), "id", column)
    return table.add_column(0, "id", column)


class Pipeline:
    """Steps + seed. `run(ds)` returns a `datasets.Dataset`; `stats` holds per-step counts.

        Pipeline([T.structure.markdown(style="bullets"), T.identity.inject(name="Aria")], seed=0).run(ds)
    """

    def __init__(self, steps: Sequence[Step], seed: int = 0, num_proc: int = 1, batch_size: int = BATCH_ROWS, trace: int = 0) -> None:
        self.steps = list(steps)
        self.seed = int(seed)
        self.num_proc = max(1, int(num_proc))
        self.batch_size = int(batch_size)
        self.trace_k = int(trace)
        for i, step in enumerate(self.steps):
            if not isinstance(step, Step):
                raise TypeError(f"step {i} is {type(step).__name__}, not a transform or dataset step")
        self._reset()
        self._tmp: tempfile.TemporaryDirectory | None = None

    # -- public API ------------------------------------------------------------------
    def run(self, ds: Any):
        """Run over a `datasets.Dataset` (or list of records / Arrow table); return a Dataset.

        Any table with a `messages` column will do (`meta` is optional). Rows without an id
        get `records.content_id(messages)` of their input messages, in an `id` column added
        to the output. The returned Dataset carries this run's seed and per-step stats
        (`io.provenance`), which `safetune_data.write` records as the manifest's `steps`.
        `stats_dicts()` gives the counts of the latest run.
        """
        import datasets

        table = with_ids(as_table(ds))
        self._reset()
        # The output outlives this Pipeline object: `Pipeline(...).run(ds)` drops the object
        # at once, and `map(num_proc=N)` workers reopen the file by name. Removed at exit.
        out_dir = make_scratch("pipe")
        try:
            path = self._spill(self.iter_tables(table), self.output_schema(table.schema), out_dir)
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        keep_until_exit(out_dir)
        info = datasets.DatasetInfo(description=with_provenance(None, self.seed, self.stats_dicts()))
        return datasets.Dataset.from_file(str(path), info=info, in_memory=False)

    def _reset(self) -> None:
        """Fresh stats, timings and trace, so that each run reports its own counts."""
        for i, step in enumerate(self.steps):
            step.bind(self.seed, i)
        self.stats: list[StepStats] = [StepStats(s.name, s.step) for s in self.steps]
        self.seconds: list[float] = [0.0] * len(self.steps)
        self.trace = Trace(self.trace_k)

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return record_schema(extra_meta_fields(schema)) if "meta" in schema.names else schema

    def iter_tables(self, table: pa.Table) -> Iterator[pa.Table]:
        """Run every step; yield output tables in input order."""
        schema = self.output_schema(table.schema)
        segments: list[list[Step]] = []
        for step in self.steps:
            if isinstance(step, DatasetStep) or not segments or isinstance(segments[-1][0], DatasetStep):
                segments.append([step])
            else:
                segments[-1].append(step)
        current = table
        for k, seg in enumerate(segments):
            last = k == len(segments) - 1
            if isinstance(seg[0], DatasetStep):
                current = self._dataset_step(seg[0], current, schema)
                if last:
                    yield from (t for t in [current] if t.num_rows)
            else:
                out = self._record_segment(seg, current, schema)
                if last:
                    yield from out
                else:
                    current = self._load(self._spill(out, schema))
        if not segments:
            yield table

    # -- internals ---------------------------------------------------------------------
    def _record_segment(self, steps: list[Transform], table: pa.Table, schema: pa.Schema) -> Iterator[pa.Table]:
        bounds = [(s, min(self.batch_size, table.num_rows - s)) for s in range(0, table.num_rows, self.batch_size)]
        if self.num_proc > 1 and len(bounds) > 1:
            _WORK.update(table=table, steps=steps, schema=schema, k=self.trace_k, seed=self.seed)
            ctx = mp.get_context("fork")
            with _pool(ctx, self.num_proc) as pool:
                for data, stats, trace, secs in pool.imap(_worker, bounds, chunksize=1):
                    self._collect(steps, stats, trace, secs)
                    yield pa.ipc.open_stream(data).read_all()
            _WORK.clear()
            return
        for start, length in bounds:
            out, stats, trace, secs = _run_record_steps(steps, table.slice(start, length), schema, self.trace if self.trace_k else None, self.seed)
            self._collect(steps, stats, None, secs)
            yield out

    def _collect(self, steps: list[Transform], stats: list[StepStats], trace: Trace | None, secs: list[float]) -> None:
        for step, st, sec in zip(steps, stats, secs):
            self.stats[step.step].merge(st)
            self.seconds[step.step] += sec
        if trace is not None:
            self.trace.merge(trace)

    def _dataset_step(self, step: DatasetStep, table: pa.Table, schema: pa.Schema) -> pa.Table:
        import datasets

        t0 = time.perf_counter()
        ds = datasets.Dataset(table)
        result = dataset_table(step.apply_dataset(ds))
        if result.schema != schema:
            result = result.cast(schema)
        self.stats[step.step].merge(step.stats)
        self.seconds[step.step] += time.perf_counter() - t0
        return result

    def _spill(self, tables: Iterator[pa.Table], schema: pa.Schema, directory: Path | None = None) -> Path:
        if directory is None:
            if self._tmp is None:
                self._tmp = scratch_object("pipe")  # PID-named; swept if a killed run leaves it
            directory = Path(self._tmp.name)
        path = directory / f"spill-{len(list(directory.iterdir())):03d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
            for t in tables:
                w.write_table(t.cast(schema) if t.schema != schema else t)
        return path

    @staticmethod
    def _load(path: Path) -> pa.Table:
        return pa.ipc.open_stream(pa.memory_map(str(path))).read_all()

    def stats_dicts(self) -> list[dict]:
        return [{**st.as_dict(), "params": step.params, "seconds": round(sec, 3)}
                for step, st, sec in zip(self.steps, self.stats, self.seconds)]
