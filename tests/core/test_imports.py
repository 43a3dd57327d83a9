"""The shared import framework (rathaus.core.imports) and its CLI rendering, as traffic and library use them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rathaus.api import problems as api_problems
from rathaus.commands import common
from rathaus.core.errors import BadRequest
from rathaus.core.imports import (
    MAX_PROBLEMS,
    ImportRefused,
    ImportReport,
    ProblemList,
    RowProblem,
    UnreadableFile,
    raise_if_fatal,
)
from rathaus.library import store as library_store
from rathaus.library.catalogue import LibraryFileError, Problem, Problems
from rathaus.traffic import store as traffic_store
from rathaus.traffic.formats import TrafficFileError


def test_a_row_problem_renders_the_same_for_cli_and_api() -> None:
    p = RowProblem(7, "richtung_1", "negative Zählung / negative count: '-1'")
    assert p.as_dict() == {"line": 7, "column": "richtung_1", "reason": "negative Zählung / negative count: '-1'"}
    assert str(p) == "Zeile/line 7, richtung_1: negative Zählung / negative count: '-1'"
    assert str(RowProblem(None, None, "leer / empty")) == "Datei/file: leer / empty"
    # value and fatal appear only when set
    assert RowProblem(3, "datum", "unlesbar / unreadable", value="32.13.2020", fatal=True).as_dict() == {
        "line": 3, "column": "datum", "reason": "unlesbar / unreadable", "value": "32.13.2020", "fatal": True}


def test_the_library_keeps_its_field_key_and_records() -> None:
    problems = Problems()
    problems.add(4, "description", "enthält E-Mail / contains e-mail")
    problems.add(None, "001", "Kennung doppelt / id repeated", record=2)
    line, record = problems.items
    assert isinstance(line, Problem) and line.field == "description"
    assert line.as_dict() == {"line": 4, "field": "description", "reason": "enthält E-Mail / contains e-mail"}
    assert record.as_dict() == {"record": 2, "field": "001", "reason": "Kennung doppelt / id repeated"}
    assert str(record) == "Datensatz/record 2, 001: Kennung doppelt / id repeated"


def test_problem_list_keeps_a_thousand_counts_all_and_sorts_by_line() -> None:
    problems = ProblemList()
    problems.add_many(range(MAX_PROBLEMS + 501, 1, -1), "gesamt", "keine Zahl / not a number")  # 1,500 lines
    problems.add(1, None, "Kopfzeile / header")  # counted, not kept: the list is full
    assert problems.total == MAX_PROBLEMS + 501 and len(problems.items) == MAX_PROBLEMS
    report = ImportReport(file_name="a.csv", sha256="0", kind="x")
    report.take_problems(problems)
    assert report.problems_total == MAX_PROBLEMS + 501
    assert [p.line for p in report.problems[:2]] == [502, 503]  # the kept ones, in file order


def test_capability_reports_are_import_reports_with_their_own_figures() -> None:
    traffic = traffic_store.ImportReport(file_name="rad.csv", sha256="0", kind="bike-daily", resolution="day",
                                         encoding="utf-8", delimiter=",", rows_read=6, stored=17, rejected=1)
    traffic.take_problems([RowProblem(7, "richtung_1", "negativ / negative")])
    assert isinstance(traffic, ImportReport)
    assert traffic.summary_line() == ("rad.csv: bike-daily, 6 Zeilen/lines – gespeichert/stored 17, "
                                      "unverändert/unchanged 0, abgelehnt/rejected 1, Konflikte/conflicts 0")
    body = traffic.as_dict()
    assert body["problems"] == [{"line": 7, "column": "richtung_1", "reason": "negativ / negative"}]
    assert body["problems_total"] == 1 and body["conflicts"] == 0 and body["resolution"] == "day"
    library = library_store.ImportReport(file_name="k.csv", sha256="0", kind="catalogue-csv", rows_read=3,
                                         stored=2, rejected=1)
    library.take_problems(Problems())
    assert library.summary_line() == ("k.csv: catalogue-csv, 3 gelesen/read – neu/stored 2, geändert/updated 0, "
                                      "unverändert/unchanged 0, abgelehnt/rejected 1, übersprungen/skipped 0")
    assert library.as_dict()["personal_data"] == {} and library.as_dict()["problems"] == []
    for error in (LibraryFileError("x"), TrafficFileError("x")):
        assert isinstance(error, UnreadableFile) and error.status == 422
    assert (LibraryFileError.code, TrafficFileError.code) == ("unreadable-library-file", "unreadable-traffic-file")


def test_fatal_problems_become_one_problem_json_error() -> None:
    problems = ProblemList()
    problems.add(2, "betrag", "keine Zahl / not a number")
    raise_if_fatal(problems, "antrag.csv")  # nothing fatal: nothing raised
    problems.add(1, "aktenzeichen", "Spalte fehlt / column missing", fatal=True)
    problems.add(1, "datum", "Spalte fehlt / column missing", fatal=True)
    app = FastAPI()
    api_problems.install(app)

    @app.get("/import")
    def refuse() -> None:
        raise_if_fatal(problems, "antrag.csv")

    response = TestClient(app).get("/import")
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/import-refused") and body["instance"] == "/import"
    assert body["detail"] == ("antrag.csv: Datei abgelehnt / file refused – Zeile/line 1, aktenzeichen: "
                              "Spalte fehlt / column missing (+1 weitere / more)")
    assert body["problems_total"] == 2
    assert body["problems"][0] == {"line": 1, "column": "aktenzeichen", "reason": "Spalte fehlt / column missing",
                                   "fatal": True}
    with pytest.raises(ImportRefused):
        report = ImportReport(file_name="a", sha256="0", kind="x")
        report.take_problems(problems)
        raise_if_fatal(report, "a")


def _report(n_problems: int, import_id: int = 7) -> ImportReport:
    report = ImportReport(import_id=import_id, file_name="a.csv", sha256="0", kind="x", rows_read=9, stored=8,
                          seconds=0.25)
    report.take_problems([RowProblem(line, "c", f"Problem {line}") for line in range(2, 2 + n_problems)])
    return report


def test_cli_prints_the_summary_the_first_five_problems_and_how_many_more() -> None:
    with common.console.capture() as captured:
        common.print_import_report(_report(8), "/api/v1/x/imports", ["neue Zählstellen / new stations: A"])
    lines = captured.get().splitlines()
    assert lines[0] == ("a.csv: x, 9 Zeilen/lines – gespeichert/stored 8, unverändert/unchanged 0, "
                        "abgelehnt/rejected 0 (Import 7, 0.2 s)")
    assert lines[1] == "  neue Zählstellen / new stations: A"
    assert lines[2:7] == [f"  Zeile/line {n}, c: Problem {n}" for n in range(2, 7)]
    assert lines[7:] == ["  … 3 weitere Probleme / more problems (GET /api/v1/x/imports/7)"]
    with common.console.capture() as captured:
        common.print_import_report(_report(5), "/api/v1/x/imports")
    assert len(captured.get().splitlines()) == 6 and "weitere" not in captured.get()


def test_cli_import_exit_rules(tmp_path: Path) -> None:
    def one(path: Path) -> ImportReport:
        if path.name.startswith("bad"):
            raise UnreadableFile(f"{path.name}: keine Textdatei / not a text file")
        return _report(0)

    shown: list[ImportReport] = []
    with pytest.raises(UnreadableFile, match=r"bad\.csv: keine Textdatei"):  # one file: its own error
        common.import_files([Path("bad.csv")], one, shown.append)
    with common.err_console.capture() as err, pytest.raises(BadRequest) as info:
        common.import_files([Path("bad.csv"), Path("good.csv"), Path("bad2.csv")], one, shown.append)
    assert len(shown) == 1  # the readable file was still imported
    assert err.get().splitlines() == ["rathaus: bad.csv: keine Textdatei / not a text file",
                                      "rathaus: bad2.csv: keine Textdatei / not a text file"]
    assert info.value.detail == "2 von 3 Dateien nicht lesbar / of the files could not be read"
    common.import_files([Path("good.csv")], one, shown.append)
    assert len(shown) == 2
