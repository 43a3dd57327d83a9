"""Writing tools of the employee assistant: check functions with a scripted gateway, and each tool once
against the real shipped model."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, get_args

import pytest

from rathaus.assistants.tools import TOOLS
from rathaus.assistants.tools.brainstorm import brainstorm
from rathaus.assistants.tools.draft import draft, salutation_for
from rathaus.assistants.tools.gender_fair import gender_fair
from rathaus.assistants.tools.numbers import check_numbers, extract_numbers, mark_unverified
from rathaus.assistants.tools.outline import (
    Node,
    drop_repeated,
    mermaid_mindmap,
    outline_ok,
    parse_outline,
    restructure,
)
from rathaus.assistants.tools.simplify import accept_rewrite, rule_simplify, simplify
from rathaus.assistants.tools.summarise import _main_clause, parse_summary, summarise
from rathaus.assistants.tools.text import drop_unfinished
from rathaus.assistants.tools.translate import (
    LANGUAGES,
    Language,
    check_translation,
    copy_share,
    script_share,
    translate,
)
from rathaus.core import readability as rd
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest
from rathaus.models.gateway import CallContext, Metrics
from rathaus.runtime import Runtime

ANNA = Principal(id="anna", kind="user", department="KVR", roles=frozenset())
CTX = CallContext(principal=ANNA, data_class=DataClass.INTERN, use_case="test")

SOURCE = (
    "Der Stadtrat hat am 04.10.2024 beschlossen, das Bürgerbüro in der Innenstadt ab dem 1. Januar 2025 "
    "umzubauen. Die Kosten betragen 1.250.000 Euro, davon trägt der Freistaat 40 Prozent. Während der Bauzeit "
    "von zwölf Monaten werden die Anliegen der Bürgerinnen und Bürger in einem Ersatzstandort bearbeitet, der "
    "montags bis freitags von 8:00 bis 16:00 Uhr geöffnet ist."
)


# --- a scripted gateway ------------------------------------------------------------------------------
class FakeGateway:
    """Answers with scripted replies (strings or functions of the messages) and records every call."""

    def __init__(self, *replies: str | Callable[[list[Any]], str], context_length: int = 4096,
                 max_output_tokens: int = 512, finish_reason: str = "stop"):
        self.replies = list(replies)
        self.calls: list[tuple[list[Any], Any]] = []
        self.finish_reason = finish_reason
        self.spec = SimpleNamespace(name="fake-chat", context_length=context_length,
                                    max_output_tokens=max_output_tokens)

    def route(self, ctx: Any, model: str | None, kind: str) -> Any:
        return SimpleNamespace(spec=self.spec)

    def chat(self, ctx: Any, messages: list[Any], model: str | None = None, params: Any = None) -> Any:
        self.calls.append((messages, params))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        text = reply(messages) if callable(reply) else reply
        metrics = Metrics(prompt_tokens=100, completion_tokens=20, latency_ms=50.0, cost_eur=Decimal("0.001"),
                          energy_wh=0.01, gco2e=0.004, energy_method="measured")
        return SimpleNamespace(text=text, finish_reason=self.finish_reason, metrics=metrics)


def fake(*replies: str | Callable[[list[Any]], str], **kw: Any) -> SimpleNamespace:
    return SimpleNamespace(gateway=FakeGateway(*replies, **kw))


# --- numbers -----------------------------------------------------------------------------------------
def readings(text: str) -> list[tuple[str, set[str]]]:
    return [(n.raw, set(n.values)) for n in extract_numbers(text)]


def test_numbers_are_normalised() -> None:
    assert readings("1.000 € und 1000 Euro, 5,5 % und 5.5 %") == [
        ("1.000", {"1000", "1"}), ("1000", {"1000"}), ("5,5", {"5.5"}), ("5.5", {"5.5"})]
    assert readings("1.250.000,50 und 1,250,000.50 und 1 000") == [
        ("1.250.000,50", {"1250000.5"}), ("1,250,000.50", {"1250000.5"}), ("1 000", {"1000"})]
    dates = readings("am 04.10.2024, am 4.10.24, am 4. Oktober 2024, im Oktober 2024, um 8:00 Uhr")
    assert [v for _, v in dates] == [{"D:2024-10-04"}] * 3 + [{"MY:2024-10"}, {"T:8:0"}]
    assert readings("1,5 Mio. Euro")[0][1] == {"1.5", "1500000"}


def test_list_numbering_and_glued_digits_are_no_facts() -> None:
    assert readings("1. Erstens\n(2) Zweitens\n3) Drittens\n- 4 Personen, CO2, it@M") == [("4", {"4"})]
    assert readings("Frage 1: Wie viele?") == [("1", {"1"})]


def test_check_numbers_verifies_and_counts_kept_numbers() -> None:
    summary = "Ab 1. Januar 2025 wird für 1250000 Euro umgebaut (Beschluss vom 4.10.2024), zwölf Monate, 12 Monate."
    checked = check_numbers(SOURCE, summary)
    assert checked["unverified_numbers"] == []
    assert checked["numbers_verified"] == checked["numbers"] == 4  # 12 is verified by the word "zwölf"
    assert checked["source_numbers"] == 6  # date, date, amount, 40, 8:00, 16:00
    assert checked["source_numbers_kept"] == pytest.approx(3 / 6, abs=0.001)
    assert set(checked["missing_numbers"]) == {"40", "8:00", "16:00"}
    wrong = check_numbers(SOURCE, "Die Kosten betragen 1,3 Mio. Euro ab 2026.")
    assert wrong["unverified_numbers"] == ["1,3", "2026"] and wrong["numbers_verified"] == 0
    # a year of a source date is a verified number; a translation may spell a date out
    assert check_numbers(SOURCE, "Im Jahr 2024.")["unverified_numbers"] == []
    loose = check_numbers("am 04.10.2024", "on October 4, 2024", loose_dates=True)
    assert loose["source_numbers_kept"] == 1.0 and loose["unverified_numbers"] == []


def test_unverified_numbers_are_marked() -> None:
    marked = mark_unverified("Es kostet 17 Euro, nicht 170 Euro.", ["17"])
    assert "17 ⚠ Euro" in marked and "170 Euro" in marked and "⚠ nicht in der Quelle: 17" in marked


# --- summarise ---------------------------------------------------------------------------------------
GOOD_SUMMARY = ("Zusammenfassung: Das Bürgerbüro wird ab 1. Januar 2025 für 1.250.000 Euro umgebaut.\n\n"
                "Kernpunkte:\n- Beschluss vom 04.10.2024\n- Freistaat trägt 40 Prozent\n- Ersatzstandort")


def test_summarise_with_checked_numbers() -> None:
    rt = fake(GOOD_SUMMARY)
    result = summarise(rt, CTX, SOURCE, length="kurz")
    assert result.text.startswith("Das Bürgerbüro wird ab 1. Januar 2025")
    assert "**Kernpunkte**\n\n- Beschluss vom 04.10.2024\n- Freistaat trägt 40 Prozent" in result.text
    assert result.checks["unverified_numbers"] == [] and result.checks["numbers_verified"] == 4
    assert result.checks["numbers_in_summary"] == 4 and result.checks["source_numbers_kept"] == pytest.approx(4 / 6,
                                                                                                            abs=0.001)
    assert result.rounds == 1 and not result.fallback
    assert result.metrics["total_tokens"] == 120 and result.metrics["energy_method"] == "measured"
    [(messages, params)] = rt.gateway.calls
    assert params.max_tokens == 130 and params.temperature == 0.2
    assert "1 bis 2 Sätze" in messages[1].content and SOURCE in messages[1].content


def test_summarise_retries_once_then_marks_invented_numbers() -> None:
    invented = "Zusammenfassung: Umbau für 2 Mio. Euro ab 2026.\nKernpunkte:\n- 2 Mio. Euro\n- Bauzeit 18 Monate"
    rt = fake(invented)
    result = summarise(rt, CTX, SOURCE)
    assert result.rounds == 2 and result.fallback
    retry = rt.gateway.calls[1][0][1].content
    assert "2, 2026, 18" in retry
    assert result.checks["unverified_numbers"] == ["2", "2026", "18"]
    assert "2026 ⚠" in result.text and "⚠ nicht in der Quelle: 2, 2026, 18" in result.text
    assert result.metrics["prompt_tokens"] == 200  # summed over both calls


def test_summarise_retry_fixes_numbers() -> None:
    rt = fake("Zusammenfassung: Umbau ab 2026.\nKernpunkte:\n- a\n- b", GOOD_SUMMARY)
    result = summarise(rt, CTX, SOURCE)
    assert result.rounds == 2 and not result.fallback and result.checks["retried"]
    assert result.checks["unverified_numbers"] == []


def test_summarise_repairs_missing_structure() -> None:
    result = summarise(fake("- Umbau des Bürgerbüros\n- Ersatzstandort während der Bauzeit"), CTX, SOURCE)
    assert result.fallback and result.checks["structure_repaired"] and result.checks["has_summary"]
    assert "**Kernpunkte**" in result.text
    empty = summarise(fake(""), CTX, SOURCE)
    assert empty.fallback and empty.text.startswith("Der Stadtrat hat am 04.10.2024 beschlossen")


def test_summarise_keeps_the_length() -> None:
    sentence = ("Das Bürgerbüro in der Innenstadt wird umgebaut und während der Bauzeit an einem Ersatzstandort "
                "betrieben.")
    point = ("Der Ersatzstandort ist montags bis freitags von 8:00 bis 16:00 Uhr geöffnet, auch in den Ferien, sagt "
             "die Stadt.")
    more = ("Die Kosten betragen 1.250.000 Euro und werden zu 40 Prozent vom Freistaat getragen. Der Stadtrat hat "
            "den Umbau am 04.10.2024 beschlossen.")
    rt = fake(f"Zusammenfassung: {sentence} {more}\nKernpunkte:\n- {point}")
    result = summarise(rt, CTX, SOURCE, length="kurz")
    assert result.checks["trimmed"] and result.text.startswith(sentence + "\n\n**Kernpunkte**")
    assert result.text.endswith("- Der Ersatzstandort ist montags bis freitags von 8:00 bis 16:00 Uhr geöffnet …")
    assert "Wichtige Zahlen und Daten im Text: 04.10.2024, 1. Januar 2025" in rt.gateway.calls[0][0][1].content


def test_summarise_asks_for_missing_key_points() -> None:
    rt = fake("Zusammenfassung: Das Bürgerbüro wird umgebaut.", "- Umbau ab 1. Januar 2025\n- Kosten 1.250.000 Euro")
    result = summarise(rt, CTX, SOURCE)
    assert result.rounds == 2 and not result.fallback and not result.checks["structure_repaired"]
    assert result.text.endswith("**Kernpunkte**\n\n- Umbau ab 1. Januar 2025\n- Kosten 1.250.000 Euro")
    assert "Kernpunkte des Textes" in rt.gateway.calls[1][0][1].content


def test_a_copied_long_sentence_is_cut_to_its_main_clause() -> None:
    copied = ("Die Stadt erhebt für die Ausstellung eines Anwohnerparkausweises eine Gebühr von 30 Euro pro Jahr, "
              "wobei der Antrag frühestens sechs Wochen vor Ablauf des bisherigen Ausweises gestellt werden kann "
              "und die Bearbeitung in der Regel innerhalb von 10 Arbeitstagen erfolgt.")
    rt = fake(f"Zusammenfassung: {copied}\nKernpunkte:\n- Gebühr 30 Euro pro Jahr")
    result = summarise(rt, CTX, copied + " " + SOURCE, length="kurz")
    assert result.text.startswith("Die Stadt erhebt für die Ausstellung eines Anwohnerparkausweises eine Gebühr "
                                  "von 30 Euro pro Jahr.\n\n**Kernpunkte**")
    assert result.checks["trimmed"]
    # no safe cut (first clause too short or no comma): the sentence stays whole
    assert _main_clause("Kurz, aber sonst folgt ein sehr langer Satz ohne Ende.", 5).startswith("Kurz, aber")


def test_output_cut_at_the_limit_loses_only_its_unfinished_sentence() -> None:
    assert drop_unfinished("Der Antrag kostet 30 Euro. Seit dem 1. April 202") == "Der Antrag kostet 30 Euro."
    assert drop_unfinished("Am 1. April 2024 beginnt es. Dann kommt der") == "Am 1. April 2024 beginnt es."
    assert drop_unfinished("- Punkt eins\n- Punkt zw") == "- Punkt eins"
    assert drop_unfinished("Fertig.") == "Fertig."


def test_parse_summary_handles_markdown_labels() -> None:
    summary, points = parse_summary("**Zusammenfassung:** Satz eins.\nSatz zwei.\n\n### Kernpunkte\n"
                                          "1. A\n2. B\n* C")
    assert summary == "Satz eins. Satz zwei." and points == ["A", "B", "C"]


# --- simplify ----------------------------------------------------------------------------------------
HARD = ("Die Antragstellung für die Verlängerung der Aufenthaltserlaubnis muss spätestens 6 Wochen vor Ablauf "
        "erfolgen, wobei die erforderlichen Unterlagen vollständig beizufügen sind; unvollständige Anträge "
        "können nicht bearbeitet werden.")


def test_rule_simplify_only_splits_and_keeps_every_word() -> None:
    simple = rule_simplify(HARD, "B1")
    assert simple.count(".") == 2 and "Unvollständige Anträge können nicht bearbeitet werden." in simple
    assert re.sub(r"\W", "", simple.lower()) == re.sub(r"\W", "", HARD.lower())
    # ", und" after an inserted clause may join noun phrases: not split
    kept = "Der Antrag, den Sie im Bürgerbüro gestellt haben, und die Unterlagen liegen der Stadt seit Montag vor."
    assert rule_simplify(kept) == kept


def test_simplify_keeps_a_better_rewrite_and_reports_readability() -> None:
    rewrite = "Sie wollen länger bleiben? Dann stellen Sie einen Antrag. Das tun Sie 6 Wochen vor dem Ende."
    rt = fake(rewrite)
    result = simplify(rt, CTX, HARD, level="B1", max_rounds=1)
    assert "Dann stellen Sie einen Antrag." in result.text
    assert result.extra["level"] == "B1" and result.extra["target"] == rd.targets("B1")
    assert result.extra["after"]["wstf"] < result.extra["before"]["wstf"]
    assert result.extra["met"] == rd.meets(rd.measure(result.text.split("\n\n>")[0]), "B1")
    assert result.checks["sentences_rewritten"] >= 1 and result.rounds >= 1
    assert result.checks["unverified_numbers"] == [] and result.checks["source_numbers_kept"] == 1.0
    system, _, _, user = rt.gateway.calls[0][0]
    assert "Sprachniveau B1" in system.content and user.content.startswith("Die Antragstellung")
    assert "nötigen Unterlagen" in user.content  # simpler words replaced before the model is asked


def test_simplify_rejects_rewrites_that_change_numbers_or_script() -> None:
    text = HARD + (" Die Bearbeitung der vollständigen Unterlagen durch die zuständige Ausländerbehörde dauert "
                   "erfahrungsgemäß ungefähr 4 Wochen.")
    rt = fake("Sie haben 8 Wochen Zeit für den Antrag auf Verlängerung der Erlaubnis.", "这是中文 4 Wochen.",
              "Wir prüfen die Aufenthaltsgenehmigungsunterlagen.")
    result = simplify(rt, CTX, text, max_rounds=2)
    assert "8 Wochen" not in result.text and "中" not in result.text and "ungefähr" not in result.text
    assert result.checks["sentences_rewritten"] == 0 and result.rounds == 4  # each sentence asked twice
    reasons = result.checks["rejected_reasons"]
    assert reasons["numbers"] == 1 and reasons["script"] == 1 and sum(reasons.values()) == 4
    assert accept_rewrite("Wir prüfen die Unterlagen.", "Die Ausländerbehörde kontrolliert alles.", "B1") == (
        None, "new content")
    assert result.extra["chosen"] in ("rules", "rules + words") and result.fallback  # B1 not reached
    assert result.checks["source_numbers_kept"] == 1.0


def test_a_rewrite_line_with_an_invented_figure_is_dropped() -> None:
    original = ("Der Antrag muss spätestens 6 Wochen vor Ablauf gestellt werden, wobei die Bearbeitung in der Regel "
                "innerhalb von 10 Arbeitstagen erfolgt, sofern alle nötigen Nachweise vollständig vorliegen.")
    rewrite = ("Stellen Sie den Antrag 6 Wochen vor dem Ablauf.\nDas geht bis zum 01.07.2025.\n"
               "Die Bearbeitung dauert 10 Arbeitstage.\nAlle Nachweise müssen da sein.")
    kept, reason = accept_rewrite(original, rewrite, "B1")
    assert reason == "ok" and "2025" not in kept and "10 Arbeitstage" in kept and "6 Wochen" in kept
    # a figure of the original that is lost still rejects the rewrite
    lost = ("Stellen Sie den Antrag spätestens 6 Wochen vor dem Ablauf.\n"
            "Die Bearbeitung dauert meist nicht lange, wenn alle nötigen Nachweise vollständig da sind.")
    assert accept_rewrite(original, lost, "B1") == (None, "numbers")


def test_a_rejected_sentence_is_asked_once_more() -> None:
    good = "Stellen Sie den Antrag 6 Wochen vor dem Ende. Legen Sie alle Unterlagen bei."
    rt = fake("Sie haben 8 Wochen Zeit für den Antrag auf Verlängerung der Erlaubnis.", good)
    result = simplify(rt, CTX, HARD.split(";")[0] + ".", level="B1", max_rounds=3)
    assert result.rounds == 2 and result.checks["sentences_rewritten"] == 1
    assert result.checks["rejected_reasons"] == {"numbers": 1} and "Legen Sie alle Unterlagen bei." in result.text
    assert rt.gateway.calls[0][1].seed != rt.gateway.calls[1][1].seed


def test_simplify_easy_text_needs_no_model() -> None:
    rt = fake("unused")
    result = simplify(rt, CTX, "Das Amt ist zu. Es ist Sonntag. Wir sind ab Montag da.")
    assert result.rounds == 0 and result.extra["met"] and not result.fallback and rt.gateway.calls == []


# --- translate ---------------------------------------------------------------------------------------
def test_script_share_and_copy_share() -> None:
    assert script_share("Привіт, місто München!", "CYRILLIC", "München")[0] == 1.0
    assert script_share("Hello city", "CYRILLIC")[0] == 0.0
    assert script_share("مرحبا 水资源", "ARABIC")[1] == 3
    assert copy_share(SOURCE, SOURCE) == 1.0
    assert copy_share(SOURCE, "The city council decided to rebuild the citizens' office.") == 0.0


def test_translate_checks_and_retries() -> None:
    english = ("On 04.10.2024 the city council decided to rebuild the citizens' office from 1 January 2025. "
               "The costs are 1,250,000 euros, 40 percent of which is borne by the Free State. During the "
               "construction period of twelve months, requests are handled at a substitute location, open "
               "Monday to Friday from 8:00 to 16:00.")
    rt = fake(SOURCE, english)  # first a copy of the source, then a translation
    result = translate(rt, CTX, SOURCE, target="en")
    assert result.text == english and not result.fallback and result.rounds == 2
    assert result.checks["ok"] and result.checks["retries"] == 1 and result.checks["source_numbers_kept"] == 1.0
    assert result.extra == {"target": "en", "language_name": "English", "native_name": "English",
                            "source_language": "de", "model": "fake-chat"}
    retry = rt.gateway.calls[1][0][1].content
    assert "write only in English" in retry


def test_translate_reads_12_hour_times_and_drops_an_echoed_hint() -> None:
    """Found by bench/writing_tools.py: "3:30 PM" for "15:30 Uhr" was reported as a missing and an invented
    number, and the retry's hint came back at the end of a translation."""
    source = "Die Lesung beginnt am 9. Oktober 2027 um 15:30 Uhr, der Eintritt kostet 5 Euro."
    english = "The reading starts on October 9, 2027 at 3:30 PM; admission costs 5 euros."
    check = check_translation(source, english, "en")
    assert check["ok"] and check["missing_numbers"] == [] and check["unverified_numbers"] == []
    assert not check_translation(source, english.replace("PM", "AM"), "en")["ok"]  # 3:30 in the morning
    echoed = english.replace("5 euros", "6 euros") + "\nNote: keep these numbers / behalte diese Zahlen: 5"
    rt = fake(echoed, english + " Hinweis: behalte diese Zahlen: 5")
    result = translate(rt, CTX, source, target="en")
    assert result.text == english and result.rounds == 2 and not result.fallback


