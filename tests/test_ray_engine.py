"""`--engine ray`: same shards, stats and trace as the local engine; a real two-node cluster;
a worker node killed mid-run; no Ray process left behind.

The cluster tests start a Ray head and a worker node as separate `ray start --block`
processes on 127.0.0.1, each in a new session so that exactly the processes this module
started (their trees, their process groups, anything naming the private temp dir) are
killed at the end, never another user's Ray.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import datasets
import pyarrow as pa
import pytest

from safetune_data.transforms.base import Outcome, Transform

REPO = Path(__file__).resolve().parents[1]
FACTORIAL = REPO / "transforms" / "paper_factorial.yaml"
TWO_VARIANTS = "structure=markdown,identity=inject,roleplay=[an]*"  # roleplay=none and roleplay=add
# Fast failure detection, so a killed node is declared dead in about a second.
FAST_HEALTH = {
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


# -- helpers ----------------------------------------------------------------------------
def _variant_dirs(out: Path) -> list[str]:
    return [v["dir"] for v in json.loads((out / "index.json").read_text())["variants"]]


def _without_seconds(steps: list[dict]) -> list[dict]:
    return [{k: v for k, v in s.items() if k != "seconds"} for s in steps]


def _assert_same_output(local: Path, ray_out: Path) -> None:
    """Records, shard hashes, per-step stats (minus timings) and traces agree."""
    assert _variant_dirs(local) == _variant_dirs(ray_out)
    for d in _variant_dirs(local):
        a = json.loads((local / d / "manifest.json").read_text())
        b = json.loads((ray_out / d / "manifest.json").read_text())
        assert (a["engine"], b["engine"]) == ("local", "ray")
        assert "ray" not in a["versions"] and b["versions"]["ray"]
        assert [s["sha256"] for s in a["output"]["shards"]] == [s["sha256"] for s in b["output"]["shards"]], d
        assert _without_seconds(a["steps"]) == _without_seconds(b["steps"]), d
        assert (local / d / "trace.jsonl").read_text() == (ray_out / d / "trace.jsonl").read_text(), d
        ra = datasets.load_from_disk(str(local / d))
        rb = datasets.load_from_disk(str(ray_out / d))
        assert rb.num_rows == b["output"]["rows"] > 0
        assert ra["id"] == rb["id"] and ra["messages"] == rb["messages"] and ra["meta"] == rb["meta"], d


def _ray_descendants_of_me() -> list:
    import psutil

    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            text = " ".join(p.cmdline()) + " " + p.name()
        except psutil.Error:
            continue
        if any(w in text for w in ("raylet", "gcs_server", "default_worker", "ray::", "/ray/")):
            out.append(p)
    return out


def _wait_gone(procs: list, timeout: float = 15.0) -> list:
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return alive


# -- no ray installed -------------------------------------------------------------------
def test_engine_ray_without_ray_installed_exits_2_with_install_hint(tmp_path, cli, monkeypatch):
    from safetune_data.errors import MissingExtraError
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingExtraError) as info:
        run_recipe(load_recipe(FACTORIAL), tmp_path / "lib", engine="ray")
    assert info.value.hint == "pip install 'safetune-data[ray]'"
    code, _, err = cli("run", FACTORIAL, "--engine", "ray", "--out", tmp_path / "o")
    assert code == 2
    assert "optional package 'ray'" in err and "pip install 'safetune-data" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "lib").exists()


def test_recipe_engine_key_is_honoured(tmp_path, monkeypatch):
    from safetune_data.errors import MissingExtraError
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError):
        run_recipe(load_recipe(FACTORIAL, overrides=["engine=ray"]), tmp_path / "o")
    with pytest.raises(MissingExtraError):  # an address alone means the Ray engine
        run_recipe(load_recipe(FACTORIAL), tmp_path / "o", ray_address="127.0.0.1:1")
    assert not (tmp_path / "o").exists()


def test_ray_address_with_local_engine_exits_2(tmp_path, cli):
    code, _, err = cli("run", FACTORIAL, "--engine", "local", "--ray-address", "127.0.0.1:1", "--out", tmp_path / "o")
    assert code == 2 and "--ray-address needs --engine ray" in err


def test_unknown_engine_exits_2_naming_the_choices(tmp_path, cli):
    code, _, err = cli("run", FACTORIAL, "--engine", "spark", "--out", tmp_path / "o")
    assert code == 2 and "spark" in err and "local, ray" in err
    assert not (tmp_path / "o").exists()


def test_runs_split_batches_into_consecutive_rows_cut_at_local_batch_boundaries():
    from safetune_data.engines.ray_engine import _runs

    assert _runs([0, 1, 2], 256) == [(0, 3)]
    assert _runs([5, 6, 0, 1, 9], 256) == [(0, 2), (2, 2), (4, 1)]
    assert _runs(list(range(250, 600)), 256) == [(0, 6), (6, 256), (262, 88)]
    assert _runs([], 256) == []


# -- Ray on this machine ----------------------------------------------------------------
@pytest.mark.ray
@pytest.mark.slow
def test_factorial_on_alpaca_ray_equals_local(alpaca_path, tmp_path, cli):
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    common = [FACTORIAL, "--set", f"input.path={alpaca_path}", "--variants", TWO_VARIANTS, "--set", "output.card=false"]
    code, _, err = cli("run", *common, "--out", tmp_path / "local")
    assert code == 0, err
    code, _, err = cli("run", *common, "--engine", "ray", "--num-proc", "2", "--out", tmp_path / "ray")
    assert code == 0, err
    assert len(_variant_dirs(tmp_path / "ray")) == 2
    _assert_same_output(tmp_path / "local", tmp_path / "ray")
    # the Ray instance the run started on this machine is gone with it
    assert _wait_gone(_ray_descendants_of_me()) == []


# -- a real two-node cluster ------------------------------------------------------------
class LocalCluster:
    """A Ray head and one worker node, each a `ray start --block` process in its own session."""

    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="st-ray-")  # short: Ray's socket paths live under it
        self.port = self._free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, object] = {}
        self.seen: dict[int, object] = {}  # every process of ours ever observed, by pid
        self.worker_node_id: str | None = None
        self.head_node_id: str | None = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _start(self, name: str, args: list[str]) -> None:
        ray_bin = str(Path(sys.executable).with_name("ray"))
        log = self.logs[name] = open(Path(self.temp) / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.procs[name] = subprocess.Popen(
            [ray_bin, "start", "--block", "--num-cpus=1", "--object-store-memory=200000000", "--disable-usage-stats", *args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **FAST_HEALTH},
        )

    def start(self, timeout: float = 90.0) -> None:
        import ray

        self._start("head", ["--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                             "--include-dashboard=false", f"--temp-dir={self.temp}"])
        self._wait_for_nodes(1, timeout)
        self._start("worker", [f"--address={self.address}", "--node-ip-address=127.0.0.1"])
        nodes = self._wait_for_nodes(2, timeout)
        for n in nodes:
            if "node:__internal_head__" in n["Resources"]:
                self.head_node_id = n["NodeID"]
            else:
                self.worker_node_id = n["NodeID"]
        assert self.head_node_id and self.worker_node_id
        assert not ray.is_initialized()
        self.observe()

    def _wait_for_nodes(self, count: int, timeout: float) -> list[dict]:
        """Connect briefly as a driver until `count` nodes are alive, then disconnect."""
        import ray

        deadline = time.monotonic() + timeout
        while True:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"ray {name} exited: {(Path(self.temp) / f'{name}.log').read_text()[-2000:]}")
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
                try:
                    while time.monotonic() < deadline:
                        alive = [n for n in ray.nodes() if n["Alive"]]
                        if len(alive) >= count:
                            return alive
                        time.sleep(0.5)
                finally:
                    ray.shutdown()
            except ConnectionError:
                time.sleep(1)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} Ray node(s) not up after {timeout}s")

    def observe(self) -> None:
        """Remember every live process of ours: launched trees and anything naming our temp dir."""
        import psutil

        for p in self.procs.values():
            try:
                root = psutil.Process(p.pid)
                for q in [root, *root.children(recursive=True)]:
                    self.seen[q.pid] = q
            except psutil.NoSuchProcess:
                pass
        for q in psutil.process_iter(["cmdline"]):
            if any(self.temp in c for c in (q.info["cmdline"] or [])):
                self.seen[q.pid] = q

    def _kill(self, procs: list) -> None:
        import psutil

        for q in procs:
            try:
                q.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=10)

    def kill_worker_node(self) -> None:
        """SIGKILL the worker node: its `ray start`, raylet, agents and worker processes."""
        import psutil

        root = psutil.Process(self.procs["worker"].pid)
        tree = [root, *root.children(recursive=True)]
        self.seen.update({q.pid: q for q in tree})
        self._kill(tree)
        try:
            os.killpg(self.procs["worker"].pid, signal.SIGKILL)  # its own session: only ours
        except ProcessLookupError:
            pass
        self.procs["worker"].wait(timeout=10)

    def leftovers(self) -> list:
        import psutil

        self.observe()
        return [q for q in self.seen.values() if q.is_running() and q.status() != psutil.STATUS_ZOMBIE]

    def stop(self) -> None:
        import shutil

        self.observe()
        self._kill(list(self.seen.values()))
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for log in self.logs.values():
            log.close()
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    with pytest.MonkeyPatch.context() as mp:
        # `ray start` clusters use token authentication; a driver given an explicit address
        # joins with the token in ~/.ray/auth_token only when told to (Ray's policy).
        mp.setenv("RAY_AUTH_MODE", "token")
        ray = pytest.importorskip("ray")
        pytest.importorskip("psutil")
        from ray._raylet import Config

        Config.initialize("")  # re-read the mode if ray was imported before (as Ray itself does)
        c = LocalCluster()
        try:
            c.start()
            yield c
        finally:
            import ray

            if ray.is_initialized():
                ray.shutdown()
            c.stop()


BARRIER_RECIPE = """
input: {path: %s}
seed: 3
output: {trace: 4, card: false}
variants:
  # a dataset step between record steps: record segment -> driver barrier -> record segment
  barrier:
    - structure.markdown: {style: numbered}
    - dedup: {method: exact, scope: user}
    - identity.inject: {rate: 0.5, name: Aria, developer: Acme AI}
    - sample: {fraction: 0.8}
    - roleplay.add: {where: user, assign: random, rate: 0.5}
  plain:
    - structure.plain: {}
    - identity.strip: {}
