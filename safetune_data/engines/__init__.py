"""Where a recipe's record transforms run: `local` (this machine) or `ray` (a Ray cluster).

Both engines are a `Pipeline`: the Ray engine only replaces how a run of fused record steps
is executed, so dataset steps, per-step stats, the seeded trace and the shard writer are
shared code, and the two engines give byte-identical shards for the same recipe and seed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ..errors import ConfigError
from ..registry import Registry
from ..pipeline import Pipeline
from ..transforms.base import Transform

ENGINES: Registry = Registry("engine")

PipelineFactory = Callable[[Sequence[Transform], int, int], Pipeline]


def check_engine(engine: str) -> str:
    ENGINES.get(engine)
    return engine


def engine_versions(engine: str) -> dict[str, str]:
    """Versions to record in the manifest beside the others (the Ray release for `ray`)."""
    if engine != "ray":
        return {}
    from .ray_engine import require_ray

    return {"ray": require_ray().__version__}


@ENGINES.register("local")
@contextmanager
def _local(num_proc: int, ray_address: str | None) -> Iterator[PipelineFactory]:
    if ray_address:
        raise ConfigError("--ray-address needs --engine ray", field="ray-address")
    yield lambda steps, seed, trace: Pipeline(steps, seed=seed, num_proc=num_proc, trace=trace)


@ENGINES.register("ray")
@contextmanager
def _ray(num_proc: int, ray_address: str | None) -> Iterator[PipelineFactory]:
    from .ray_engine import RayPipeline, ray_session  # local: ray is an optional dependency

    with ray_session(ray_address, num_cpus=num_proc):
        yield lambda steps, seed, trace: RayPipeline(steps, seed=seed, trace=trace)


def engine_session(engine: str, *, num_proc: int = 1, ray_address: str | None = None):
    """Open the engine once for a whole run (a Ray connection is slow to make); a context
    manager yielding a factory `make(steps, seed, trace_k) -> Pipeline` for each variant.

    `num_proc` is the worker count on this machine: processes for `local`, CPUs of the
    Ray instance started here for `ray` (ignored when `ray_address` names a cluster).
    """
    return ENGINES.get(engine)(num_proc, ray_address)


__all__ = ["ENGINES", "check_engine", "engine_session", "engine_versions"]