def test_translate_wrong_script_is_a_fallback_with_a_warning() -> None:
    result = translate(fake("The city council decided on 04.10.2024."), CTX, SOURCE, target="uk")
    assert result.fallback and result.checks["script"] == "CYRILLIC" and result.checks["script_share"] == 0.0
    assert "⚠" in result.text and result.rounds == 2
    ukrainian = check_translation("am 04.10.2024", "Міська рада ухвалила рішення 04.10.2024 року.", "uk")
    assert ukrainian["ok"] and ukrainian["script_share"] == 1.0


def test_translate_into_german_from_another_language() -> None:
    english = "The citizens' office will be closed on 04.10.2024 because of a staff meeting."
    german = "Das Bürgerbüro ist am 04.10.2024 wegen einer Personalversammlung geschlossen."
    rt = fake(german)
    result = translate(rt, CTX, english, target="de")
    assert result.text == german and not result.fallback and result.extra["source_language"] == "en"
    system = rt.gateway.calls[0][0][0].content
    assert "ins Deutsche" in system and "Translate the English text into German (Deutsch)" in system


def test_translate_long_text_in_chunks() -> None:
    paragraphs = [f"Absatz {i}: Die Stadtverwaltung informiert über die neuen Öffnungszeiten des Amtes." for i in
                  range(1, 9)]
    rt = fake(lambda messages: "Paragraph: The city administration informs about the new opening hours. "
              + " ".join(re.findall(r"\d+", messages[1].content.split("translation:")[0])), max_output_tokens=128)
    result = translate(rt, CTX, "\n\n".join(paragraphs), target="en")
    assert result.checks["chunks"] > 1 and result.rounds == result.checks["chunks"]
    assert result.checks["source_numbers_kept"] == 1.0


