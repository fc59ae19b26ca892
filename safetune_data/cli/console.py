"""Shared rich consoles and progress: output on stdout, messages and progress on stderr.

On a terminal, rich draws tables at the terminal's width and live progress bars. Anywhere
else (a pipe, a file, CI logs) output is whole lines that depend neither on the terminal
width nor on the length of paths: no wrapping, no truncation, no colour codes, and progress
is logged as one line per task start and end plus a line at most every
SAFETUNE_PROGRESS_INTERVAL seconds (default 15) while a task runs.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console, ConsoleDimensions
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column

LOG_WIDTH = 100_000  # "no wrapping": wider than any line a command prints
DEFAULT_INTERVAL = 15.0


class _Console(Console):
    """A Console that is as wide as its longest line when it does not write to a terminal
    (rich would otherwise wrap and cut at 80 columns, or at $COLUMNS)."""

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal:
            return ConsoleDimensions(LOG_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _Console()
err_console = _Console(stderr=True)


def progress_interval() -> float:
    """Seconds between progress lines in logs (env SAFETUNE_PROGRESS_INTERVAL, default 15)."""
    try:
        value = float(os.environ.get("SAFETUNE_PROGRESS_INTERVAL", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value > 0 else DEFAULT_INTERVAL


def progress(transient: bool = False) -> "BarProgress | LineProgress":
    """Progress on stderr: rich bars on a terminal, whole log lines elsewhere.

    Both have rich's `add_task(description, total=None)`, `advance(task, n)`,
    `update(task, ...)` and `stop_task(task)`, plus `finish(task)` (the task is done: its
    count is final). `add_task(..., unit="pairs")` names what is counted (default rows);
    `auto_finish=False` keeps a task running past its total until `finish` (work after the
    last row, such as writing a card, stays in its time)."""
    if err_console.is_terminal:
        return BarProgress(
            TextColumn("[bold]{task.description}", table_column=Column(overflow="fold")),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=transient,
        )
    return LineProgress(err_console, progress_interval())


@contextmanager
def counting(description: str, total: int | None = None, unit: str = "rows",
             transient: bool = False) -> Iterator[Callable[[int], None]]:
    """One counted task on its own progress display, as the `on_rows(n)` callback the library takes."""
    with progress(transient=transient) as bar:
        task = bar.add_task(description, total=total, unit=unit)
        yield lambda n: bar.advance(task, n)


def task_hook(bar: "BarProgress | LineProgress", verb: str) -> Callable[..., Callable[[int], None]]:
    """`start(name, total)` for library calls that report per item (a file, a model): a task
    on `bar` named after the item, and its `advance(n)` callback."""
    def start(name: str, total: int, unit: str = "rows") -> Callable[[int], None]:
        task = bar.add_task(f"{verb} {Path(name).name or name}", total=total, unit=unit)
        return lambda n: bar.advance(task, n)

    return start


class BarProgress(Progress):
    """rich's Progress with `finish(task)`."""

    def add_task(self, description: str, *args: Any, unit: str = "rows", auto_finish: bool = True, **kwargs: Any) -> TaskID:
        return super().add_task(description, *args, **kwargs)

    def finish(self, task: TaskID) -> None:
        t = self._tasks.get(task)
        if t is not None and not t.finished:
            self.update(task, total=t.completed)
        self.stop_task(task)


def format_seconds(s: float) -> str:
    """`4.2s`, `1m05s`, `2h03m`."""
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class _LineTask:
    def __init__(self, description: str, total: float | None, unit: str, auto_finish: bool) -> None:
        self.description = description
        self.auto_finish = auto_finish
        self.total = total
        self.unit = unit
        self.completed = 0.0
        self.start = time.monotonic()
        self.last_line = self.start
        self.done = False
        self.announced = False

    def rate(self, now: float) -> float:
        return self.completed / max(now - self.start, 1e-9)