"""


@pytest.mark.ray
@pytest.mark.slow
def test_cluster_run_with_a_dataset_step_equals_local(cluster, alpaca_path, tmp_path, cli):
    recipe = tmp_path / "barrier.yaml"
    recipe.write_text(BARRIER_RECIPE % alpaca_path)
    code, _, err = cli("run", recipe, "--out", tmp_path / "local")
    assert code == 0, err
    code, _, err = cli("run", recipe, "--ray-address", cluster.address, "--out", tmp_path / "ray")
    assert code == 0, err
    _assert_same_output(tmp_path / "local", tmp_path / "ray")
    steps = json.loads((tmp_path / "ray" / "barrier" / "manifest.json").read_text())["steps"]
    assert [s["op"] for s in steps][1] == "dedup" and steps[3]["out"] < steps[3]["seen"]  # sample really sampled
    cluster.observe()


# A transform that takes its time and leaves start/done marks per (node, block), so that the
# test can kill the worker node while one of its tasks is surely running.
class _Slow(Transform):
    name = "test.slow"
    params_schema: ClassVar[dict] = {
        "type": "object",
        "properties": {"seconds": {"type": "number", "default": 0.0}, "marks": {"type": ["string", "null"], "default": None}},
        "additionalProperties": False,
    }

    def apply_batch(self, records):
        mark = None
        if self.params["marks"]:
            import ray

            mark = Path(self.params["marks"]) / f"{ray.get_runtime_context().get_node_id()}-{records[0]['id']}"
            mark.with_suffix(".start").touch()
        time.sleep(self.params["seconds"])
        if mark is not None:
            mark.with_suffix(".done").touch()
        return [Outcome.unchanged(r, "slept") for r in records]


def _factorial_steps(**slow):
    from safetune_data.recipe import load_recipe

    rec = load_recipe(FACTORIAL, select=["structure=markdown,identity=inject,roleplay=add"])
    return rec.variants[0].steps[:2] + [_Slow(**slow)] + rec.variants[0].steps[2:]


def _collect(pipe, table) -> pa.Table:
    return pa.concat_tables(list(pipe.iter_tables(table)))


@pytest.mark.ray
@pytest.mark.slow
def test_killing_the_worker_node_mid_run_loses_and_duplicates_nothing(cluster, alpaca_path, tmp_path):
    import threading

    import ray
    from ray import cloudpickle

    from safetune_data.engines.ray_engine import RayPipeline, ray_session
    from safetune_data.io.api import read
    from safetune_data.pipeline import Pipeline

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    table = read(str(alpaca_path)).data.table
    local = Pipeline(_factorial_steps(), seed=0, trace=3)
    expected = _collect(local, table)
    marks = tmp_path / "marks"
    marks.mkdir()
    worker = cluster.worker_node_id
    killed: list[set[str]] = []
    stop = threading.Event()

    def kill_when_worker_node_is_busy() -> None:
        while not stop.is_set():
            running = {p.stem for p in marks.glob(f"{worker}-*.start")} - {p.stem for p in marks.glob(f"{worker}-*.done")}
            if running:
                cluster.kill_worker_node()
                killed.append(running)
                return
            time.sleep(0.01)

    with ray_session(cluster.address):
        calm = RayPipeline(_factorial_steps(seconds=0.1), seed=0, trace=3, block_rows=256)  # 4 blocks
        undisturbed = _collect(calm, table)
        assert set(calm.node_blocks) == {cluster.head_node_id, worker}  # both nodes did work

        watcher = threading.Thread(target=kill_when_worker_node_is_busy, daemon=True)
        watcher.start()
        # 2 blocks of 512 rows, 2 envelopes each
        hit = RayPipeline(_factorial_steps(seconds=0.4, marks=str(marks)), seed=0, trace=3, block_rows=512)
        try:
            disturbed = _collect(hit, table)
        finally:
            stop.set()
            watcher.join(timeout=30)
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]

    # the node died with a task of ours running on it, and that block was re-run on the head
    assert killed and worker not in alive and cluster.procs["worker"].poll() is not None
    for stem in killed[0]:
        assert not (marks / f"{stem}.done").exists()
        assert (marks / f"{cluster.head_node_id}{stem[len(worker):]}.done").exists()
    # nothing lost, nothing doubled: same rows, stats and trace as undisturbed and local runs
    assert disturbed.num_rows == undisturbed.num_rows == expected.num_rows == table.num_rows
    assert disturbed.equals(undisturbed) and disturbed.equals(expected)
    assert len(set(disturbed.column("id").to_pylist())) == table.num_rows
    assert sum(hit.node_blocks.values()) == sum(calm.node_blocks.values()) == 4  # one envelope per 256 rows
    for a, b in ((hit, calm), (hit, local)):
        for sa, sb in zip(a.stats, b.stats):
            assert sa.as_dict() == sb.as_dict()
        assert a.trace.entries() == b.trace.entries()


class _Fails(Transform):
    name = "test.fails"

    def apply(self, record, rng):
        from safetune_data.errors import InputError

        raise InputError("cannot rewrite this row", row=7, field="messages")


@pytest.mark.ray
def test_a_transform_error_in_a_worker_reaches_the_caller_as_itself(cluster, alpaca_path):
    from ray import cloudpickle

    from safetune_data.engines.ray_engine import RayPipeline, ray_session
    from safetune_data.errors import InputError
    from safetune_data.io.api import read

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    table = read(str(alpaca_path)).data.table.slice(0, 50)
    with ray_session(cluster.address), pytest.raises(InputError) as info:
        _collect(RayPipeline([_Fails()], seed=0), table)
    assert info.value.message == "cannot rewrite this row" and info.value.row == 7


@pytest.mark.ray
def test_no_ray_process_is_left_running(cluster):
    """Runs last in this module: stop the cluster and check every process it had is gone."""
    import ray

    assert not ray.is_initialized()
    cluster.stop()
    assert _wait_gone(cluster.leftovers()) == []
    assert _wait_gone(_ray_descendants_of_me()) == []
