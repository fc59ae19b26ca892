"""Entry point of the `safetune` CLI.

Every command module in COMMAND_MODULES exposes `register(app)`. Errors the user can fix
(`SafetuneError`) print one clear message and exit 2; anything else exits 1.
"""
from __future__ import annotations

import importlib
import sys

import typer

from ..errors import SafetuneError
from .console import err_console

app = typer.Typer(
    name="safetune",
    help="Safety-aware instruction data: read, rewrite along the three safety factors "
    "(answer structure, identity calibration, role-play), write Arrow shards, profile, "
    "fine-tune and evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Order is the order in `safetune --help`.
COMMAND_MODULES = ("io_cmds", "run_cmd", "profile_cmds", "judge_cmd", "harness_cmds", "rm_cmds")


def _register_all() -> None:
    for mod in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{mod}":
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    try:
        code = app(standalone_mode=False)  # a raised typer.Exit(n) comes back as n here
        if isinstance(code, int) and code:
            sys.exit(code)
    except SafetuneError as exc:
        from rich.markup import escape

        # escape: hints like pip install 'safetune-data[ray]' are not markup
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except typer.Exit as exc:
        code = getattr(exc, "exit_code", exc.args[0] if exc.args else 0)
        sys.exit(code if isinstance(code, int) else 1)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):  # click usage errors
            exc.show()
            sys.exit(2 if exc.exit_code == 1 and "Usage" in type(exc).__name__ else exc.exit_code)
        err_console.print_exception()
        err_console.print("[bold red]internal error[/] (exit 1): please report it with the command you ran")
        sys.exit(1)


if __name__ == "__main__":
    main()