# --- draft -------------------------------------------------------------------------------------------
POINTS = "- Antrag vom 12.03.2025 eingegangen\n- Lageplan fehlt\n- Frist zur Nachreichung: 30.04.2025"


def test_salutations_fit_the_recipient() -> None:
    assert salutation_for(None) == "Sehr geehrte Damen und Herren,"
    assert salutation_for("Frau Dr. Müller") == "Sehr geehrte Frau Dr. Müller,"
    assert salutation_for("Herrn Schmidt") == "Sehr geehrter Herr Schmidt,"
    assert salutation_for("Alex Weber") == "Guten Tag Alex Weber,"
    assert salutation_for("Stadtwerke München GmbH") == "Sehr geehrte Damen und Herren,"
    assert salutation_for("Kolleginnen und Kollegen") == "Liebe Kolleginnen und Kollegen,"


def test_gender_fair_replacements_and_flags() -> None:
    text, replaced, flagged = gender_fair(
        "Die Mitarbeiter helfen allen Bürgern. Der Antragsteller erhält Post. Wir schreiben dem Antragsteller. "
        "Liebe Kollegen, die neuen Mitarbeiter sind da. Ein Mitarbeiter fehlt. Bürgerinnen und Bürger sowie "
        "Mitarbeiter*innen sind eingeladen. Für Bürger gilt das auch.")
    assert text == ("Die Mitarbeitenden helfen allen Bürgerinnen und Bürgern. Die antragstellende Person erhält "
                    "Post. Wir schreiben der antragstellenden Person. Liebe Kolleginnen und Kollegen, die neuen "
                    "Mitarbeitenden sind da. Ein Mitarbeiter fehlt. Bürgerinnen und Bürger sowie Mitarbeiter*innen "
                    "sind eingeladen. Für Bürgerinnen und Bürger gilt das auch.")
    assert {"from": "Mitarbeitern", "to": "Mitarbeitenden"} not in replaced
    assert {"from": "Bürgern", "to": "Bürgerinnen und Bürgern"} in replaced and len(replaced) == 7
    assert flagged == [{"text": "ein Mitarbeiter", "suggestion": "Mitarbeitende"}]


