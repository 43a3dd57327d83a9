"""The ``rathaus`` command: its groups and commands come from the capability registry (rathaus.core.capability).

Errors end the command with one readable line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys

import typer
from pydantic import ValidationError
from typer.exceptions import TyperException

from rathaus.config_check import settings_problems
from rathaus.core import capability
from rathaus.core.errors import RathausError
from rathaus.core.files import is_storage_error, storage_error


def build_app() -> typer.Typer:
    """The command tree from the capability registry: every capability's groups and commands, in its order."""
    root = typer.Typer(
        name="rathaus",
        help="rathaus – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for cities.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    groups: dict[str, typer.Typer] = {}
    for cap in capability.capabilities():
        for command in cap.commands:
            target = capability.load(command.target)
            *parent, name = command.name.split()
            if parent:
                group = groups.get(parent[0])
                if group is None:
                    raise RathausError(f"capability {cap.name!r}: command {command.name!r} needs the group "
                                       f"{parent[0]!r}, which no capability declares before it")
                group.command(name)(target)
            elif isinstance(target, typer.Typer):
                root.add_typer(target, name=name)
                groups[name] = target
            else:
                root.command(name)(target)
    return root


EXIT_USAGE = 2
EXIT_ERROR = 1


def _fail(message: str, code: int) -> int:
    first, *rest = message.strip().splitlines() or ["error"]
    typer.echo(f"rathaus: {first}", err=True)
    for line in rest:  # multi-problem reports (config check) keep one line per problem
        typer.echo(f"rathaus: {line}", err=True)
    return code


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends the command like Ctrl+C would, so the embedded database is released cleanly.

    (uvicorn re-raises SIGTERM after its graceful shutdown; without this handler the process would
    die before `finally` blocks and atexit handlers ran, leaving the embedded PostgreSQL running.)
    """
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        command = typer.main.get_command(build_app())
        result = command.main(args=argv, prog_name="rathaus", standalone_mode=False)
    except RathausError as exc:
        return _fail(exc.detail, EXIT_ERROR)
    except OSError as exc:
        if not is_storage_error(exc):
            raise
        return _fail(storage_error(exc).detail, EXIT_ERROR)  # disk full, read-only: one line, not a traceback
    except ValidationError as exc:
        return _fail("\n".join(settings_problems(exc)), EXIT_ERROR)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return _fail("aborted", 130)
    except TyperException as exc:  # usage errors of Typer's bundled click
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            return 0
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return _fail(f"{message}{hint}", getattr(exc, "exit_code", EXIT_USAGE))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
