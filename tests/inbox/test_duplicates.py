"""Duplicate index on synthetic German messages; embeddings are a tiny bag-of-words stand-in (tests need no model)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rathaus.inbox.duplicates import (
    DuplicateIndex,
    IndexRecord,
    Thresholds,
    calibrate,
    normalise_address,
    pair_scores,
    shingles,
)

VOCAB = ["wohngeld", "antrag", "bearbeitung", "dauert", "lange", "stand", "parkausweis", "anwohner", "verlängern",
         "müll", "abholung", "tonne"]
SYNONYMS = {"mietzuschuss": "wohngeld", "zuschuss": "wohngeld", "bearbeitet": "bearbeitung", "ewig": "lange"}


def embed(texts: list[str]) -> np.ndarray:
    """Stand-in for an embedder: counts of topic words after mapping synonyms, so paraphrases land close."""
    out = np.zeros((len(texts), len(VOCAB)), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().replace(".", " ").replace(",", " ").replace("?", " ").split():
            word = SYNONYMS.get(word, word)
            if word in VOCAB:
                out[i, VOCAB.index(word)] += 1
    return out


LETTER = ("Sehr geehrte Damen und Herren, mein Antrag auf Wohngeld vom 3. März ist immer noch nicht bearbeitet. "
          "Ich bitte um eine kurze Nachricht zum Stand der Bearbeitung. Mit freundlichen Grüßen, Erika Musterfrau")
WHEN = dt.datetime(2026, 3, 2, 9, 0)


@pytest.fixture()
def index() -> DuplicateIndex:
    idx = DuplicateIndex(embed=embed, thresholds=Thresholds(related_cosine=0.8))
    idx.add("m1", LETTER, sender="Erika Musterfrau <erika.musterfrau+wg@example.org>", received_at=WHEN,
            message_id="<m1@example.org>")
    idx.add("m2", "Die Mülltonne wurde heute wieder nicht geleert, bitte Abholung nachholen.",
            sender="max@example.org", received_at=WHEN)
    idx.add("m3", "Anwohner Parkausweis verlängern: wie geht das?", sender="anna@example.org",
            case_numbers=["PA-2026/17"], received_at=WHEN)
    return idx


def test_shingles_and_address_normalisation() -> None:
    assert shingles("Ein kurzer Text", 3) == {"ein kurzer text"}
    assert shingles("a b", 3) == {"a b"}
    assert shingles("eins zwei drei vier", 2) == {"eins zwei", "zwei drei", "drei vier"}
    assert shingles("", 3) == set()
    assert normalise_address("Erika <E.Musterfrau+wg@Example.ORG>") == "e.musterfrau@example.org"
    assert normalise_address("keine Adresse") is None
    with pytest.raises(ValueError, match="shingle size"):
        shingles("x", 0)


def test_near_identical_text_is_a_duplicate_by_minhash_alone() -> None:
    idx = DuplicateIndex()  # no embedder: MinHash only
    idx.add("m1", LETTER)
    idx.add("m2", "Die Mülltonne wurde heute wieder nicht geleert, bitte Abholung nachholen.")
    again = LETTER.replace("kurze", "baldige")  # 3 of 31 word 3-shingles change: Jaccard 28/34 = 0.82
    (match,) = idx.query(again, sender="other@example.org")
    assert match.id == "m1" and match.kind == "duplicate"
    assert 0.7 <= match.score <= 0.95
    assert "MinHash-Jaccard" in match.reason


def test_paraphrase_is_related_by_embedding(index: DuplicateIndex) -> None:
    matches = index.query("Wie ist der Stand der Bearbeitung? Mein Antrag auf Mietzuschuss wird ewig nicht bearbeitet.")
    assert [(m.id, m.kind) for m in matches] == [("m1", "related")]
    assert "Kosinus" in matches[0].reason and matches[0].score >= 0.8


def test_same_sender_by_address_or_case_number_within_the_window(index: DuplicateIndex) -> None:
    by_address = index.query("Ganz neues Thema: Hundesteuer.", sender="ERIKA.MUSTERFRAU@example.org",
                             received_at=WHEN + dt.timedelta(days=30))
    assert [(m.id, m.kind) for m in by_address] == [("m1", "same_sender")]
    assert "gleiche Absenderadresse" in by_address[0].reason
    by_case = index.query("Nachfrage", case_numbers=["pa-2026/17 "])
    assert [(m.id, m.kind) for m in by_case] == [("m3", "same_sender")]
    too_late = index.query("Hundesteuer", sender="erika.musterfrau@example.org",
                           received_at=WHEN + dt.timedelta(days=400))
    assert too_late == []


def test_strongest_kind_wins_and_reason_lists_every_signal(index: DuplicateIndex) -> None:
    (match,) = index.query(LETTER, sender="erika.musterfrau@example.org", received_at=WHEN)
    assert match.kind == "duplicate" and match.id == "m1"
    assert "gleiche Absenderadresse" in match.reason and "MinHash" in match.reason


def test_add_returns_matches_and_groups_duplicates_and_replies(index: DuplicateIndex) -> None:
    matches = index.add("m4", LETTER + " Danke.", received_at=WHEN)
    assert [m.id for m in matches if m.kind == "duplicate"] == ["m1"]
    index.add("m5", "Re: Ihre Anfrage – wir melden uns.", in_reply_to="<m1@example.org>")
    index.add("m7", "Antwort auf eine spätere Nachricht", in_reply_to="<m6@example.org>")
    index.add("m6", "Parkausweis abgelaufen", message_id="m6@example.org")  # parent indexed after its reply
    assert index.groups() == [["m1", "m4", "m5"], ["m6", "m7"]]
    assert index.group_of("m2") == ["m2"]
    assert "m4" in index and len(index) == 7


def test_exclude_and_remove(index: DuplicateIndex) -> None:
    assert index.query(LETTER, exclude_id="m1") == []
    index.remove("m1")
    assert index.query(LETTER) == [] and "m1" not in index
    index.remove("m1")  # twice is fine


def test_build_from_records_equals_incremental_adds() -> None:
    records = [IndexRecord("a", LETTER, embed([LETTER])[0]), IndexRecord("b", LETTER + " Bitte!", None)]
    idx = DuplicateIndex.build(records, embed=embed)
    assert idx.groups() == [["a", "b"]]


def test_bad_input() -> None:
    idx = DuplicateIndex()
    idx.add("a", "", None)  # empty text: indexed, matches nothing
    idx.add("b0", "?!", None)
    assert idx.query("") == [] and idx.query("?!") == []
    with pytest.raises(ValueError, match="already in the duplicate index"):
        idx.add("a", "x")
    with pytest.raises(TypeError, match="text must be a string"):
        idx.add("b", None)  # type: ignore[arg-type]
    idx.add("c", "eins", np.ones(4))
    with pytest.raises(ValueError, match="4"):
        idx.add("d", "zwei", np.ones(5))
    with pytest.raises(ValueError, match="related_cosine"):
        Thresholds(related_cosine=0.0)
    with pytest.raises(KeyError, match="not in the duplicate index"):
        idx.group_of("zz")


def test_huge_text_is_indexed() -> None:
    idx = DuplicateIndex()
    huge = " ".join(f"wort{i % 5000}" for i in range(200_000))
    idx.add("big", huge)
    assert idx.query(huge)[0].kind == "duplicate"


def test_calibrate_picks_thresholds_that_separate_tuning_pairs() -> None:
    a = [LETTER, "Wie verlängere ich den Anwohner Parkausweis?", "Mülltonne nicht geleert", "Wohngeld Antrag Stand"]
    b = [LETTER + " Danke", "Parkausweis für Anwohner verlängern", "Wohngeld Antrag Stand bitte",
         "Abholung der Tonne fehlt"]
    labels = [1, 1, 0, 0]
    jac, cos = pair_scores(a, b, embed(a), embed(b))
    assert cos is not None and jac[0] > 0.8
    cal = calibrate(labels, jac, cos)
    assert cal.f1 == 1.0 and cal.precision == 1.0 and cal.recall == 1.0 and cal.pairs == 4
    assert cal.thresholds.related_cosine <= cos[1]
    with pytest.raises(ValueError, match="both labels"):
        calibrate([1, 1], jac[:2], cos[:2])
    with pytest.raises(ValueError, match="one entry per pair"):
        calibrate([1, 0, 1], jac[:2])