def test_draft_from_a_complete_model_letter() -> None:
    letter = ("Betreff: Ihr Antrag vom 12.03.2025\n\nSehr geehrte Frau Müller,\n\nIhr Antrag vom 12.03.2025 ist "
              "eingegangen. Leider fehlt der Lageplan. Bitte reichen Sie ihn bis zum 30.04.2025 nach. Die "
              "Mitarbeiter des Bürgerbüros helfen gern.\n\nMit freundlichen Grüßen")
    result = draft(fake(letter), CTX, POINTS, kind="brief", recipient="Frau Müller")
    assert result.text.startswith("**Betreff:** Ihr Antrag vom 12.03.2025\n\nSehr geehrte Frau Müller,")
    assert "Die Mitarbeitenden des Bürgerbüros" in result.text and result.text.endswith("Mit freundlichen Grüßen")
    c = result.checks
    assert c["has_subject"] and c["has_salutation"] and c["has_closing"] and c["points_covered"] == 1.0
    assert c["gender_fair"]["replaced"] == [{"from": "Mitarbeiter", "to": "Mitarbeitenden"}]
    assert not result.fallback and result.rounds == 1 and result.extra["kind"] == "brief"


def test_draft_adds_missing_structure_and_points() -> None:
    rt = fake("Ihr Antrag ist eingegangen.")
    result = draft(rt, CTX, POINTS, kind="email", recipient="Alex Weber")
    lines = result.text.split("\n")
    assert lines[0] == "**Betreff:** Antrag vom 12.03.2025 eingegangen" and lines[2] == "Guten Tag Alex Weber,"
    assert "- Lageplan fehlt" in result.text and result.text.endswith("Mit freundlichen Grüßen")
    assert result.fallback and result.rounds == 2  # one retry for the missing points
    assert set(result.checks["repairs"]) >= {"subject", "salutation", "closing", "points appended"}
    assert result.checks["points_covered"] == 1.0 and not result.checks["has_subject"]


