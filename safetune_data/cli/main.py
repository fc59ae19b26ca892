"""Entry point of the `safetune` CLI.

Every command module exposes `register(app)`. Errors the user can fix
(`SafetuneError`) print one clear message and exit 2; anything else exits 1. Ctrl-C exits
130 with one line saying which command was interrupted and what that left on disk.
"""
from __future__ import annotations

import sys

import typer
import typer.core

from ..errors import SafetuneError
from . import harness_cmds, io_cmds, judge_cmd, plugins_cmd, profile_cmds, risk_cmd, rm_cmds, run_cmd
from .console import err_console


class Interrupted(Exception):
    """Ctrl-C inside a command (click would turn the KeyboardInterrupt into a silent exit 130)."""


class _Group(typer.core.TyperGroup):
    def invoke(self, ctx):  # every command, nested ones too, runs inside the root group's invoke
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted() from exc


app = typer.Typer(
    cls=_Group,
    name="safetune",
    help="Safety-aware instruction data: read, rewrite along the three safety factors "
    "(answer structure, identity calibration, role-play), write Arrow shards, profile, "
    "fine-tune and evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Order is the order in `safetune --help`; each module adds its commands with `register(app)`.
for _module in (io_cmds, run_cmd, profile_cmds, judge_cmd, harness_cmds, rm_cmds, risk_cmd, plugins_cmd):
    _module.register(app)


# Commands that write in place rather than into a temporary renamed when complete.
_PARTIAL = {
    "harness run": "rows finished so far are kept in {out}; rerun the same command to resume",
    "risk": "nothing was written to {out}; the scores computed so far are cached, so the same command resumes",
}
_OUT_OPTIONS = ("--out", "-o", "--json", "--markdown", "--plots")


def interrupted_message(argv: list[str]) -> str:
    """One line for Ctrl-C: the command and what it left (outputs appear only when complete)."""
    words = [a for a in argv[:2] if not a.startswith("-")]
    words = words[:2] if words[:1] in (["rm"], ["harness"]) else words[:1]
    command = " ".join(words)
    outs: list[str] = []
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name in _OUT_OPTIONS and (eq or i + 1 < len(argv)):
            outs.append(value if eq else argv[i + 1])
    if command in ("harness tiny", "rm tiny") and len(argv) > 2:  # built aside, renamed when complete
        outs = [a for a in argv[2:] if not a.startswith("-")][:1]
    where = ", ".join(outs)
    if command in _PARTIAL:
        return f"interrupted: safetune {command}; " + _PARTIAL[command].format(out=where or "the config's output_dir")
    return f"interrupted: safetune {command}".rstrip() + "; nothing was written" + (f" to {where}" if where else "")


HELP_WIDTH = 120  # --help on a pipe: the same text whatever $COLUMNS says


def _pin_help_width() -> None:
    """typer draws --help in boxes as wide as the terminal (80 columns, or $COLUMNS, on a pipe);
    off a terminal, draw them HELP_WIDTH wide unless TERMINAL_WIDTH asks for a width."""
    import os

    from typer import rich_utils

    if not os.environ.get("TERMINAL_WIDTH"):
        isatty = getattr(sys.stdout, "isatty", None)
        rich_utils.MAX_WIDTH = None if isatty is not None and isatty() else HELP_WIDTH


def main() -> None:
    _pin_help_width()
    try:
        code = app(standalone_mode=False)  # a raised typer.Exit(n) comes back as n here
        if isinstance(code, int) and code:
            sys.exit(code)
    except SafetuneError as exc:
        from rich.markup import escape

        # escape: hints like pip install 'safetune-data[ray]' are not markup
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (Interrupted, KeyboardInterrupt):
        err_console.print(interrupted_message(sys.argv[1:]), highlight=False, markup=False, soft_wrap=True)
        sys.exit(130)
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