class LineProgress:
    """Progress as whole lines on stderr, for pipes and logs: `DESC: started` (once the first
    rows are counted, or after a second), then at most one line every `interval` seconds
    (count, rate, ETA when the total is known) while the task runs, and `DESC: done, N rows
    in T`. A task is done when `finish`/`stop_task` is called, when its count reaches its
    total (unless added with auto_finish=False), or when the block ends without an error;
    after an error or Ctrl-C no task is reported done (so a command that fails at once prints
    only its error)."""

    def __init__(self, console: Console, interval: float = DEFAULT_INTERVAL) -> None:
        self.console = console
        self.interval = interval
        self._tasks: dict[int, _LineTask] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- context -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._tick, name="safetune-progress", daemon=True)
            self._thread.start()

    def stop(self, finish: bool = True) -> None:
        """Stop logging; tasks still running are reported done unless `finish` is False."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if finish:
            for task in list(self._tasks):
                self.finish(task)

    def __enter__(self) -> "LineProgress":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(finish=exc_type is None)  # after an error or Ctrl-C nothing is "done"

    def _tick(self) -> None:
        step = min(1.0, self.interval / 4)
        while not self._stop.wait(step):
            now = time.monotonic()
            with self._lock:
                running = [t for t in self._tasks.values() if not t.done]
                due = [t for t in running if now - t.last_line >= self.interval]
                for t in due:
                    t.last_line = now
            for t in running:
                if now - t.start >= min(1.0, self.interval):
                    self._announce(t)
            for t in due:
                self._log(self._status(t, now))

    # -- rich's Progress interface --------------------------------------------------------
    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, completed: float = 0,
                 visible: bool = True, unit: str = "rows", auto_finish: bool = True, **fields: Any) -> int:
        task = _LineTask(description, total, unit, auto_finish)
        task.completed = completed
        with self._lock:
            task_id = len(self._tasks)
            self._tasks[task_id] = task
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, *, total: float | None = None, completed: float | None = None,
               advance: float | None = None, description: str | None = None, **_: Any) -> None:
        t = self._tasks[task_id]
        with self._lock:
            if total is not None:
                t.total = total
            if completed is not None:
                t.completed = completed
            if advance is not None:
                t.completed += advance
            if description is not None:
                t.description = description
            reached = t.auto_finish and bool(t.total) and t.completed >= t.total
        if t.completed:
            self._announce(t)
        if reached:
            self.finish(task_id)

    def stop_task(self, task_id: int) -> None:
        self.finish(task_id)

    def finish(self, task_id: int) -> None:
        t = self._tasks[task_id]
        with self._lock:
            if t.done:
                return
            t.done = True
        self._announce(t)
        secs = time.monotonic() - t.start
        rate = f" ({_n(t.rate(time.monotonic()))} {t.unit}/s)" if t.completed and secs >= 1 else ""
        self._log(f"{t.description}: done, {_n(t.completed)} {t.unit} in {format_seconds(secs)}{rate}")

    # -- lines ---------------------------------------------------------------------------
    def _announce(self, t: _LineTask) -> None:
        with self._lock:
            if t.announced:
                return
            t.announced = True
        self._log(f"{t.description}: started" + (f" ({_n(t.total)} {t.unit})" if t.total else ""))

    def _status(self, t: _LineTask, now: float) -> str:
        elapsed = format_seconds(now - t.start)
        if t.total and t.completed >= t.total:  # counted out, still working (e.g. writing the card)
            return f"{t.description}: {_n(t.completed)}/{_n(t.total)} {t.unit} (100%), finishing, {elapsed} elapsed"
        rate = t.rate(now)
        count = f"/{_n(t.total)} {t.unit} ({100 * t.completed / t.total:.0f}%)" if t.total else f" {t.unit}"
        text = f"{t.description}: {_n(t.completed)}{count}, {_n(rate)} {t.unit}/s, {elapsed} elapsed"
        if t.total and rate > 0:
            text += f", ETA {format_seconds((t.total - t.completed) / rate)}"
        return text

    def _log(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _n(x: float | None) -> str:
    return "0" if not x else str(int(round(x)))