def test_draft_corrects_a_wrong_salutation() -> None:
    letter = "Betreff: Antrag\n\nSehr geehrter Herr Müller, Ihr Antrag vom 12.03.2025 ist eingegangen, der " \
             "Lageplan fehlt, Frist zur Nachreichung ist der 30.04.2025.\n\nMit freundlichen Grüßen"
    result = draft(fake(letter), CTX, POINTS, recipient="Frau Müller")
    assert "Sehr geehrte Frau Müller, Ihr Antrag vom 12.03.2025" in result.text
    assert result.checks["repairs"] == ["salutation corrected"] and not result.fallback


def test_draft_with_a_wrong_date_is_retried_and_then_marked() -> None:
    """Found by bench/writing_tools.py: the real model moved "12. März" to "11. März" and dropped the time, and
    the points still counted as covered (enough words matched)."""
    points = "- Ihr Termin wird auf den 12. März 2027 um 10:00 Uhr verschoben\n- bitte Personalausweis mitbringen"
    wrong = ("Betreff: Termin\n\nSehr geehrte Frau Roth,\n\nIhr Termin wird auf den 11. März 2027 verschoben. Bitte "
             "bringen Sie Ihren Personalausweis mit.\n\nMit freundlichen Grüßen\n\n[Dein Name]")
    rt = fake(wrong)
    result = draft(rt, CTX, points, recipient="Frau Roth")
    assert result.rounds == 2 and "11. März 2027" in rt.gateway.calls[1][0][1].content  # named in the retry
    assert result.checks["unverified_numbers"] == ["11. März 2027"] and result.fallback
    assert "11. März 2027 ⚠" in result.text and "⚠ nicht in der Quelle: 11. März 2027" in result.text
    assert "- Ihr Termin wird auf den 12. März 2027 um 10:00 Uhr verschoben" in result.text  # appended
    assert "[Dein Name]" not in result.text and "placeholder removed" in result.checks["repairs"]
    right = wrong.replace("11. März 2027", "12.03.2027 um 10:00 Uhr").replace("\n\n[Dein Name]", "")
    result = draft(fake(right), CTX, points, recipient="Frau Roth")  # another spelling of the same date
    assert result.checks["points_covered"] == 1.0 and result.checks["unverified_numbers"] == []
    assert not result.fallback and result.rounds == 1


