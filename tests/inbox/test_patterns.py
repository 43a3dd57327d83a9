"""Topics and spikes on a synthetic inbox: three invented topics over ten weeks, one of them surging in week 9."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rathaus.core.errors import BadRequest
from rathaus.inbox.patterns import (
    OTHER,
    PatternMessage,
    find_spikes,
    monday,
    pattern_report,
    patterns_by_department,
    terms,
    topic_clusters,
    topic_plot,
    weekly_counts,
)

START = dt.date(2026, 1, 5)  # a Monday
TEMPLATES = {
    "wohngeld": ["Mein Wohngeld Antrag wird seit Wochen nicht bearbeitet, Bearbeitung dauert zu lange ({i}).",
                 "Wann wird mein Wohngeld bewilligt? Die Bearbeitung des Wohngeld Antrags dauert ({i}).",
                 "Wohngeld Bescheid fehlt noch, Bearbeitung verzögert ({i})."],
    "parken": ["Ich möchte einen Bewohnerparkausweis beantragen, Parkausweis für Anwohner ({i}).",
               "Parkausweis abgelaufen, wie verlängere ich den Bewohnerparkausweis ({i})?"],
    "müll": ["Die Mülltonne wurde nicht geleert, Müllabfuhr kam nicht ({i}).",
             "Müllabfuhr hat die Tonne vergessen, bitte Mülltonne leeren ({i})."],
}


def inbox() -> list[PatternMessage]:
    """Weeks 0-9; Wohngeld: 3 a week, 12 in week 8; Parken and Müll: 2 a week. Department A gets all."""
    out: list[PatternMessage] = []
    n = 0
    for week in range(10):
        for topic, per_week in (("wohngeld", 12 if week == 8 else 3), ("parken", 2), ("müll", 2)):
            for j in range(per_week):
                n += 1
                text = TEMPLATES[topic][j % len(TEMPLATES[topic])].format(i=n)
                when = dt.datetime.combine(START + dt.timedelta(weeks=week, days=j % 5), dt.time(10))
                out.append(PatternMessage(f"{topic}-{n}", text, when, "A"))
    return out


def test_terms_are_lemmas_without_function_words() -> None:
    assert terms("Die Bearbeitung meines Antrags dauert") == ["bearbeitung", "antrag", "dauern"]


def test_tfidf_nmf_finds_the_three_topics_with_telling_labels() -> None:
    messages = inbox()
    topics, assignment, method = topic_clusters([m.id for m in messages], [m.text for m in messages], n_topics=3)
    assert method == "tfidf+nmf" and len(assignment) == len(messages)
    by_prefix: dict[str, set[int]] = {}
    for m, t in zip(messages, assignment, strict=True):
        by_prefix.setdefault(m.id.split("-")[0], set()).add(int(t))
    assert all(len(ts) == 1 for ts in by_prefix.values()), by_prefix  # each topic in one cluster
    assert len({next(iter(ts)) for ts in by_prefix.values()}) == 3  # and three different clusters
    assert topics[0].size == 39 and "wohngeld" in topics[0].terms
    assert any("parkausweis" in t.terms or "bewohnerparkausweis" in t.terms for t in topics)


def test_vectors_use_agglomerative_clustering_and_small_clusters_go_to_other() -> None:
    ids = [f"m{i}" for i in range(7)]
    texts = ["Wohngeld Antrag"] * 3 + ["Parkausweis Anwohner"] * 3 + ["Hundesteuer"]
    vectors = np.array([[1, 0, 0]] * 3 + [[0, 1, 0]] * 3 + [[0, 0, 1]], dtype=float) + 0.01
    topics, assignment, method = topic_clusters(ids, texts, vectors=vectors, min_size=2)
    assert method == "embeddings+agglomerative"
    assert assignment.tolist()[:6] in ([0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]) and assignment[6] == OTHER
    assert topics[-1].id == OTHER and topics[-1].message_ids == ["m6"]


def test_weekly_counts_and_spike_rule() -> None:
    weeks, weekly = weekly_counts([0, 0, 1], [dt.date(2026, 1, 7), dt.date(2026, 1, 12), dt.date(2026, 1, 13)],
                                  START, dt.date(2026, 1, 18))
    assert weeks == [START, dt.date(2026, 1, 12)] and weekly == {0: [1, 1], 1: [0, 1]}
    weeks = [START + dt.timedelta(weeks=i) for i in range(6)]
    weekly = {0: [3, 4, 3, 2, 12, 9], 1: [0, 0, 0, 0, 9, 0]}
    spikes = find_spikes(weeks, weekly, {0: "wohngeld", 1: "neu"}, factor=3.0, min_count=10)
    assert [(s.topic_id, s.week, s.count, s.usual) for s in spikes] == [(0, weeks[4], 12, 3.0)]
    assert spikes[0].ratio == 4.0 and spikes[0].text.startswith("12 Nachrichten zu „wohngeld“")
    # the silent topic counts against a usual of 1: 9 messages are a spike once min_count allows it
    # (and week 5's 9 messages are 3x the median 3 of weeks 0-4); per week, the highest ratio first
    assert [(s.topic_id, s.week, s.ratio) for s in find_spikes(weeks, weekly, {}, min_count=9)] == [
        (1, weeks[4], 9.0), (0, weeks[4], 4.0), (0, weeks[5], 3.0)]
    assert find_spikes(weeks, weekly, {}, min_count=10, only_last=True) == []
    with pytest.raises(ValueError, match="factor"):
        find_spikes(weeks, weekly, {}, factor=0)


def test_report_flags_the_surge_week_and_plots_it() -> None:
    report = pattern_report(inbox(), department="A", n_topics=3, min_count=10)
    assert report.start == START and report.weeks[0] == START and len(report.weeks) == 10
    (spike,) = report.spikes
    assert spike.week == START + dt.timedelta(weeks=8) and spike.count == 12 and spike.usual == 3.0
    assert "wohngeld" in spike.label and "4.0× the usual" in spike.text
    png = topic_plot(report)
    assert png.startswith(b"\x89PNG") and len(png) > 5_000


def test_window_and_departments() -> None:
    messages = [*inbox(), PatternMessage("b1", "Hundesteuer Anmeldung", dt.datetime(2026, 2, 2, 9), "B")]
    window = pattern_report(messages, start=dt.date(2026, 1, 12), end=dt.date(2026, 1, 25), department="A",
                            min_size=1, n_topics=3)
    assert sum(t.size for t in window.topics) == 14 and len(window.weeks) == 2
    reports = patterns_by_department(messages, min_size=1)
    assert sorted(reports) == ["A", "B"] and reports["B"].topics[0].message_ids == ["b1"]
    assert monday(dt.datetime(2026, 1, 11, 23)) == START


def test_empty_and_bad_input() -> None:
    empty = pattern_report([], department="A")
    assert empty.topics == [] and empty.spikes == []
    with pytest.raises(BadRequest, match="no messages"):
        topic_plot(empty)
    with pytest.raises(BadRequest, match="start after end"):
        pattern_report(inbox(), start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 1))
    with pytest.raises(ValueError, match="one entry per message"):
        topic_clusters(["a"], ["x", "y"])
    topics, assignment, _ = topic_clusters(["a", "b"], ["", "!!"], min_size=1)  # no words at all
    assert assignment.tolist() == [0, 0] and topics[0].size == 2
