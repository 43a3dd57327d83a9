"""Answer thresholds picked from labelled questions (rathaus.assistants.calibrate, `rathaus eval thresholds`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import cli_runner, one_line_error
from rathaus.assistants.answer import MIN_EVIDENCE_SIMILARITY, Answerer
from rathaus.assistants.calibrate import Signal, calibrate, collect, measure
from rathaus.assistants.definitions import Assistant
from rathaus.core.auth import local_principal
from rathaus.core.errors import BadRequest
from rathaus.core.settings import Settings
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl
from rathaus.runtime import Runtime

ENTRIES = [
    {"id": "ausweis", "title": "Wie beantrage ich einen Personalausweis?",
     "text": "Den Personalausweis beantragen Sie persönlich im Bürgerbüro. Bringen Sie ein biometrisches Passfoto "
             "und Ihren alten Ausweis mit. Die Gebühr für den Personalausweis beträgt 37 Euro."},
    {"id": "hund", "title": "Muss ich meinen Hund anmelden?",
     "text": "Jeder Hund muss innerhalb von zwei Wochen bei der Steuerabteilung angemeldet werden. "
             "Die Hundesteuer beträgt 100 Euro im Jahr für den ersten Hund."},
    {"id": "sperrmuell", "title": "Wie bekomme ich einen Termin für die Sperrmüllabholung?",
     "text": "Sperrmüll wie alte Möbel wird zweimal im Jahr kostenlos abgeholt. Einen Termin für die Abholung "
             "vereinbaren Sie beim Abfallwirtschaftsbetrieb online oder telefonisch."},
]
QUESTIONS = [
    {"question": "Was kostet ein neuer Personalausweis?", "passage_id": "ausweis"},
    {"question": "Wie viel Hundesteuer muss ich zahlen?", "passage_id": "hund"},
    {"question": "Wann werden alte Möbel abgeholt?", "passage_id": "sperrmuell"},
]
OFF_TOPIC = [{"question": "Wie hoch ist der Eiffelturm in Paris?"}, {"question": "Stell den Wecker auf sieben Uhr"}]


def test_calibrate_picks_the_most_right_answers_within_the_wrong_limit() -> None:
    labelled = [Signal(0.6, 0.7, ("a",), "a"), Signal(0.5, 0.4, ("b",), "a"), Signal(0.45, 0.55, ("c", "b"), "b"),
                Signal(0.3, 0.2, ("x",), "c")]
    off_topic = [Signal(0.35, 0.6, ("a",)), Signal(0.1, 0.1, ())]
    result = calibrate(labelled, off_topic, max_wrong=0.0)
    # evidence between 0.4 (a wrong answer) and 0.55 (a right one), halfway; only the passage cut (between 0.35
    # and 0.45) turns the off-topic question away
    assert (result.min_similarity, result.min_evidence_similarity) == (0.4, 0.475)
    assert result.outcomes.right_share == 0.5 and result.outcomes.wrong_share == 0.0
    assert result.outcomes.abstention_rate == 0.5 and result.outcomes.off_topic_abstention_rate == 1.0
    assert result.yaml() == "min_similarity: 0.4\nmin_evidence_similarity: 0.475\n"
    # with every gate open every cited question is answered: 2 right, 2 wrong, the off-topic one answered
    everything = measure(labelled, off_topic, -1.0, -1.0)
    assert (everything.right_share, everything.wrong_share, everything.off_topic_abstention_rate) == (0.5, 0.5, 0.5)
    with pytest.raises(BadRequest, match="at least one labelled question"):
        calibrate([])
    with pytest.raises(BadRequest, match="between 0 and 1"):
        calibrate(labelled, max_wrong=2.0)


def test_thresholds_calibrated_on_a_collection_steer_the_real_answerer(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    entries = tmp_path / "faq.jsonl"
    entries.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in ENTRIES), encoding="utf-8")
    settings = make_settings()
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        with rt.db.session() as session:
            collections.create(session, principal, "faq", embedding_model=rt.catalog.defaults.embedding)
        sources, problems = sources_from_jsonl(entries)
        assert Ingestor(rt, principal, "faq").run(sources, failures=problems).counts["added"] == 3
        assistant = Assistant(name="faq", title={"de": "FAQ"}, persona="Du beantwortest Fragen zur Stadt.",
                              collections=["faq"], department="Test", contacts=[{"label": {"de": "Bürgertelefon"},
                                                                                 "phone": "115"}])
        signals = collect(rt, assistant, QUESTIONS)
        away = collect(rt, assistant, OFF_TOPIC)
        assert [s.cited[0] for s in signals] == ["ausweis", "hund", "sperrmuell"]  # the best quote, right entry
        assert [s.gold for s in signals] == ["ausweis", "hund", "sperrmuell"] and all(s.gold is None for s in away)
        fused = assistant.model_copy(update={"rescore": False})  # the hybrid's fused ranks, titles included
        assert [s.cited[0] for s in collect(rt, fused, QUESTIONS)] == ["ausweis", "hund", "sperrmuell"]
        on_topic = min(min(s.passage_similarity for s in signals), min(s.evidence_similarity for s in signals))
        assert on_topic > max(s.evidence_similarity for s in away)  # the topics are told apart
        result = calibrate(signals, away, max_wrong=0.0, min_off_topic_abstention=1.0)
        assert result.outcomes.right_share == 1.0 and result.outcomes.off_topic_abstention_rate == 1.0

        tuned = assistant.model_copy(update={"min_similarity": result.min_similarity,
                                             "min_evidence_similarity": result.min_evidence_similarity})
        assert Answerer(rt, tuned).thresholds == (result.min_similarity, result.min_evidence_similarity)
        answer = Answerer(rt, tuned).answer(QUESTIONS[0]["question"])
        assert not answer.abstained and answer.citations[0].source == "jsonl:ausweis"
        assert all(c.verified for c in answer.citations)
        refused = Answerer(rt, tuned).answer(OFF_TOPIC[0]["question"])
        assert refused.abstained and refused.citations == [] and "115" in refused.text
        # a threshold of 0 is a threshold (not "use the platform's"); unset falls back to the platform's
        zero = assistant.model_copy(update={"min_similarity": 0.0})
        assert Answerer(rt, zero).thresholds == (0.0, MIN_EVIDENCE_SIMILARITY)


def test_eval_thresholds_names_a_missing_or_unlabelled_file(make_settings: Callable[..., Settings],
                                                            tmp_path: Path) -> None:
    run = cli_runner(make_settings(), tmp_path, "eval", "thresholds")
    one_line_error(run(str(tmp_path / "missing.jsonl"), "--assistant", "ki-roadmap"), "no such file")
    unlabelled = tmp_path / "questions.jsonl"
    unlabelled.write_text(json.dumps({"question": "Was kostet ein Personalausweis?"}) + "\n", encoding="utf-8")
    one_line_error(run(str(unlabelled), "--assistant", "ki-roadmap"), "missing passage_id")