# --- brainstorm --------------------------------------------------------------------------------------
def test_outline_parsing_and_restructuring() -> None:
    topic, roots = parse_outline("# KI im Bürgerbüro\n- Ziele\n  - schneller\n  - freundlicher\n"
                                       "- Risiken\n    - Datenschutz\n- Schritte\n\t- Pilot")
    assert topic == "KI im Bürgerbüro" and [r.text for r in roots] == ["Ziele", "Risiken", "Schritte"]
    assert [c.text for c in roots[0].children] == ["schneller", "freundlicher"] and outline_ok(roots)
    topic, roots = parse_outline("## **Ziele**\n- schneller\n## Risiken\n- Datenschutz\n## Schritte\n- Pilot")
    assert topic is None and outline_ok(roots) and roots[0].text == "Ziele"
    topic, roots = parse_outline("- KI\n  - Ziele\n    - a\n  - Risiken\n  - Schritte")
    assert not outline_ok(roots)
    topic, roots, steps = restructure(topic, roots)
    assert topic == "KI" and [r.text for r in roots] == ["Ziele", "Risiken", "Schritte"] and steps
    _, roots = parse_outline("- Ziele: schneller, freundlicher\n- Risiken: Datenschutz und Akzeptanz\n"
                                   "- Technik: Erstellen einer effizienten, intuitiven Kommunikation\n- Pilot")
    _, roots, steps = restructure(None, roots)
    assert outline_ok(roots) and [c.text for c in roots[0].children] == ["schneller", "freundlicher"]
    assert [c.text for c in roots[1].children] == ["Datenschutz und Akzeptanz"]  # no keyword list: one sub-item
    assert [c.text for c in roots[2].children] == ["Erstellen einer effizienten, intuitiven Kommunikation"]


def test_brainstorm_outline_and_mindmap() -> None:
    reply = ("```markdown\n# KI im Bürgerbüro\n- Ziele\n  - Wartezeit (kürzer)\n- Risiken\n  - Datenschutz\n"
             "- Schritte\n```")
    result = brainstorm(fake(reply), CTX, "KI im Bürgerbüro")
    assert result.text.startswith("# KI im Bürgerbüro\n\n- Ziele\n  - Wartezeit (kürzer)")
    assert result.checks["is_outline"] and result.checks["top_level_items"] == 3 and result.checks["depth"] == 2
    assert not result.fallback
    assert result.extra["mermaid"].split("\n")[:4] == ["mindmap", "  root((KI im Bürgerbüro))", "    Ziele",
                                                       "      Wartezeit kürzer"]


def test_mermaid_node_texts_are_safe_and_short() -> None:
    roots = [Node("Ziele (2025): schneller; [online]", [Node("Erstellen einer effizienten und intuitiven "
                                                                        "Kommunikation zwischen den Menschen")])]
    lines = mermaid_mindmap("Thema \"KI\"", roots).split("\n")
    assert lines == ["mindmap", "  root((Thema KI))", "    Ziele 2025 schneller online",
                     "      Erstellen einer effizienten und intuitiven Kommunikation …"]


