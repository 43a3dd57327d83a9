"""``rathaus portfolio`` as a user runs it: submit, assess, status with the register link, weights, list and show
– and one readable line for every bad input, with nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from cli_runner import Run, cli_runner, one_line_error
from rathaus.core.settings import Settings

IDEA = {"title": "Erkennen von Redundanzen", "problem": "Doppelt gestellte Anträge werden zweimal bearbeitet.",
        "hours_saved_per_year": 300, "data_needed": "Anträge mit Aktenzeichen",
        "affected_people": "Antragstellende, Sachbearbeitung", "urgency": "medium"}
ASSESSMENT = {
    "risk_class": "minimal", "risk_justification": "Nur ein Hinweis an die Sachbearbeitung, keine Entscheidung.",
    "benefit": {"points": 3, "justification": "300 Stunden im Jahr, weniger Doppelarbeit."},
    "feasibility": {"points": 4, "justification": "Dublettenerkennung des Posteingangs nutzbar."},
    "climate": {"points": 5, "justification": "Kleines Einbettungsmodell, lokal, kaum Energie."},
    "data_availability": {"points": 2, "justification": "Aktenzeichen fehlen in vielen alten Anträgen."},
    "summary": "Pilot möglich, sobald die Aktenzeichen nachgepflegt sind.",
}


@pytest.fixture
def cli(make_settings: Callable[..., Settings], tmp_path: Path) -> Run:
    return cli_runner(make_settings(), tmp_path, "portfolio")


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_submit_assess_move_and_list(cli: Run, tmp_path: Path) -> None:
    submitted = cli("submit", "--file", write(tmp_path, "idea.yaml", IDEA), "--department", "sozialreferat", "--json")
    assert submitted.returncode == 0, submitted.stderr
    idea_id = str(json.loads(submitted.stdout)["id"])
    assessed = cli("assess", idea_id, "--file", write(tmp_path, "a.yaml", ASSESSMENT), "--json")
    assert assessed.returncode == 0, assessed.stderr
    # (3·2/4 + 2·3/4 + 2·4/4 + 1·4/4 + 2·1/4) / 10 · 100 with the shipped weights 3, 2, 2, 1, 2
    assert json.loads(assessed.stdout)["score"] == 65.0
    assert cli("status", idea_id, "pilot").returncode == 0
    moved = cli("status", idea_id, "production", "--register-id", "inbox:duplicates")
    assert moved.returncode == 0 and "inbox:duplicates" in moved.stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert [(i["title"], i["status"], i["register_id"]) for i in listed["items"]] == [
        (IDEA["title"], "production", "inbox:duplicates")]
    shown = cli("show", idea_id)
    assert shown.returncode == 0 and ASSESSMENT["summary"] in shown.stdout
    assert cli("weights", "--set", write(tmp_path, "w.yaml", dict.fromkeys(
        ("benefit", "feasibility", "risk", "climate", "data_availability"), 1))).returncode == 0
    assert json.loads(cli("list", "--json").stdout)["items"][0]["score"] == 70.0  # (2 + 3 + 4 + 4 + 1) / 20 · 100


def test_bad_input_is_one_readable_line_and_stores_nothing(cli: Run, tmp_path: Path) -> None:
    one_line_error(cli("submit", "--file", str(tmp_path / "fehlt.yaml")), "fehlt.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n")
    one_line_error(cli("submit", "--file", str(broken)), "not valid YAML")
    one_line_error(cli("submit", "--file", write(tmp_path, "list.yaml", [IDEA])), "mapping")
    one_line_error(cli("submit", "--file", write(tmp_path, "neg.yaml", {**IDEA, "hours_saved_per_year": -1})),
                   "hours_saved_per_year")
    one_line_error(cli("assess", "1", "--file", write(tmp_path, "a.yaml", ASSESSMENT)), "no use-case idea 1")
    one_line_error(cli("status", "1", "pilot"), "no use-case idea 1")
    one_line_error(cli("weights", "--set", write(tmp_path, "w.yaml", {"benefit": -1})), "benefit")
    assert json.loads(cli("list", "--json").stdout)["items"] == []
    assert json.loads(cli("weights", "--json").stdout)["set_by"] == "default"
