"""No temporary data left behind: scratch folders and half-built outputs are removed on every
exit path, and ones a killed process left are swept by the next run in the same place."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from safetune_data.io import tempdirs


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    return p.pid


def _leftovers(*dirs: Path) -> list[str]:
    """Every safetune temporary in these folders: scratch folders and `.NAME.tmp-` / `.old-`."""
    found = []
    for d in dirs:
        if d.is_dir():
            found += [e.name for e in d.iterdir() if e.name.startswith("safetune-") or ".tmp-" in e.name or ".old-" in e.name]
    return sorted(found)


@pytest.fixture
def tmpdir_root(tmp_path, monkeypatch):
    """Point this process's temporary directory at a fresh folder."""
    root = tmp_path / "TMP"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def small_alpaca(alpaca_path, tmp_path):
    rows = json.loads(alpaca_path.read_text())[:40]
    path = tmp_path / "small.json"
    path.write_text(json.dumps(rows))
    return path


def test_sweep_removes_only_dead_owners_and_logs_one_line(tmp_path, caplog):
    dead = _dead_pid()
    stale = tmp_path / f"safetune-read-{dead}-abc"
    mine = tmp_path / f"safetune-run-{os.getpid()}-abc"
    legacy = tmp_path / "safetune-read-x54uo2e6"  # no PID: written by an older version, left alone
    other = tmp_path / "unrelated-dir"
    for d in (stale, mine, legacy, other):
        (d / "x").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="safetune_data"):
        removed = tempdirs.sweep_scratch(tmp_path)
    assert removed == [stale]
    assert not stale.exists() and mine.exists() and legacy.exists() and other.exists()
    assert len([r for r in caplog.records if r.name == "safetune_data"]) == 1


def test_sweep_siblings_removes_dead_tmp_and_old_of_that_target_only(tmp_path):
    dead = _dead_pid()
    out = tmp_path / "out"
    stale = [tmp_path / f".out.tmp-{dead}", tmp_path / f".out.old-{dead}", tmp_path / f".out.tmp-{dead}-1a2b"]
    for p in stale[:2]:
        p.mkdir()
    stale[2].write_text("partial")
    alive = tmp_path / f".out.tmp-{os.getpid()}"
    alive.mkdir()
    other = tmp_path / f".other.tmp-{dead}"
    other.mkdir()
    assert sorted(tempdirs.sweep_siblings(out)) == sorted(stale)
    assert alive.exists() and other.exists()


def test_read_keeps_its_folder_until_exit_cleanup(tmpdir_root, small_alpaca):
    import safetune_data

    ds = safetune_data.read(small_alpaca)
    assert ds.num_rows == 40
    held = [p for p in tempdirs.kept() if p.parent == tmpdir_root]
    assert len(held) == 1 and held[0].name.startswith(f"safetune-read-{os.getpid()}-") and held[0].is_dir()
    assert tempdirs.remove_kept(within=tmpdir_root) == held  # what atexit runs (for all folders)
    assert _leftovers(tmpdir_root) == []


def test_read_error_leaves_nothing(tmpdir_root, tmp_path):
    import safetune_data
    from safetune_data.errors import InputError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": \n')
    with pytest.raises(InputError):
        safetune_data.read(bad)
    assert _leftovers(tmpdir_root) == []


def test_profile_cli_read_folder_goes_with_exit_cleanup(cli, tmpdir_root, small_alpaca):
    code, _, _ = cli("profile", small_alpaca)
    assert code == 0
    assert _leftovers(tmpdir_root)  # held for the process's life (derived datasets read it)
    tempdirs.remove_kept(within=tmpdir_root)
    assert _leftovers(tmpdir_root) == []


def test_ctrl_c_during_run_leaves_no_temporaries(tmpdir_root, small_alpaca, tmp_path):
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"input:\n  path: {small_alpaca}\nsteps:\n  - structure.markdown: {{}}\n")

    def interrupt(n):
        raise KeyboardInterrupt

    out = tmp_path / "work" / "out"
    with pytest.raises(KeyboardInterrupt):
        run_recipe(load_recipe(recipe), out, on_rows=interrupt)
    assert not out.exists()
    assert _leftovers(tmpdir_root, out.parent) == []


def _safetune(*args):
    return [sys.executable, "-m", "safetune_data.cli.main", *map(str, args)]


def test_killed_run_and_read_leave_nothing_after_the_next_run(alpaca_path, tmp_path):
    """read() in a process that exits; `safetune run` SIGKILLed mid-run (its scratch folder and
    half-built output stay), then a normal run: TMPDIR and the output's parent end up clean."""
    tmp = tmp_path / "TMP"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    rows = json.loads(alpaca_path.read_text())
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps(r) + "\n" for _ in range(8) for r in rows))
    small = tmp_path / "small.json"
    small.write_text(json.dumps(rows[:30]))

    # read() in a process of its own: the folder it keeps goes when the process exits
    done = subprocess.run([sys.executable, "-c", f"import safetune_data; print(len(safetune_data.read({str(small)!r})))"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "30", done.stderr
    assert _leftovers(tmp) == []

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"input:\n  path: {big}\nsteps:\n  - structure.markdown: {{}}\n  - identity.inject: {{}}\n")
    work = tmp_path / "work"
    out = work / "out"
    proc = subprocess.Popen(_safetune("run", recipe, "--out", out), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    building = work / f".out.tmp-{proc.pid}"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if building.is_dir() and any(p.name.startswith(f"safetune-run-{proc.pid}-") for p in tmp.iterdir()):
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert building.is_dir() and not out.exists()
    assert _leftovers(tmp)  # what the killed run left behind

    done = subprocess.run(_safetune("run", recipe, "--out", out, "--set", f"input.path={small}"), env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "index.json").is_file()
    assert _leftovers(tmp, work) == []
    assert "stale" in done.stderr  # the sweep says what it removed