def test_brainstorm_without_usable_outline_gets_a_template() -> None:
    result = brainstorm(fake("Das ist eine gute Idee."), CTX, "Neues Parkraumkonzept")
    assert result.fallback and result.checks["is_outline"] and "# Neues Parkraumkonzept" in result.text
    assert "template" in result.checks["restructured"]


def test_brainstorm_with_a_repeated_branch_is_flagged() -> None:
    """Found by bench/writing_tools.py: the real model wrote the same branch five times, which parsed as a
    valid outline."""
    branch = "- Digitale Terminvergabe\n  - Online buchen\n  - Erinnerung per SMS\n"
    result = brainstorm(fake("# Digitale Terminvergabe\n" + branch * 5), CTX, "Digitale Terminvergabe")
    assert result.checks["repeated_items_removed"] == 12 and "repeated items removed" in result.checks["restructured"]
    assert result.text.count("Online buchen") == 1 and result.fallback and not result.checks["parsed_as_outline"]
    _, roots = parse_outline("# Bäume\n- Pflege\n  - Pflege\n  - Gießen\n- Pflanzung\n  - Gießen\n  - Standorte")
    roots, removed = drop_repeated(roots)  # a sub-item equal to its parent, and one repeated in another branch
    assert removed == 2 and [[c.text for c in r.children] for r in roots] == [["Gießen"], ["Standorte"]]


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("tool", "text", "options", "message"), [
    ("summarise", "   ", {}, "leer"),
    ("summarise", SOURCE, {"length": "episch"}, "unknown length 'episch'"),
    ("simplify", SOURCE, {"level": "C2"}, "unknown level 'C2'"),
    ("simplify", SOURCE, {"max_rounds": 9}, "max_rounds must be 1–5"),
    ("translate", SOURCE, {"target": "xx"}, "unknown target language 'xx'"),
    ("translate", SOURCE, {"target": "de"}, "already in the target language"),
    ("draft", POINTS, {"kind": "fax"}, "unknown kind 'fax'"),
    ("brainstorm", "\x00 ", {}, "empty"),
])
def test_bad_input(tool: str, text: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(message)):
        TOOLS[tool].function(fake("unused"), CTX, text, **options)


@pytest.mark.parametrize("tool", ["summarise", "simplify", "translate", "draft", "brainstorm"])
def test_text_too_long_for_the_model(tool: str) -> None:
    with pytest.raises(BadRequest, match=r"too long for model fake-chat \(about \d+ tokens, at most \d+\)") as exc:
        TOOLS[tool].function(fake("unused", context_length=1024, max_output_tokens=256), CTX, SOURCE * 40)
    assert exc.value.extra["tokens"] > exc.value.extra["max_tokens"]


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        summarise(fake("unused"), CTX, SOURCE, colour="blau")  # type: ignore[call-arg]



# --- the registry and the options models -------------------------------------------------------------
def test_each_tool_is_registered_with_the_options_of_its_function() -> None:
    for name, tool in TOOLS.items():
        params = inspect.signature(tool.function).parameters
        keywords = {k: p.default for k, p in params.items() if p.kind is p.KEYWORD_ONLY and k != "model"}
        assert keywords == {k: f.default for k, f in tool.options.model_fields.items()}, name
        assert tool.name == tool.function.__name__ == tool.options.tool == name
    # the chat modes offered by the API and the web workspace, and the workspace's target languages
    from rathaus.api.routers.chats import Mode
    from rathaus.web.workspace import LANGUAGES as PAGE_LANGUAGES
    from rathaus.web.workspace import MODES

    assert get_args(Mode) == MODES == ("chat", *TOOLS)
    assert list(get_args(Language)) == list(LANGUAGES) == list(PAGE_LANGUAGES)


@pytest.mark.parametrize(("tool", "given", "parsed"), [
    ("summarise", {"length": " Short "}, {"length": "kurz"}),
    ("summarise", {"length": None}, {"length": "mittel"}),
    ("simplify", {"level": "a2", "max_rounds": "2"}, {"level": "A2", "max_rounds": 2}),
    ("translate", {"target": "UK"}, {"target": "uk"}),
    ("draft", {"kind": "E-Mail", "recipient": "Frau Müller"}, {"kind": "email", "recipient": "Frau Müller"}),
    ("brainstorm", {}, {}),
])
def test_options_match_case_and_aliases(tool: str, given: dict[str, Any], parsed: dict[str, Any]) -> None:
    assert TOOLS[tool].parse(given).model_dump() == parsed


