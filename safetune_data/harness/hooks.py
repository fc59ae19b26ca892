"""Progress hooks: the harness reports through them instead of importing the CLI's console.

`message(text)` is a status line (rich markup allowed); `task(description, total, unit)` is
a context manager around one counted phase (a fine-tune, a generation) that yields
`advance(n)`. Without hooks a run is silent, as `run_recipe` is without its callbacks.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

Advance = Callable[[int], None]


@contextmanager
def _no_task(description: str, total: int | None, unit: str) -> Iterator[Advance]:
    yield lambda n: None


@dataclass(frozen=True)
class Hooks:
    message: Callable[[str], None] = lambda text: None
    task: Callable[[str, int | None, str], AbstractContextManager[Advance]] = _no_task


SILENT = Hooks()
