"""Training rows for routing and the CSV of past requests they are read from.

A CSV has one past request per row: ``text`` (required), ``category`` (the final routing), ``relevant``
(true/false: a request for the city at all, or spam/irrelevant), ``urgency`` and ``weight`` (a case worker's
correction counts more: weight 3 means "as if seen three times"). German column names work too (``Text`` /
``Nachricht``, ``Kategorie``, ``Relevant``, ``Dringlichkeit``, ``Gewicht``). Delimiter ``;``, ``,`` or tab;
UTF-8 or Windows-1252. Bad rows are listed with line and column (``RowProblem``); by default any bad row
refuses the file (``strict=False`` leaves them out and reports them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rathaus.core.imports import ImportReport, ProblemList, UnreadableFile, refuse
from rathaus.core.textfiles import decode_text, looks_binary, sniff_delimiter
from rathaus.inbox.taxonomy import Taxonomy

MAX_WEIGHT = 100.0
TRUE = {"true", "1", "ja", "yes", "wahr", "j", "y", "x", "relevant"}
FALSE = {"false", "0", "nein", "no", "falsch", "n", "irrelevant", "spam"}
COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text", "nachricht", "message", "body", "inhalt"),
    "category": ("category", "kategorie", "routing", "label"),
    "relevant": ("relevant", "relevance", "relevanz"),
    "urgency": ("urgency", "dringlichkeit", "prioritaet", "priority"),
    "weight": ("weight", "gewicht"),
}


class RoutingFileError(UnreadableFile):
    """The training file cannot be read at all (HTTP 422); nothing was trained."""

    code, title = "unreadable-routing-file", "Not a readable routing training file"


@dataclass(frozen=True)
class TrainingRow:
    """One past request with its final routing. ``category`` may be None for an irrelevant message (or a file
    that only teaches relevance); ``relevant`` None means unknown (not used for the relevance model)."""

    text: str
    category: str | None = None
    relevant: bool | None = None
    urgency: str | None = None
    weight: float = 1.0


@dataclass(kw_only=True)
class TrainingReport(ImportReport):
    """What ``read_training_csv`` read: rows, rejected rows and their problems."""

    categories: int = 0


def _norm(name: str) -> str:
    s = name.strip().strip('"').strip().lstrip("\ufeff").casefold()
    s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"[\s\-./]+", "_", s)


def parse_bool(value: str) -> bool | None:
    """``ja``/``nein``, ``true``/``false``, ``1``/``0`` … → bool; empty → None; anything else raises ValueError."""
    v = value.strip().casefold()
    if not v:
        return None
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ValueError(v)


def read_training_csv(path: Path, taxonomy: Taxonomy | None = None, *,
                      strict: bool = True) -> tuple[list[TrainingRow], TrainingReport]:
    """Rows of a CSV of past requests, and a report of what was read.

    ``taxonomy`` (optional) checks categories and urgency levels against the city's keys. Raises
    ``RoutingFileError`` for a file that is not a readable CSV or lacks the columns, and ``ImportRefused``
    listing every bad row (line, column, reason) when ``strict`` and any row is bad, or when no row is usable.
    """
    t0 = time.perf_counter()
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RoutingFileError(f"{name}: nicht lesbar / not readable: {exc.strerror or exc}") from None
    if looks_binary(data):
        raise RoutingFileError(f"{name}: keine Textdatei / not a text file (binary content); expected a CSV file")
    if not data.strip():
        raise RoutingFileError(f"{name}: Datei ist leer / the file is empty")
    text, encoding = decode_text(data)
    text = text.lstrip("\ufeff")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, [])
        body = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise RoutingFileError(f"{name}: kein lesbares CSV / not a readable CSV (line {reader.line_num}): "
                               f"{exc}") from None
    normed = [_norm(h) for h in header]
    col: dict[str, int] = {}
    for fld, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in normed:
                col[fld] = normed.index(alias)
                break
    if "text" not in col or not ({"category", "relevant"} & col.keys()):
        shown = ", ".join(h.strip()[:40] for h in header[:8] if h.strip()) or "keine / none"
        raise RoutingFileError(f"{name}: Spalten fehlen / missing columns – needed: text (Text, Nachricht) and "
                               f"category (Kategorie) and/or relevant (Relevant); found: {shown}")
    if not body:
        raise RoutingFileError(f"{name}: keine Datenzeilen / no data rows below the header")

    problems = ProblemList()
    rows: list[TrainingRow] = []
    known_categories = set(taxonomy.category_keys) if taxonomy else None
    known_urgency = {u.key for u in taxonomy.urgency} if taxonomy else None

    def cell(row: list[str], fld: str) -> str:
        i = col.get(fld)
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in body:
        before = problems.total
        if len(row) > len(header):
            problems.add(line, None, f"{len(row)} Felder statt {len(header)} / {len(row)} fields, header has "
                         f"{len(header)} (unquoted delimiter in the text?)")
        message = cell(row, "text")
        if not message:
            problems.add(line, header[col["text"]], "Text fehlt / text is empty")
        try:
            relevant = parse_bool(cell(row, "relevant"))
        except ValueError as exc:
            problems.add(line, header[col["relevant"]], "kein Wahrheitswert / not true/false (ja/nein, 1/0)",
                         value=str(exc)[:40])
            relevant = None
        category = cell(row, "category") or None
        if category is None and relevant is not False and "category" in col:
            problems.add(line, header[col["category"]], "Kategorie fehlt / category is empty (allowed only for "
                         "relevant = false)")
        elif category is not None and known_categories is not None and category not in known_categories:
            problems.add(line, header[col["category"]], "Kategorie nicht in der Taxonomie / category not in the "
                         "taxonomy", value=category[:60])
        urgency = cell(row, "urgency") or None
        if urgency is not None and known_urgency is not None and urgency not in known_urgency:
            problems.add(line, header[col["urgency"]], "unbekannte Dringlichkeit / unknown urgency level "
                         f"(known: {', '.join(sorted(known_urgency))})", value=urgency[:40])
        weight = 1.0
        raw_weight = cell(row, "weight")
        if raw_weight:
            try:
                weight = float(raw_weight.replace(",", "."))
                if not 0 < weight <= MAX_WEIGHT:
                    raise ValueError
            except ValueError:
                problems.add(line, header[col["weight"]], f"Gewicht muss eine Zahl über 0 und bis {MAX_WEIGHT:g} "
                             f"sein / weight must be a number > 0 and <= {MAX_WEIGHT:g}", value=raw_weight[:20])
        if problems.total == before:
            rows.append(TrainingRow(message, category, relevant, urgency, weight))

    report = TrainingReport(file_name=name, sha256=hashlib.sha256(data).hexdigest(), kind="routing-training",
                            encoding=encoding, delimiter=delimiter, rows_read=len(body), stored=len(rows),
                            rejected=len(body) - len(rows), seconds=time.perf_counter() - t0,
                            categories=len({r.category for r in rows if r.category}))
    report.take_problems(problems)
    if problems.total and (strict or not rows):
        raise refuse(f"{name}: Datei abgelehnt / file refused – {problems.total} Problem(e) / problem(s), "
                     f"first: {problems.first(1)[0]}", problems.first(), problems.total)
    return rows, report


def label_counts(values: Iterable[str | None]) -> dict[str, int]:
    """How often each non-empty label occurs (for messages and checks)."""
    out: dict[str, int] = {}
    for v in values:
        if v is not None:
            out[v] = out.get(v, 0) + 1
    return out