@pytest.mark.parametrize(("tool", "given", "message"), [
    ("summarise", {"length": 3}, "summarise: unbekannte(r) Länge 3; erlaubt: kurz, mittel, lang / unknown length 3; "
                                 "allowed: kurz, mittel, lang"),
    ("simplify", {"max_rounds": True}, "simplify: max_rounds muss zwischen 1 und 5 liegen / max_rounds must be 1–5, "
                                       "not True"),
    ("simplify", {"max_rounds": "2.5"}, "max_rounds must be 1–5, not '2.5'"),
    ("draft", {"recipient": "x" * 201}, "draft: recipient muss ein Text mit höchstens 200 Zeichen sein / "
                                        "recipient must be a string of at most 200 characters"),
    ("draft", {"recipient": 7}, "recipient must be a string of at most 200 characters"),
    ("summarise", {"level": "A2", "length": "kurz"}, "mode 'summarise' takes no option level; it takes length"),
    ("brainstorm", {"topic": "x"}, "mode 'brainstorm' takes no option topic; it takes none"),
])
def test_bad_options_are_one_readable_line(tool: str, given: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        TOOLS[tool].parse(given)
    assert message in exc.value.detail and "\n" not in exc.value.detail


def test_a_tool_runs_through_the_registry_with_validated_options() -> None:
    rt = fake(GOOD_SUMMARY)
    result = TOOLS["summarise"].run(rt, CTX, SOURCE, options={"length": "short"})
    assert result.extra["length"] == "kurz" and rt.gateway.calls[0][1].max_tokens == 130

# --- the real shipped model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tool_runtime(pg_data_dir: Path, models_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The test catalogue with room for tool answers (local-chat: max_output_tokens 16 → 256)."""
    import uuid

    from conftest import MODEL_CACHE
    from rathaus.core.settings import Settings

    text = models_file.read_text()
    assert "max_output_tokens: 16" in text
    path = tmp_path_factory.mktemp("tools") / "models.yaml"
    path.write_text(text.replace("max_output_tokens: 16", "max_output_tokens: 256", 1))
    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        database_name="t_" + uuid.uuid4().hex[:12], models_file=path, llm_threads=2)
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


@pytest.mark.model
def test_summarise_with_the_real_model(tool_runtime: Runtime) -> None:
    result = summarise(tool_runtime, CTX, SOURCE, length="kurz")
    c = result.checks
    assert result.text.strip() and "**Kernpunkte**" in result.text and c["key_points"] >= 1
    assert c["numbers_verified"] + len(c["unverified_numbers"]) == c["numbers_in_summary"]
    if c["unverified_numbers"]:  # marked, never silently shown
        assert result.fallback and "⚠ nicht in der Quelle" in result.text
    else:
        assert c["numbers_verified"] == c["numbers_in_summary"]
    assert 0.0 <= c["source_numbers_kept"] <= 1.0
    assert 1 <= result.rounds <= 3 and result.metrics["completion_tokens"] > 0
    assert result.metrics["total_tokens"] == result.metrics["prompt_tokens"] + result.metrics["completion_tokens"]
    assert result.metrics["energy_wh"] > 0 and result.extra["model"] == "local-chat"


@pytest.mark.model
def test_simplify_with_the_real_model(tool_runtime: Runtime) -> None:
    result = simplify(tool_runtime, CTX, HARD, level="B1", max_rounds=1)
    before, after = result.extra["before"], result.extra["after"]
    assert after["wstf"] <= before["wstf"] and after["avg_sentence_words"] < before["avg_sentence_words"]
    assert result.extra["met"] == rd.meets(rd.Readability(**after), "B1")
    assert result.checks["source_numbers_kept"] == 1.0 and result.checks["unverified_numbers"] == []
    assert "6 Wochen" in result.text
    assert result.rounds >= 1 and result.metrics["prompt_tokens"] > 0 and result.metrics["completion_tokens"] > 0
    assert result.fallback == (not result.extra["met"])


@pytest.mark.model
def test_translate_into_ukrainian_with_the_real_model(tool_runtime: Runtime) -> None:
    notice = ("Der Deutschkurs im Bürgerhaus beginnt am 10. Januar 2027 und dauert 6 Monate. "
              "Der Unterricht ist kostenlos.")
    result = translate(tool_runtime, CTX, notice, target="uk")
    share, _ = script_share(result.text, "CYRILLIC", notice)
    assert share >= 0.85 and result.extra["target"] == "uk"  # Ukrainian in Cyrillic, not German or Russian
    assert result.checks["detected_language"] == "uk"
    assert check_numbers(notice, result.text, loose_dates=True)["missing_numbers"] == []  # date and 6 kept
    assert "2027" in result.text and re.search(r"\b10\b", result.text)


@pytest.mark.model
def test_draft_with_the_real_model(tool_runtime: Runtime) -> None:
    points = "- Termin im Bürgerbüro verschoben auf den 12. März 2027 um 10:00 Uhr\n- Personalausweis mitbringen"
    letter = draft(tool_runtime, CTX, points, kind="email", recipient="Frau Roth")
    lines = letter.text.split("\n")
    assert lines[0].startswith("**Betreff:**") and "Sehr geehrte Frau Roth," in lines
    assert "Mit freundlichen Grüßen" in letter.text and letter.checks["points_covered"] == 1.0
    assert check_numbers(points, letter.text)["missing_numbers"] == []  # the date and time, in any spelling
    if letter.checks["unverified_numbers"]:  # an invented date is marked, never silently shown
        assert letter.fallback and "⚠ nicht in der Quelle" in letter.text


@pytest.mark.model
def test_brainstorm_with_the_real_model(tool_runtime: Runtime) -> None:
    ideas = brainstorm(tool_runtime, CTX, "Mehr Bäume in der Innenstadt")
    topic, roots = parse_outline(ideas.text)
    texts = [r.text.casefold() for r in roots]
    assert topic and ideas.checks["is_outline"] and len(roots) >= 3 and len(set(texts)) == len(texts)
    assert all(re.search(r"[a-zäöüß]", t) for t in texts) and ideas.extra["mermaid"].startswith("mindmap")
