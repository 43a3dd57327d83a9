"""``rathaus report climate|costs|equality|staff``: the oversight reports of a month as HTML (with charts) or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rathaus.commands.common import console, open_runtime
from rathaus.core import budgets, metering
from rathaus.core.errors import BadRequest
from rathaus.core.files import atomic_write

MonthOption = Annotated[str | None, typer.Option(help="YYYY-MM (default: this month)")]
FormatOption = Annotated[str, typer.Option("--format", help="html | csv")]
OutOption = Annotated[Path | None, typer.Option("--out", help="File to write (default: <kind>-<month>.<format>; "
                                                "'-' prints to the terminal).")]
DepartmentOption = Annotated[str | None, typer.Option(help="Only this department.")]


def _write(kind: str, month: str | None, fmt: str, out: Path | None, department: str | None,
           by: str = "department") -> None:
    from rathaus.governance.reports import build_report, render_csv, render_html

    if fmt not in ("html", "csv"):
        raise BadRequest(f"--format must be html or csv, not {fmt!r}")
    month = month or budgets.current_month()
    metering.month_bounds(month)  # a bad month is one line before the database starts
    if kind != "staff" and by != "department":
        raise BadRequest("--by is for the staff report only")
    with open_runtime() as rt, rt.db.session() as session:
        report = build_report(session, rt.settings, rt.catalog, kind, month, department, by=by)
    text = render_html(report) if fmt == "html" else render_csv(report)
    if out is not None and str(out) == "-":
        typer.echo(text, nl=False)
        return
    path = out or Path(f"{kind}-{report.month}.{fmt}")
    atomic_write(path, text)
    figures = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in report.summary.items())
    console.print(f"{report.title} {report.month}: {figures or 'keine Daten / no data'}", markup=False)
    console.print(f"{fmt.upper()}: {path}", markup=False)


def report_climate(month: MonthOption = None, fmt: FormatOption = "html", out: OutOption = None,
                   department: DepartmentOption = None) -> None:
    """Klima: Wh und gCO2e nach Referat, Anwendungsfall, Modell und Standort; Methode, Unsicherheit, Szenarien."""
    _write("climate", month, fmt, out, department)


def report_costs(month: MonthOption = None, fmt: FormatOption = "html", out: OutOption = None,
                 department: DepartmentOption = None) -> None:
    """Kosten und Nutzen je Anwendungsfall, Netto-Effekt mit allen Annahmen (Wirtschaftlichkeitsberechnung)."""
    _write("costs", month, fmt, out, department)


def report_equality(month: MonthOption = None, fmt: FormatOption = "html", out: OutOption = None) -> None:
    """Gleichstellung: Bias-Läufe, Fehlalarme des Inhaltsfilters, Ablehnungen, Antworten nach Sprache und Schrift."""
    _write("equality", month, fmt, out, None)


def report_staff(month: MonthOption = None, fmt: FormatOption = "html", out: OutOption = None,
                 department: DepartmentOption = None,
                 by: Annotated[str, typer.Option(help="department | use_case | department_use_case "
                                                 "(per person: refused)")] = "department") -> None:
    """Personalrat: Beschäftigtendaten, Speicherdauer, Rollen; Nutzung nur ab der Mindestgruppengröße."""
    _write("staff", month, fmt, out, department, by)
