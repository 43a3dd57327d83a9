"""The ``rathaus`` command: one sub-command group per capability.

Errors end the command with one readable line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys

import typer
from pydantic import ValidationError
from typer.exceptions import TyperException

from rathaus.commands import admin, db, governance, guard, jobs, knowledge, library, models, run, safety, traffic
from rathaus.config_check import settings_problems
from rathaus.core.errors import RathausError

app = typer.Typer(
    name="rathaus",
    help="rathaus – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for cities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("up")(run.up)
app.command("serve")(run.serve)
app.command("worker")(jobs.worker)
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(db.app, name="db")
app.add_typer(models.app, name="models")
app.add_typer(admin.report_app, name="report")
app.add_typer(admin.budget_app, name="budget")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.apikey_app, name="apikey")
app.add_typer(admin.config_app, name="config")
app.add_typer(knowledge.kb_app, name="kb")
app.add_typer(knowledge.assistants_app, name="assistants")
app.add_typer(knowledge.eval_app, name="eval")
knowledge.eval_app.command("guard")(guard.eval_guard)
app.add_typer(guard.guard_app, name="guard")
knowledge.eval_app.command("pii")(safety.eval_pii)
knowledge.eval_app.command("bias")(governance.eval_bias)
app.command("ask")(knowledge.ask)
app.add_typer(traffic.traffic_app, name="traffic")
app.add_typer(library.library_app, name="library")

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
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="rathaus", standalone_mode=False)
    except RathausError as exc:
        return _fail(exc.detail, EXIT_ERROR)
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
