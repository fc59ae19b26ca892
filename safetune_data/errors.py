"""Errors that the CLI turns into exit code 2 with a message naming where the problem is.

Everything a user can fix (bad input file, bad recipe, bad config) raises a subclass of
`SafetuneError`; anything else is an internal error (exit 1). Locations are kept as
separate fields so that messages stay uniform: ``file:line: field: message``.
"""
from __future__ import annotations


class SafetuneError(Exception):
    """A problem the user can fix. Exit code 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        row: int | None = None,
        field: str | None = None,
        step: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.row = row
        self.field = field
        self.step = step
        self.hint = hint
        super().__init__(self.__str__())

    def location(self) -> str:
        parts = [str(self.file) if self.file else "",
                 *(f"{name} {value}" for name, value in (("line", self.line), ("row", self.row), ("step", self.step))
                   if value is not None),
                 f"field '{self.field}'" if self.field else ""]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class InputError(SafetuneError):
    """Bad input data: malformed file, missing field, unknown format."""


class ConfigError(SafetuneError):
    """Bad recipe, harness config or CLI usage."""


class ParamError(ConfigError):
    """A transform parameter is unknown or ill-typed. `field` names the parameter."""


class MissingExtraError(ConfigError):
    """An optional dependency is needed for this command."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional package '{package}'",
            hint=f"pip install 'safetune-data[{extra}]'",
        )


def require_extra(extra: str, *packages: str) -> None:
    """Fail with the install hint before a command starts work, not half-way through it."""
    for package in packages:
        try:
            __import__(package)
        except ModuleNotFoundError as exc:
            raise MissingExtraError(package, extra) from exc


class ConfigErrors(ConfigError):
    """Several problems found in one pass over a recipe or config, reported together so that
    a user fixes them all at once instead of one per run. `errors` keeps each one's location."""

    def __init__(self, errors: list[SafetuneError], *, file: str | None = None) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} problems", file=file)

    def __str__(self) -> str:
        head = f"{self.file}: " if self.file else ""
        return head + f"{len(self.errors)} problems:\n" + "\n".join("  - " + str(e).replace("\n", "\n  ") for e in self.errors)


def raise_collected(errors: list[SafetuneError], *, file: str | None = None) -> None:
    """Raise nothing, the one error, or all of them as `ConfigErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors, file=file)
