"""Temporary files and folders: named after the process that owns them, removed on every exit
path, and swept up at the next start when a killed process left them behind.

Every temporary the tool makes carries its owner's PID in its name:

    $TMPDIR/safetune-<kind>-<pid>-<random>/   scratch folders (read, run, pipe)
    OUT/../.<OUT name>.tmp-<pid>[-<random>]   an output being built beside its target
    OUT/../.<OUT name>.old-<pid>              the output it replaces, while swapping

Normal exits (success, an error, Ctrl-C) remove them in `finally` blocks, or at interpreter
exit for folders that must outlive a call (`keep_until_exit`, e.g. what `read()` returns is
memory-mapped from one). A SIGKILL or a power cut skips all of that, so the next process that
makes a temporary in the same place removes the ones whose owner no longer runs
(`os.kill(pid, 0)` raises ProcessLookupError) and logs one line saying so on the
`safetune_data` logger. Folders named without a PID (written by older versions) are left alone.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

log = logging.getLogger("safetune_data")

PREFIX = "safetune-"
_SCRATCH = re.compile(r"^safetune-[a-z]+-(\d+)-")

_lock = threading.Lock()
_swept: set[str] = set()
_kept: dict[str, int] = {}  # path -> owning pid (a forked child must not remove its parent's)


def pid_alive(pid: int) -> bool:
    """True unless no process with this PID exists (another user's process counts as alive)."""
    if pid <= 0:
        return True  # not a PID we wrote: never treat it as stale
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs as another user
        pass
    return True


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _report(removed: list[Path], where: Path) -> None:
    if removed:
        names = ", ".join(p.name for p in removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        log.warning("removed %d stale temporar%s left in %s by processes that no longer run: %s",
                    len(removed), "y" if len(removed) == 1 else "ies", where, names)


def root() -> Path:
    """The temporary directory ($TMPDIR, else the platform default)."""
    return Path(tempfile.gettempdir())


def sweep_scratch(directory: str | Path | None = None) -> list[Path]:
    """Remove `safetune-<kind>-<pid>-*` folders in `directory` (default: $TMPDIR) whose
    owner is gone; return what was removed."""
    return _sweep(Path(directory) if directory is not None else root(), _SCRATCH)


def sweep_siblings(target: str | Path) -> list[Path]:
    """Remove `.<name>.tmp-<pid>…` and `.<name>.old-<pid>` beside `target` whose owner is
    gone (a killed run's half-built output, or an atomic write's temporary file)."""
    target = Path(target)
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.(?:tmp|old)-(\d+)(?:-[A-Za-z0-9_]+)?$")
    return _sweep(target.parent, pattern)


def _sweep(where: Path, pattern: re.Pattern) -> list[Path]:
    """Remove the entries of `where` whose name matches `pattern` (group 1: the owner's PID)
    and whose owner no longer runs; log one line if any; return them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(where))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not pid_alive(int(m.group(1))) and _remove(Path(entry.path)):
            removed.append(Path(entry.path))
    _report(removed, where)
    return removed


def _swept_root() -> Path:
    """$TMPDIR, swept of stale scratch folders the first time per process."""
    where = root()
    with _lock:
        first = str(where) not in _swept
        _swept.add(str(where))
    if first:
        sweep_scratch(where)
    return where


def make_scratch(kind: str) -> Path:
    """A new `$TMPDIR/safetune-<kind>-<pid>-<random>` folder; the caller removes it (or
    hands it to `keep_until_exit`). Stale ones are swept the first time per process."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir=_swept_root()))


def scratch_object(kind: str) -> tempfile.TemporaryDirectory:
    """Like `make_scratch`, as a `tempfile.TemporaryDirectory` (removed by `.cleanup()`, when
    garbage-collected, or at exit) for an object that owns its scratch folder."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir=_swept_root())


@contextlib.contextmanager
def scratch(kind: str) -> Iterator[Path]:
    """A scratch folder removed when the block ends, however it ends."""
    path = make_scratch(kind)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def keep_until_exit(path: str | Path) -> Path:
    """Remove `path` when this process exits normally (or when `remove_kept()` is called)."""
    with _lock:
        _kept[str(path)] = os.getpid()
    return Path(path)


def remove_kept(within: str | Path | None = None) -> list[Path]:
    """Remove every folder handed to `keep_until_exit` by this process (run at exit), or
    only those inside `within`."""
    base = None if within is None else Path(within).resolve()
    with _lock:
        mine = [p for p, pid in _kept.items()
                if pid == os.getpid() and (base is None or base in Path(p).resolve().parents)]
        for p in mine:
            del _kept[p]
    for p in mine:
        shutil.rmtree(p, ignore_errors=True)
    return [Path(p) for p in mine]


def kept() -> list[Path]:
    """Folders this process will remove at exit."""
    with _lock:
        return [Path(p) for p, pid in _kept.items() if pid == os.getpid()]


atexit.register(remove_kept)
