"""``rathaus report|budget|audit|apikey|config``: oversight and administration."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rathaus.commands.common import cli_principal, console, open_runtime
from rathaus.config_check import run_check
from rathaus.core import admin, audit, auth, budgets, metering
from rathaus.core.budgets import CITY_TZ
from rathaus.core.errors import BadRequest
from rathaus.core.files import atomic_write

report_app = typer.Typer(help="Berichte / reports.", no_args_is_help=True)
budget_app = typer.Typer(help="Budgets je Referat / department budgets.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit-Log (KI-VO Art. 12) / audit log.", no_args_is_help=True)
apikey_app = typer.Typer(help="API-Schlüssel für Fachverfahren / service account keys.", no_args_is_help=True)
config_app = typer.Typer(help="Konfiguration / configuration.", no_args_is_help=True)

BY_CHOICES = ("department", "model", "use-case", "data-class", "principal")


def _month(value: str | None) -> str:
    month = value or budgets.current_month()
    metering.month_bounds(month)  # validates
    return month


# --- report ----------------------------------------------------------------------------------------
@report_app.command("usage")
def report_usage(
    by: Annotated[str, typer.Option(help="department | model | use-case | data-class | principal")] = "department",
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month)")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="CSV file to write.")] = None,
) -> None:
    """Usage (requests, tokens, €, Wh, gCO2e, p95 latency) of a month, as a table and a CSV file."""
    if by not in BY_CHOICES:
        raise BadRequest(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    month = _month(month)
    with open_runtime() as rt, rt.db.session() as session:
        rows = metering.report(session, by, month, department)  # type: ignore[arg-type]
    table = Table(title=f"Nutzung / usage {month} by {by}")
    for col in (by, "requests", "errors", "tokens in", "tokens out", "€", "Wh", "gCO2e", "p95 ms"):
        table.add_column(col, justify="left" if col == by else "right")
    for r in rows:
        table.add_row(r.key, str(r.requests), str(r.errors), str(r.prompt_tokens), str(r.completion_tokens),
                      f"{r.cost_eur:.4f}", f"{r.energy_wh:.3f}", f"{r.gco2e:.3f}", f"{r.p95_latency_ms:.0f}")
    if rows:
        table.add_section()
        table.add_row("total", str(sum(r.requests for r in rows)), str(sum(r.errors for r in rows)),
                      str(sum(r.prompt_tokens for r in rows)), str(sum(r.completion_tokens for r in rows)),
                      f"{sum((r.cost_eur for r in rows), Decimal(0)):.4f}", f"{sum(r.energy_wh for r in rows):.3f}",
                      f"{sum(r.gco2e for r in rows):.3f}", "")
    console.print(table)
    path = csv_path or Path(f"usage-{month}-by-{by}.csv")
    atomic_write(path, metering.to_csv(rows, by))
    console.print(f"CSV: {path}")


# --- budget ----------------------------------------------------------------------------------------
def _decimal(value: str | None) -> Decimal | None:
    """The --eur text as an amount (German decimal comma allowed); the limits are checked by core.admin."""
    if value is None or value.lower() in ("none", "unlimited"):
        return None
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise BadRequest(f"--eur must be an amount like 250 or 99.50, not {value!r}") from None


@budget_app.command("set")
def budget_set(
    department: str,
    eur: Annotated[str | None, typer.Option(help="€ per month ('unlimited' for none).")] = None,
    tokens: Annotated[int | None, typer.Option(help="Tokens per month.")] = None,
) -> None:
    """Set a department's monthly limits."""
    amount = _decimal(eur)
    with open_runtime() as rt, rt.db.session() as session:
        admin.set_budget(session, cli_principal(rt.settings), department, amount, tokens,
                         audit_key=rt.gateway.audit_key)
    console.print(f"budget of {department}: {amount if amount is not None else 'no'} € and "
                  f"{tokens if tokens is not None else 'no'} token limit per month")


@budget_app.command("show")
def budget_show(department: Annotated[str | None, typer.Argument()] = None,
                month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None) -> None:
    """Limits and spending per department."""
    month = _month(month)
    with open_runtime() as rt, rt.db.session() as session:
        states = [budgets.status(session, department, month)] if department else budgets.all_statuses(session, month)
    table = Table(title=f"Budgets {month}")
    for col in ("department", "€ used", "€ limit", "tokens used", "token limit"):
        table.add_column(col)
    for s in states:
        table.add_row(s.department, f"{s.eur_used:.4f}", "–" if s.eur_limit is None else f"{s.eur_limit:.2f}",
                      str(s.tokens_used), "–" if s.tokens_limit is None else str(s.tokens_limit))
    console.print(table)


