"""``rathaus checks`` as a user runs it: the types table, checking a shipped sample packet (checklist with the
Annex III notice, JSON), the sample list, the evaluation – and one readable line for every bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Run, cli_runner, one_line_error
from rathaus.checks.samples import sample_packets
from rathaus.core.settings import Settings


@pytest.fixture
def cli(make_settings: Callable[..., Settings], tmp_path: Path) -> Run:
    settings = make_settings()
    run = cli_runner(settings, tmp_path, "checks", timeout=600)
    return run


def test_types_table_and_json(cli: Run) -> None:
    table = cli("types")
    assert table.returncode == 0, table.stderr
    for type_id in ("wohngeld-erstantrag", "bewohnerparkausweis", "aufenthaltserlaubnis-beschaeftigung"):
        assert type_id in table.stdout
    listed = json.loads(cli("types", "--json").stdout)
    assert {t["id"]: t["annex_iii"] for t in listed}["bewohnerparkausweis"] is False


def test_bad_input_is_one_readable_line(cli: Run, tmp_path: Path) -> None:
    pdf = tmp_path / "antrag.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    empty = tmp_path / "leer.pdf"
    empty.write_bytes(b"")
    text = tmp_path / "notiz.txt"
    text.write_text("kein Antrag")
    one_line_error(cli("run", str(tmp_path / "fehlt.pdf"), "--type", "bewohnerparkausweis"), "fehlt.pdf")
    one_line_error(cli("run", str(pdf)), "--type")
    one_line_error(cli("run", str(pdf), "--type", "hundesteuer"), "hundesteuer")
    one_line_error(cli("run", str(empty), "--type", "bewohnerparkausweis"), "leer.pdf")
    checked = cli("run", str(pdf), str(empty), "--type", "bewohnerparkausweis")  # the rest is still checked
    assert checked.returncode == 0 and "leer.pdf" in checked.stdout, checked.stdout + checked.stderr
    one_line_error(cli("run", str(text), "--type", "bewohnerparkausweis"), "notiz.txt")
    one_line_error(cli("run", str(pdf), "--type", "bewohnerparkausweis", "--date", "7.12.2026"), "JJJJ-MM-TT")
    one_line_error(cli("eval", str(tmp_path / "nirgends")), "nirgends")
    one_line_error(cli("eval", str(tmp_path)), "manifest.json")


def test_samples_are_listed(cli: Run) -> None:
    shipped = sample_packets()
    assert {s.type_id for s in shipped} >= {"wohngeld-erstantrag", "bewohnerparkausweis",
                                            "aufenthaltserlaubnis-beschaeftigung"}
    result = cli("samples")
    assert result.returncode == 0, result.stderr
    assert all(s.name in result.stdout for s in shipped) and "synthetisch" in result.stdout.lower()


def test_run_prints_the_checklist_of_a_sample(cli: Run, tmp_path: Path) -> None:
    packet = next(s for s in sample_packets() if s.type_id == "aufenthaltserlaubnis-beschaeftigung")
    args = [str(p) for p in packet.files]
    if packet.form:
        form_file = tmp_path / "formular.json"
        form_file.write_text(json.dumps(packet.form), encoding="utf-8")
        args += ["--form", str(form_file)]
    date = min(packet.submitted_on, dt.date.today()).isoformat()
    result = cli("run", *args, "--type", packet.type_id, "--date", date)
    assert result.returncode == 0, result.stderr
    assert "Anhang III" in result.stdout and "Vorschlag" in result.stdout
    data = json.loads(cli("run", *args, "--type", packet.type_id, "--date", date, "--json").stdout)
    assert data["type_id"] == packet.type_id and data["annex_iii"] is True and data["items"]
    assert sum(data["counts"].values()) == len(data["items"])
