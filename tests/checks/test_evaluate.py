"""The evaluation's arithmetic (how found, unsure and false alarms count) and the regular-expression baseline on
the rendered text of generated packets."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rathaus.checks.definitions import shipped_types
from rathaus.checks.evaluate import (
    PacketOutcome,
    baseline_check,
    baseline_form,
    char_errors,
    choose_policy,
    evaluate_dir,
    summarise,
    word_char_errors,
)
from rathaus.checks.synthetic import DEFECT_KINDS, generate


def _outcome(name: str, level: str, statuses: dict[str, str], defects: list[dict[str, Any]] | None = None,
             pages: int = 5, seconds: float = 2.0) -> PacketOutcome:
    outcome = PacketOutcome(name, "wohngeld-erstantrag", level, pages, clean=not defects, seconds=seconds,
                            statuses=statuses, ocr=[(5, 100)])
    for defect in defects or []:
        found = [statuses.get(req, "absent") for req in defect["requirements"]]
        outcome.defects.append({**defect, "statuses": found,
                                "strict": any(s in ("missing", "invalid") for s in found),
                                "lenient": any(s in ("missing", "invalid", "unsure") for s in found),
                                "baseline": defect.get("baseline", False)})
    return outcome


def test_unsure_is_reported_both_ways_and_false_alarms_apart() -> None:
    outcomes = [
        _outcome("clean-1", "moderate", {"field:iban": "satisfied", "rule:a": "unsure"}),
        _outcome("clean-2", "moderate", {"field:iban": "invalid", "rule:a": "satisfied"}),
        _outcome("bad-1", "moderate", {"field:iban": "invalid"}, [{"kind": "iban_typo",
                                                                   "requirements": ["field:iban"]}]),
        _outcome("bad-2", "strong", {"rule:gleiche_person": "unsure"},
                 [{"kind": "name_mismatch", "requirements": ["rule:gleiche_person"], "baseline": True}]),
    ]
    strict = summarise(outcomes)
    assert strict["defect_recall_strict"] == 0.5
    assert strict["defect_recall_incl_unsure"] == 1.0
    assert strict["defect_recall"] == 0.5
    assert strict["false_alarms_strict_per_clean_packet"] == 0.5
    assert strict["unsure_per_clean_packet"] == 0.5
    assert strict["false_alarms_incl_unsure_per_clean_packet"] == 1.0
    assert strict["baseline_defect_recall"] == 0.5
    assert strict["recall_iban_typo"] == 1.0 and strict["recall_name_mismatch"] == 0.0
    assert strict["ocr_char_accuracy_moderate"] == 0.95
    assert strict["seconds_per_10_pages"] == 4.0
    lenient = summarise(outcomes, policy="lenient")
    assert lenient["defect_recall"] == 1.0 and lenient["false_alarms_per_clean_packet"] == 1.0
    assert choose_policy(strict) == "strict"  # lenient would cost 1.0 false alarms per clean packet


def test_a_crashed_packet_is_counted_not_fatal() -> None:
    broken = PacketOutcome("x", "wohngeld-erstantrag", "none", 3, clean=True, error="ValueError: kaputt")
    figures = summarise([broken, _outcome("ok", "none", {"rule:a": "satisfied"})])
    assert figures["packets_failed"] == 1 and figures["clean_packets"] == 1


def test_char_errors_ignore_layout_whitespace() -> None:
    assert char_errors("Miete  1.200,00\nEUR", "Miete 1.200,00 EUR") == (0, 18)
    assert char_errors("abc", "") == (3, 3)


def test_word_char_errors_ignore_reading_order() -> None:
    truth = "Anschrift Lindwurmstraße 12\nMarke Ford"
    by_columns = "Anschrift\nMarke\n\nLindwurmstrasse 12\nFord"
    assert word_char_errors(truth, by_columns) == (2, 34)  # ß read as "ss": one substitution, one insertion
    assert char_errors(truth, by_columns)[0] > 10
    assert word_char_errors("Miete Miete", "Miete") == (5, 10)  # a word read once matches once


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("baseline")
    return out, generate(out, 3, len(DEFECT_KINDS), seed=21, degradation="none", dpi=100)


def _baseline_on_truth(out: Path, packet: dict[str, Any]) -> dict[str, str]:
    app_type = shipped_types()[packet["type"]]
    texts = [page["text"] for d in packet["documents"] for page in d["pages"]]
    form_name = packet["files"][0]
    form = baseline_form(form_name, (out / packet["id"] / form_name).read_bytes(), app_type)
    return baseline_check(texts, form, date.fromisoformat(packet["submitted_on"]), app_type)


def test_baseline_on_the_rendered_text(generated: tuple[Path, dict[str, Any]]) -> None:
    """With perfect text, the baseline raises nothing on clean packets and catches the defects its regular
    expressions can see; what it cannot (e.g. a name it finds elsewhere in the text) it misses."""
    out, manifest = generated
    for packet in manifest["packets"]:
        flags = _baseline_on_truth(out, packet)
        if not packet["defects"]:
            assert flags == {}, (packet["id"], flags)
            continue
        defect = packet["defects"][0]
        if defect["kind"] in ("iban_typo", "mrz_check_digit", "missing_page", "missing_signature",
                              "missing_document", "expired_id", "address_mismatch"):
            assert set(defect["requirements"]) & flags.keys(), (packet["id"], defect, flags)


def test_evaluate_dir_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no manifest\.json"):
        evaluate_dir(tmp_path)


def test_rules_on_perfectly_read_packets_find_every_defect_without_false_alarms(
        generated: tuple[Path, dict[str, Any]]) -> None:
    """Generator and engine agree: read perfectly (the manifest's truth), every injected defect fails one of its
    requirements and clean packets raise no alarm."""
    from rathaus.checks.evaluate import evaluate_oracle

    out, _ = generated
    figures = evaluate_oracle(out)
    assert figures["defect_recall_strict"] == 1.0, figures["missed_defects"]
    # a count-1 requirement takes one document: a second qualification certificate meets the licence to practise
    assert figures["false_alarm_requirements"] == {}, figures["false_alarm_requirements"]


def test_evaluate_dir_reads_and_checks_generated_packets(tmp_path: Path) -> None:
    """The whole way on real components: generated parking-permit packets (one page each) are read with
    Tesseract, checked by the engine and scored; the unsigned form is found, the baseline runs alongside."""
    parking = shipped_types()["bewohnerparkausweis"]
    generate(tmp_path, 1, 2, seed=4, degradation="none", types=[parking],
             defect_kinds=("missing_signature", "address_mismatch"))
    seen: list[str] = []
    figures = evaluate_dir(tmp_path, progress=lambda outcome: seen.append(outcome.id))
    assert len(seen) == 3 and figures["packets_failed"] == 0
    assert figures["recall_missing_signature"] == 1.0
    assert figures["baseline_recall_missing_signature"] == 1.0
    assert figures["ocr_char_accuracy_none"] > 0.8
    assert figures["seconds_per_10_pages"] > 0
    assert {o["id"] for o in figures["outcomes"]} == set(seen)
