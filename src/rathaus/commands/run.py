"""``rathaus up`` and ``rathaus serve``: start the platform.

Both run a job worker (rathaus.core.jobs) in the process: ``up`` always, ``serve`` when RATHAUS_WORKER_EMBEDDED
says so (default: with the embedded database). More workers: ``rathaus worker`` (rathaus.commands.jobs).

uvicorn runs with ``proxy_headers=False``: its own handling would believe X-Forwarded-For from 127.0.0.1 (or
``FORWARDED_ALLOW_IPS``) behind the operator's back; the app applies ``RATHAUS_TRUSTED_PROXIES`` itself
(rathaus.http.clients).
"""

from __future__ import annotations

from typing import Annotated

import typer

from rathaus.commands.common import console
from rathaus.commands.models import ensure_default_model
from rathaus.core import jobs
from rathaus.core.errors import ConfigError
from rathaus.core.settings import get_settings
from rathaus.runtime import Runtime

HostOpt = Annotated[str | None, typer.Option(help="Address to listen on (default from RATHAUS_HOST).")]
PortOpt = Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default from RATHAUS_PORT).")]


def _check_bind(host: str) -> None:
    settings = get_settings()
    if settings.auth_mode == "local" and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            f"local single-user mode serves this machine only; refusing to listen on {host}. "
            "Use RATHAUS_AUTH_MODE=oidc to serve others"
        )


def up(host: HostOpt = None, port: PortOpt = None) -> None:
    """Start everything on this machine: database, models, sample content, web UI."""
    import uvicorn

    from rathaus.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    _check_bind(host)
    ensure_default_model(settings)
    from rathaus.commands.common import cli_principal
    from rathaus.knowledge.samples import ensure_samples
    from rathaus.library.demo import ensure_samples as ensure_library_samples

    runtime = Runtime(settings)
    runtime.db.supervise()  # the embedded PostgreSQL is restarted when it dies
    worker = jobs.EmbeddedWorker(runtime)
    try:
        with console.status("Modelle werden geladen / loading models"):
            runtime.gateway.warm_up()
        with console.status("Beispielinhalte / sample content"):
            counts = ensure_samples(runtime, cli_principal(settings)).counts
        console.print(f"Beispielsammlung ki-roadmap: {counts['added'] + counts['updated'] + counts['unchanged']} "
                      "Dokumente (öffentliche Stadtratsunterlagen)")
        try:
            with console.status("Bibliothek / library samples"):
                library_done = ensure_library_samples(runtime)
        except Exception as exc:  # the rest of rathaus works without the library demo
            library_done = {"imported": False, "trained": None}
            console.print(f"Bibliotheksbeispiele nicht geladen / library samples not loaded: {type(exc).__name__}")
        if library_done["imported"] or library_done["trained"]:
            console.print("Beispielkatalog der Bibliothek / library sample catalogue: 40 Medien, Empfehlungsmodell "
                          "trainiert / recommendation model trained")
        try:
            from rathaus.inbox.samples import ensure_samples as ensure_inbox_samples

            with console.status("Posteingang / inbox samples"):
                inbox_done = ensure_inbox_samples(runtime, cli_principal(settings))
            console.print(f"Beispiel-Posteingang / sample inbox: {inbox_done['stored']} neue Nachrichten / new "
                          "messages (synthetisch / synthetic)")
        except Exception as exc:  # the rest of rathaus works without the inbox demo
            console.print(f"Posteingangsbeispiele nicht geladen / inbox samples not loaded: {type(exc).__name__}")
        try:
            from rathaus.checks.samples import ensure_samples as ensure_checks_samples

            with console.status("Antragsprüfung / application check samples"):
                checks_done = ensure_checks_samples(runtime, cli_principal(settings))
            console.print(f"Beispielanträge / sample applications: {len(checks_done['added'])} neu geprüft / newly "
                          "checked (synthetisch / synthetic)")
        except Exception as exc:  # the rest of rathaus works without the checks demo
            console.print(f"Beispielanträge nicht geladen / sample applications not loaded: {type(exc).__name__}")
        try:
            from rathaus.governance.register import load_samples as load_register_samples

            with console.status("KI-Register / AI register samples"):
                register_done = load_register_samples(runtime)
            console.print(f"KI-Register / AI register: {len(register_done)} neue Beispieleinträge / new sample "
                          "entries (/register)")
        except Exception as exc:  # the rest of rathaus works without the register samples
            console.print(f"KI-Register-Beispiele nicht geladen / register samples not loaded: {type(exc).__name__}")
        try:
            from rathaus.governance.portfolio.samples import ensure_samples as ensure_portfolio_samples

            portfolio_done = ensure_portfolio_samples(runtime)
            if portfolio_done["added"]:
                console.print(f"KI-Vorhaben / AI use cases: {portfolio_done['added']} Beispiele aus den "
                              "Stadtratsunterlagen / samples from the council records")
        except Exception as exc:  # the rest of rathaus works without the portfolio samples
            console.print(f"KI-Vorhaben nicht geladen / portfolio samples not loaded: {type(exc).__name__}")
        worker.start()
        url = f"http://{host}:{port}/"
        console.print(f"[bold]rathaus[/] läuft / is running: [link]{url}[/link]  (Strg+C / Ctrl+C beendet)")
        console.print(f"Assistent für Beschäftigte / employee assistant: [link]{url}chat[/link]")
        console.print(f"Posteingang / inbox: [link]{url}inbox[/link]")
        console.print(f"Antragsprüfung / application checks: [link]{url}pruefung[/link]")
        console.print(f"KI-Vorhaben / AI use cases: [link]{url}portfolio[/link]")
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        worker.stop()
        runtime.close()


def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API and web UI (stateless: run as many replicas as needed)."""
    import uvicorn

    from rathaus.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    _check_bind(host)
    embedded_worker = settings.worker_embedded if settings.worker_embedded is not None else settings.embedded_database
    runtime = Runtime(settings) if workers == 1 or embedded_worker else None
    worker = jobs.EmbeddedWorker(runtime) if runtime is not None and embedded_worker else None
    if runtime is not None:
        runtime.db.supervise()  # the embedded PostgreSQL is restarted when it dies (no-op for an external one)
    try:
        if worker is not None:
            worker.start()
        if workers == 1:
            assert runtime is not None
            runtime.gateway.warm_up()
            uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning", proxy_headers=False)
        else:  # the HTTP worker processes start their own runtimes; jobs run in this (the supervising) process
            uvicorn.run("rathaus.app:create_app", factory=True, host=host, port=port, workers=workers,
                        log_level="warning", proxy_headers=False)
    finally:
        if worker is not None:
            worker.stop()
        if runtime is not None:
            runtime.close()
