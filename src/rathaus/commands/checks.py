"""``rathaus checks``: the application types, check a packet of files, evaluate on generated packets, list the
shipped sample packets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rathaus.commands.common import cli_principal, console, open_runtime, progress_bar
from rathaus.core.errors import BadRequest

checks_app = typer.Typer(help="Antragsprüfung / application checks: types, run, eval, samples.",
                         no_args_is_help=True)
STATUS_DE = {"missing": "fehlt", "invalid": "fehlerhaft", "unsure": "unsicher", "satisfied": "erfüllt"}
STATUS_ORDER = ("missing", "invalid", "unsure", "satisfied")


def _types() -> dict[str, Any]:
    from rathaus.checks.definitions import load_types
    from rathaus.checks.settings import ChecksSettings
    from rathaus.core.settings import get_settings

    return load_types(get_settings().section(ChecksSettings).checks_types_dir)


@checks_app.command("types")
def types_command(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """The application types (shipped and RATHAUS_CHECKS_TYPES_DIR)."""
    from rathaus.checks.service import type_summary

    known = _types()
    if as_json:
        console.print_json(json.dumps([type_summary(t) for t in known.values()]))
        return
    table = Table("Id", "Antragsart / type", "Abteilung / department", "Anhang III", "Felder / fields",
                  "Nachweise / documents", "Regeln / rules")
    for t in known.values():
        table.add_row(t.id, t.title.de, t.department, "ja / yes" if t.annex_iii else "–", str(len(t.fields)),
                      str(len(t.documents)), str(len(t.rules)))
    console.print(table)


def _print_result(data: dict[str, Any]) -> None:
    if data.get("annex_iii"):
        console.print("Hinweis: Hochrisiko-Bereich nach EU-KI-Verordnung Anhang III – das System weist nur hin, die "
                      "Entscheidung trifft die Sachbearbeitung.", markup=False, style="bold")
    table = Table("Stand / status", "Anforderung / requirement", "Hinweis / finding", "Beleg / evidence")
    items = sorted(data["items"], key=lambda i: STATUS_ORDER.index(i["status"]) if i["status"] in STATUS_ORDER else 9)
    for item in items:
        evidence = "; ".join(f"{e['file']}" + (f" S. {e['page']}" if e.get("page") else "")
                             + (f": „{e['snippet'][:60]}“" if e.get("snippet") else "")
                             for e in item.get("evidence") or [])
        table.add_row(STATUS_DE.get(item["status"], item["status"]), item["label"], item.get("message") or "",
                      evidence)
    console.print(table)
    for problem in data.get("problems") or []:
        page = f", Seite {problem['page']}" if problem.get("page") else ""
        console.print(f"Datei / file {problem['file']}{page}: {problem['message']}", markup=False)
    counts = data.get("counts") or {}
    console.print(f"{counts.get('satisfied', 0)} erfüllt, {counts.get('missing', 0)} fehlt, "
                  f"{counts.get('invalid', 0)} fehlerhaft, {counts.get('unsure', 0)} unsicher – "
                  + ("vollständig (Vorschlag) / complete (suggestion)" if data.get("complete")
                     else "unvollständig (Vorschlag) / incomplete (suggestion)"), markup=False)


@checks_app.command("run")
def run_command(
    files: Annotated[list[Path], typer.Argument(help="The packet: form (PDF) and documents (PDF, JPEG, PNG, TIFF, "
                                                     "HEIC), form data as JSON/XML.", show_default=False)],
    type_id: Annotated[str | None, typer.Option("--type", help="Application type id (rathaus checks types); "
                                                              "without it the form data must name it.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Submission date YYYY-MM-DD (default today).")] = None,
    form: Annotated[Path | None, typer.Option(help="Form data of an online form (JSON or XML).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a packet of files against an application type and print the checklist (nothing is stored; the run
    is audited)."""
    from rathaus.checks import results, service
    from rathaus.checks.definitions import TypeDefinitionError
    from rathaus.checks.errors import TypeRequired, UnknownType
    from rathaus.checks.settings import ChecksSettings
    from rathaus.checks.uploads import Upload, check_uploads, parse_form_data
    from rathaus.core import audit

    try:
        submitted = dt.date.fromisoformat(date) if date else dt.date.today()
    except ValueError:
        raise BadRequest(f"--date {date!r}: erwartet JJJJ-MM-TT / expected YYYY-MM-DD") from None
    uploads = []
    for path in files:
        try:
            uploads.append(Upload(path.name, path.read_bytes()))
        except OSError as exc:
            raise BadRequest(f"{path}: nicht lesbar / cannot read: {exc.strerror}") from None
    declared: str | None = None
    fields: dict[str, Any] = {}
    if form is not None:
        try:
            declared, fields = parse_form_data(form.read_bytes())
        except OSError as exc:
            raise BadRequest(f"{form}: nicht lesbar / cannot read: {exc.strerror}") from None
    try:
        known = _types()
    except TypeDefinitionError as exc:
        raise BadRequest(str(exc)) from None
    chosen = type_id or declared
    if not chosen:
        raise TypeRequired("Antragsart fehlt: --type angeben / give --type (rathaus checks types)")
    if chosen not in known:
        raise UnknownType(f"unbekannte Antragsart / unknown application type {chosen!r}; bekannt / known: "
                          f"{', '.join(sorted(known))}")
    app_type = known[chosen]
    with open_runtime() as rt:
        settings = rt.settings.section(ChecksSettings)
        checked = check_uploads(uploads, max_files=settings.checks_max_files,
                                max_bytes=settings.checks_max_file_mb * 1_000_000)
        named = [(u.filename, u.data) for u in checked]
        if as_json:  # stdout is the JSON only
            result, packet = service.check_files(app_type, named, submitted, fields)
        else:
            with progress_bar() as bar:
                task = bar.add_task("Lesen / reading", total=None, item="")

                def progress(done: int, total: int, label: str) -> None:
                    bar.update(task, completed=done, total=total, item=label)

                result, packet = service.check_files(app_type, named, submitted, fields, progress)
                bar.update(task, completed=1, total=1, item="")
        data = results.to_dict(result, packet)
        principal = cli_principal(rt.settings)
        with rt.db.session() as session:
            audit.append(session, audit.AuditEntry(
                actor=principal.id, department=principal.department, use_case=service.USE_CASE, action="checks.run",
                data_class=service.DATA_CLASS, output_hash=audit.content_hash(data["items"]),
                details={"type_id": app_type.id, "files": len(checked), "counts": data["counts"], "source": "cli"}),
                key=rt.gateway.audit_key)
    if as_json:
        console.print_json(json.dumps(data, default=str, ensure_ascii=False))
        return
    _print_result(data)


