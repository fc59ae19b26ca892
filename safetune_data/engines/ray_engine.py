"""Run fused record steps on Ray Data, with results identical to the local engine.

How a run of record steps executes (`RayPipeline._record_segment`):

1. The driver cuts the (memory-mapped) input table into blocks of whole 256-row batches
   (about four blocks per cluster CPU, at most 4,096 rows) and tags
   every row with its input position (`__safetune_row`); `ray.data.from_arrow` puts the
   blocks into the object store, so workers need no shared file system.
2. `map_batches(batch_format="pyarrow")` runs `_apply_blocks` on each block in a worker:
   records via `to_pylist`, every step's `process` (the same `_run_record_steps` the local
   engine uses), back with `pa.Table.from_pylist(schema=...)`.
3. A worker returns one *envelope* row per run of input rows that the local engine would
   have processed as one batch (256 rows, cut at the same positions): its first input
   position, its input row count, the per-step stats and trace candidates (pickled) and
   the output records (an Arrow IPC stream). Stats travel with the data, so a retried
   task replaces its envelope instead of adding to a side channel: counts are exact,
   never doubled, and a block whose rows were all dropped still reports its stats.
4. The driver puts envelopes back in canonical order = input order (a reorder buffer keyed
   by first input position; it rejects overlaps and checks that every input row came back
   exactly once), merges stats and traces as the local engine merges its workers', and
   yields the record tables to the same `ShardWriter`.

Record steps are pure functions of (seed, step index, record id), so where a record runs
changes nothing; since every envelope holds exactly one local batch, the writer receives
the same tables in the same order as with `--engine local` and writes the same bytes.

Dataset steps (mix, sample, dedup, identity.qa, select.top_reward) are barriers: the
driver materialises the previous segment's output to a memory-mapped Arrow file (the same
spill the local engine uses), runs the same `DatasetStep` on it, and re-cuts the result
into blocks for the next segment. This is the documented repartition: one pass over the
data on the driver per dataset step.
"""
from __future__ import annotations

import logging
import math
import pickle
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from ..errors import ConfigError, MissingExtraError, SafetuneError
from ..pipeline import BATCH_ROWS, Pipeline, Trace, _run_record_steps, ipc_bytes
from ..transforms.base import Transform

ROW = "__safetune_row"
ENVELOPE = pa.schema(
    [("start", pa.int64()), ("rows", pa.int64()), ("info", pa.large_binary()), ("data", pa.large_binary())]
)
MAX_BLOCK_ROWS = 4096
BLOCKS_PER_CPU = 4


def require_ray() -> Any:
    """Import ray or explain how to install it (exit 2 from the CLI)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    return ray


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to `address` (or start Ray on this machine with `num_cpus`) for the duration.

    A Ray instance the caller already initialised is used as it is and left running. Ray
    Data's own progress logs are silenced (the CLI shows its own progress).
    """
    ray = require_ray()
    started = False
    if not ray.is_initialized():
        where = {"address": address} if address else {"num_cpus": max(1, int(num_cpus or 1))}
        try:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, **where)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot connect to Ray at {address or 'a local instance'}: {exc}",
                field="ray-address",
                hint="start a cluster with `ray start --head` (if it uses token authentication, export "
                "RAY_AUTH_MODE=token), or leave out --ray-address to run Ray on this machine",
            ) from None
        started = True
    ctx = ray.data.DataContext.get_current()
    saved = getattr(ctx, "print_on_execution_start", True)
    ctx.print_on_execution_start = False
    data_logger = logging.getLogger("ray.data")
    level = data_logger.level
    data_logger.setLevel(logging.WARNING)  # Ray Data's progress lines are INFO logs here
    try:
        yield ray
    finally:
        ctx.print_on_execution_start = saved
        data_logger.setLevel(level)
        if started:
            ray.shutdown()


