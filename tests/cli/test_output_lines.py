"""Output off a terminal is whole lines: no wrapping at $COLUMNS, no cut variant names, no
colour codes; long work logs progress lines; Ctrl-C exits 130 with one line and writes nothing."""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FACTORIAL = REPO / "transforms" / "paper_factorial.yaml"
SAFETUNE = [str(Path(sys.executable).parent / "safetune")]  # the installed console script
PROGRESS_LINE = re.compile(r"^(reading input|variant \d+/\d+ \S+): (started|done, |\d+)")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, COLUMNS="40", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TERMINAL_WIDTH"):
        env.pop(key, None)
    env.update(extra)
    return env


def _safetune(*args, env, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([*SAFETUNE, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def long_dir(tmp_path, alpaca_path) -> Path:
    """A folder whose path alone is longer than 40 columns, holding the real alpaca demo."""
    d = tmp_path / ("a_rather_long_folder_name_" * 3) / "and_deeper_still"
    d.mkdir(parents=True)
    (d / "alpaca_en_demo.json").symlink_to(alpaca_path)
    return d


def _variant_names(select: str | None = None) -> list[str]:
    from safetune_data.recipe import load_recipe, split_variant_patterns

    rec = load_recipe(FACTORIAL, select=split_variant_patterns(select) if select else None)
    return [v.name for v in rec.variants]


def test_dry_run_and_errors_are_whole_lines_at_40_columns_with_long_paths(tmp_path, long_dir):
    env = _env(tmp_path)
    data, out = long_dir / "alpaca_en_demo.json", long_dir / "factorial"
    res = _safetune("run", FACTORIAL, "--dry-run", "--set", f"input.path={data}", "--out", out, env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    names = _variant_names()
    assert len(names) == 8
    for name in names:  # each full name on one table line, never cut or folded
        assert sum(f"│ {name} " in line for line in lines) == 1, name
    assert "…" not in res.stdout and "\x1b" not in res.stdout + res.stderr
    assert f"input: {data}; seed 0" in res.stdout
    assert not out.exists()

    bad = long_dir / "r.yaml"
    bad.write_text("input: {example: sharegpt-sample}\nsteps:\n  - roleplay.ad: {where: system}\n")
    res = _safetune("run", bad, "--out", out, env=env)
    assert res.returncode == 2
    first, hint = res.stderr.splitlines()
    assert first == f"error: {bad}, step 0: steps[0] (roleplay.ad): unknown transform 'roleplay.ad'"
    assert hint == "  hint: did you mean 'roleplay.add'?"
    assert not out.exists()


def test_run_on_a_pipe_logs_start_progress_and_done_lines_per_variant(tmp_path, long_dir):
    select = "structure=*,identity=none,roleplay=none"
    names = _variant_names(select)
    assert len(names) == 2
    out = long_dir / "run"
    env = _env(tmp_path, SAFETUNE_PROGRESS_INTERVAL="0.05")
    res = _safetune("run", FACTORIAL, "--set", f"input.path={long_dir / 'alpaca_en_demo.json'}", "--set", "output.card=false",
                    "--variants", select, "--out", out, env=env)
    assert res.returncode == 0, res.stderr
    err = res.stderr.splitlines()
    assert err and all(PROGRESS_LINE.match(line) for line in err), res.stderr
    assert err[0] == "reading input: started"
    assert [line for line in err if re.fullmatch(r"reading input: done, 999 rows in .*", line)]
    for k, name in enumerate(names, 1):
        head = f"variant {k}/2 {name}: "
        mine = [line[len(head):] for line in err if line.startswith(head)]
        assert mine[0] == "started (999 rows)" and re.fullmatch(r"done, \d+ rows in \d+\.\ds.*", mine[-1]), mine
    ticks = [line for line in err if "rows/s, " in line and " elapsed" in line]
    assert ticks, "no progress line within a variant"
    assert "\x1b" not in res.stdout + res.stderr
    table = res.stdout.splitlines()
    for name in names:
        assert any(f"│ {name} " in line and "│ 999 " in line for line in table), res.stdout
    assert res.stdout.splitlines()[-1] == f"wrote 2 variant(s) to {out} (index.json lists them)"

    res = _safetune("info", out, env=env)  # the run's table: full names on one line each
    assert res.returncode == 0, res.stderr
    for name in names:
        assert sum(f"│ {name} " in line for line in res.stdout.splitlines()) == 1


def test_ctrl_c_exits_130_with_one_line_and_leaves_nothing(tmp_path, alpaca_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out"
    env = _env(tmp_path, SAFETUNE_PROGRESS_INTERVAL="0.2", TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [*SAFETUNE, "run", str(FACTORIAL), "--set", f"input.path={alpaca_path}",
         "--num-proc", "2", "--out", str(out)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read_stderr() -> None:
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith("variant 1/8 ") and ": started" in line:
                started.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert started.wait(timeout=180), lines  # the first variant is under way
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does: the whole process group
        code = proc.wait(timeout=120)
        stdout = proc.stdout.read()
    finally:
        if proc.poll() is None:  # hung: fail rather than wait for ever
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=10)
    assert code == 130, lines
    assert lines[-1] == f"interrupted: safetune run; nothing was written to {out}"
    assert all(PROGRESS_LINE.match(line) for line in lines[:-1]), lines  # no traceback, no blank line
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch"]  # neither OUT nor .out.tmp-*
    assert list(scratch.iterdir()) == []


# -- in-process: the pieces ----------------------------------------------------------------
def test_line_progress_logs_start_ticks_and_done_and_nothing_done_after_an_error():
    from rich.console import Console

    from safetune_data.cli.console import LineProgress

    buf = io.StringIO()
    with LineProgress(Console(file=buf, width=40), interval=0.05) as bar:
        task = bar.add_task("variant 1/1 " + "x" * 60, total=10)
        bar.advance(task, 4)
        time.sleep(0.3)
        bar.advance(task, 6)  # reaching the total finishes it
    lines = buf.getvalue().splitlines()
    name = "variant 1/1 " + "x" * 60
    assert lines[0] == f"{name}: started (10 rows)"
    assert any(line.startswith(f"{name}: 4/10 rows (40%), ") and "ETA" in line for line in lines[1:-1])
    assert re.fullmatch(re.escape(name) + r": done, 10 rows in 0\.\ds", lines[-1])

    buf = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with LineProgress(Console(file=buf), interval=60) as bar:
            bar.add_task("converting", total=None, unit="pairs")
            raise KeyboardInterrupt
    assert buf.getvalue() == ""  # failed before its first rows: the error alone is the log


def test_consoles_off_a_terminal_never_wrap(monkeypatch, capsys):
    from safetune_data.cli.console import console, err_console

    monkeypatch.setenv("COLUMNS", "40")
    text = "word " * 100 + "/a/" + "b" * 300
    console.print(text)
    err_console.print(text)
    out, err = capsys.readouterr()
    assert out == err == text + "\n"


@pytest.mark.parametrize(
    "argv, line",
    [
        (["run", "r.yaml", "--out", "o"], "interrupted: safetune run; nothing was written to o"),
        (["run", "r.yaml"], "interrupted: safetune run; nothing was written"),
        (["rm", "eval", "-m", "x", "--out=a"], "interrupted: safetune rm eval; nothing was written to a"),
        (["profile", "a.json", "--json", "p.json"], "interrupted: safetune profile; nothing was written to p.json"),
        (["harness", "run", "c.yaml", "-o", "h"],
         "interrupted: safetune harness run; rows finished so far are kept in h; rerun the same command to resume"),
    ],
)
def test_interrupted_message_names_the_command_and_what_it_left(argv, line):
    from safetune_data.cli.main import interrupted_message

    assert interrupted_message(argv) == line


def test_a_pool_abandoned_with_work_pending_kills_its_workers_at_once():
    """Ctrl-C while workers still send results: the pool stops at once instead of waiting on a
    queue lock that a killed worker may hold (multiprocessing's terminate() can hang there)."""
    import multiprocessing as mp

    from safetune_data.pipeline import _pool

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with _pool(mp.get_context("fork"), 2) as pool:
            for k, _ in enumerate(pool.imap(_megabyte, range(2000), chunksize=1)):
                if k == 3:
                    raise KeyboardInterrupt
    assert time.monotonic() - t0 < 30
    assert mp.active_children() == []


def _megabyte(_: int) -> bytes:
    return b"x" * (1 << 20)