@budget_app.command("remove")
def budget_remove(department: str) -> None:
    """Remove a department's limits."""
    with open_runtime() as rt, rt.db.session() as session:
        admin.remove_budget(session, cli_principal(rt.settings), department, audit_key=rt.gateway.audit_key)
    console.print(f"limits of {department} removed")


# --- audit -----------------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain against the signed checkpoints; exit 1 naming every edited, deleted or inserted
    record."""
    with open_runtime() as rt, rt.db.session() as session:
        result = audit.verify_all(session, rt.gateway.audit)
    for warning in result.warnings:
        typer.echo(f"warning: audit: {warning}", err=True)
    if result.ok:
        console.print(f"[green]audit log intact[/]: {result.checked} records ({result.first_seq}..{result.last_seq}), "
                      f"{result.checkpoints} signed checkpoints")
        return
    for problem in result.problems:
        typer.echo(f"rathaus: audit: {problem}", err=True)
    typer.echo(f"rathaus: audit log TAMPERED: {len(result.problems)} problem(s) in {result.checked} records", err=True)
    raise typer.Exit(1)


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{option} must be a date like 2026-11-01, not {value!r}") from None


@audit_app.command("export")
def audit_export(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD), inclusive.")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: stdout).")] = None,
) -> None:
    """Export audit records as JSON Lines, with their hashes for independent checking."""
    lo, hi = _date(start, "--from"), _date(end, "--to")
    if hi < lo:
        raise BadRequest("--to lies before --from")
    t0 = dt.datetime.combine(lo, dt.time(), tzinfo=CITY_TZ)
    t1 = dt.datetime.combine(hi + dt.timedelta(days=1), dt.time(), tzinfo=CITY_TZ)
    count = 0
    with open_runtime() as rt, rt.db.session() as session:
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            for item in audit.export(session, t0, t1):
                out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
                count += 1
        finally:
            if output:
                out.close()
    if output:
        console.print(f"{count} records written to {output}")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the chain's head into the checkpoint file (the background job does this every minute)."""
    with open_runtime() as rt, rt.db.session() as session:
        outcome = audit.checkpoint(session, rt.gateway.audit)
    if isinstance(outcome, audit.VerifyResult):
        for problem in outcome.problems:
            typer.echo(f"rathaus: audit: {problem}", err=True)
        typer.echo("rathaus: audit log TAMPERED: no checkpoint signed", err=True)
        raise typer.Exit(1)
    if outcome is None:
        console.print("checkpoint up to date: the chain's head has not moved")
    else:
        console.print(f"checkpoint signed: record {outcome.seq} → {rt.gateway.audit.checkpoints}")


@audit_app.command("purge")
def audit_purge() -> None:
    """Delete records older than the retention period (RATHAUS_AUDIT_RETENTION_DAYS) and re-anchor the chain."""
    with open_runtime() as rt, rt.db.session() as session:
        deleted, cutoff = admin.purge_audit_log(session, cli_principal(rt.settings), rt.gateway.audit,
                                                rt.settings.audit_retention_days, audit_key=rt.gateway.audit_key)
    console.print(f"{deleted} records older than {cutoff:%Y-%m-%d} deleted")


# --- API keys --------------------------------------------------------------------------------------
@apikey_app.command("create")
def apikey_create(
    name: str,
    department: Annotated[str, typer.Option(help="Department the service account belongs to.")],
    role: Annotated[list[str] | None, typer.Option(help="Role (repeatable).")] = None,
) -> None:
    """Create a key for another city application; it is shown once."""
    with open_runtime() as rt, rt.db.session() as session:
        key = admin.create_api_key(session, cli_principal(rt.settings), name, department, role or [],
                                   audit_key=rt.gateway.audit_key)
    console.print(f"API key for {name} ({department}), shown once:")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List service accounts (never their secrets)."""
    with open_runtime() as rt, rt.db.session() as session:
        keys = auth.list_api_keys(session)
        table = Table(title="API keys")
        for col in ("name", "department", "roles", "prefix", "created", "last used", "state"):
            table.add_column(col)
        for k in keys:
            table.add_row(k.name, k.department, ", ".join(k.roles), k.prefix, f"{k.created_at:%Y-%m-%d}",
                          f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "–",
                          "revoked" if k.revoked_at else "active")
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(name: str) -> None:
    """Revoke a key at once."""
    with open_runtime() as rt, rt.db.session() as session:
        admin.revoke_api_key(session, cli_principal(rt.settings), name, audit_key=rt.gateway.audit_key)
    console.print(f"key {name} revoked")


# --- config ----------------------------------------------------------------------------------------
@config_app.command("check")
def config_check() -> None:
    """Validate settings and the models file; every problem is named in one line."""
    report = run_check()
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for problem in report.problems:
        typer.echo(f"rathaus: {problem}", err=True)
    if report.problems:
        raise typer.Exit(1)
    console.print("[green]configuration ok[/]")