def _runs(rows: list[int], align: int) -> list[tuple[int, int]]:
    """Split batch positions into runs of consecutive input rows that never cross a multiple
    of `align`: (offset in batch, length).

    Cutting at the local engine's batch boundaries makes the tables handed to the writer the
    same, row for row, as the local engine's. Ray normally hands a whole block (one or more
    aligned runs); this also keeps results right if it ever splits or coalesces blocks.
    """
    runs: list[tuple[int, int]] = []
    for i, r in enumerate(rows):
        if runs and r == rows[i - 1] + 1 and r % align:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def _apply_blocks(
    batch: pa.Table, *, steps: Sequence[Transform], schema: pa.Schema, trace_k: int, seed: int, align: int
) -> pa.Table:
    """Ray Data task: run the fused record steps on one batch; return its envelopes."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    rows = batch.column(ROW).to_pylist()
    records = batch.drop_columns([ROW])
    starts, counts, infos, datas = [], [], [], []
    for offset, length in _runs(rows, align):
        starts.append(rows[offset])
        counts.append(length)
        try:
            out, stats, trace, secs = _run_record_steps(
                steps, records.slice(offset, length), schema, Trace(trace_k) if trace_k else None, seed
            )
        except SafetuneError as exc:  # a user error travels like a result (see _raise_user_error)
            infos.append(pickle.dumps(("error", type(exc), exc.message, _error_fields(exc)), protocol=pickle.HIGHEST_PROTOCOL))
            datas.append(b"")
            continue
        infos.append(pickle.dumps(("ok", stats, trace, secs, node), protocol=pickle.HIGHEST_PROTOCOL))
        datas.append(ipc_bytes(out))
    return pa.Table.from_pydict({"start": starts, "rows": counts, "info": infos, "data": datas}, schema=ENVELOPE)


def _error_fields(exc: SafetuneError) -> dict[str, Any]:
    return {k: getattr(exc, k) for k in ("file", "line", "row", "field", "step", "hint")}


def _raise_user_error(cls: type[SafetuneError], message: str, fields: dict[str, Any]) -> None:
    """Re-raise a worker's `SafetuneError` on the driver as itself (exit 2, same message).

    It is sent as (class, message, fields) rather than pickled: subclasses such as
    `MissingExtraError` take other constructor arguments and do not unpickle.
    """
    exc = cls.__new__(cls)
    SafetuneError.__init__(exc, message, **fields)
    raise exc


class RayPipeline(Pipeline):
    """A `Pipeline` whose record segments run as Ray Data `map_batches` tasks.

    Everything else (dataset steps on the driver, stats, trace, output schema) is the local
    pipeline's code, which is what makes the two engines agree. `block_rows` (rounded up to
    a multiple of the local batch size, 256) only changes speed, never results; by default
    each CPU of the cluster gets about four blocks.

    Faults: Ray Data re-runs a task whose worker process or node died (system errors are
    retried by default) and rebuilds lost outputs from lineage; since each task's envelope
    carries its own rows and stats, a re-run neither loses nor double-counts anything.
    An exception raised by a transform is not retried (it would fail again the same way).
    A `SafetuneError` comes back inside the envelope and is raised on the driver as itself,
    the first in input order, so the CLI reports it as with the local engine (exit 2).
    """

    def __init__(
        self,
        steps: Sequence[Transform],
        seed: int = 0,
        trace: int = 0,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(steps, seed=seed, num_proc=1, batch_size=BATCH_ROWS, trace=trace)
        self.block_rows = block_rows
        self.node_blocks: Counter = Counter()  # node id -> envelopes it produced (diagnostics)

    def _block_size(self, n: int, ray: Any) -> int:
        """Rows per Ray block: a multiple of the local batch size, about four blocks per CPU."""
        if self.block_rows:
            rows = int(self.block_rows)
        else:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            rows = min(MAX_BLOCK_ROWS, math.ceil(n / (BLOCKS_PER_CPU * cpus)))
        return max(1, math.ceil(rows / self.batch_size)) * self.batch_size

    def _record_segment(self, steps: list[Transform], table: pa.Table, schema: pa.Schema) -> Iterator[pa.Table]:
        ray = require_ray()
        total = table.num_rows
        if total == 0:
            return
        size = self._block_size(total, ray)
        blocks = [
            table.slice(s, min(size, total - s)).append_column(ROW, pa.array(range(s, min(s + size, total)), pa.int64()))
            for s in range(0, total, size)
        ]
        ds = ray.data.from_arrow(blocks).map_batches(
            _apply_blocks,
            batch_format="pyarrow",
            batch_size=None,  # one whole block per task
            zero_copy_batch=True,
            fn_kwargs={"steps": steps, "schema": schema, "trace_k": self.trace_k, "seed": self.seed, "align": self.batch_size},
            num_cpus=1,
        )
        yield from self._in_order(ds, steps, total)

    def _in_order(self, ds: Any, steps: list[Transform], total: int) -> Iterator[pa.Table]:
        """Reorder buffer: yield envelopes' records by first input row; check full coverage."""
        pending: dict[int, tuple[int, bytes, pa.Buffer]] = {}
        expected = 0
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            data = batch.column("data")
            for i, (start, rows, info) in enumerate(zip(*(batch.column(c).to_pylist() for c in ("start", "rows", "info")))):
                if start < expected or start in pending:
                    raise RuntimeError(f"Ray returned input row {start} twice")
                pending[start] = (rows, info, data[i].as_buffer())  # records stay zero-copy
                while expected in pending:
                    rows, info, payload = pending.pop(expected)
                    result = pickle.loads(info)
                    if result[0] == "error":  # the first user error in input order, as locally
                        _raise_user_error(*result[1:])
                    _, stats, trace, secs, node = result
                    self._collect(steps, stats, trace, secs)
                    self.node_blocks[node] += 1
                    expected += rows
                    yield pa.ipc.open_stream(payload).read_all()
        if expected != total or pending:
            raise RuntimeError(f"Ray returned rows 0..{expected} of {total} in order; {len(pending)} envelope(s) out of place")