def _flat(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:.3f}"))
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        rows.append((prefix, f"{len(value)} (--json)"))
    elif isinstance(value, list):
        rows.append((prefix, ", ".join(str(v) for v in value[:10]) + (" …" if len(value) > 10 else "")))
    else:
        rows.append((prefix, str(value)))


@checks_app.command("eval")
def eval_command(
    folder: Annotated[Path, typer.Argument(help="A directory of generated packets with manifest.json "
                                                "(rathaus.checks.synthetic).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Defect recall per defect type, false alarms per clean packet, OCR accuracy per degradation, seconds per
    packet – and the baseline (Tesseract text + regular expressions) in the same run."""
    if not folder.is_dir():
        raise BadRequest(f"kein Verzeichnis / no such directory: {folder}")
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise BadRequest(f"{folder}: keine manifest.json – erzeugen mit rathaus.checks.synthetic / no manifest.json")
    try:
        total = len(json.loads(manifest.read_text(encoding="utf-8"))["packets"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest(f"{manifest}: keine Liste 'packets' / not a generated packet manifest") from None
    from rathaus.checks.evaluate import evaluate_dir

    if as_json:  # stdout is the JSON only
        console.print_json(json.dumps(evaluate_dir(folder), default=str))
        return
    with progress_bar() as bar:
        task = bar.add_task("Auswertung / evaluation", total=total, item=folder.name)
        figures = evaluate_dir(folder, progress=lambda outcome: bar.advance(task))
        bar.update(task, completed=total)
    rows: list[tuple[str, str]] = []
    _flat("", figures, rows)
    table = Table("Kennzahl / figure", "Wert / value")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@checks_app.command("samples")
def samples_command() -> None:
    """The sample packets shipped with rathaus (synthetic data), one per type at least."""
    from rathaus.checks.samples import SAMPLES, sample_packets

    found = sample_packets()
    if not found:
        console.print(f"Keine Beispielanträge gefunden / no sample packets in {SAMPLES}", markup=False)
        return
    table = Table("Name", "Antragsart / type", "Eingang / received", "Dateien / files", "Mängel / defects",
                  "Pfad / path")
    for s in found:
        table.add_row(s.name, s.type_id, s.submitted_on.isoformat(), str(len(s.files)), ", ".join(s.defects) or "–",
                      str(s.path))
    console.print(table)
    console.print("Synthetische Daten – keine echten Personen / synthetic data, no real persons", markup=False)
