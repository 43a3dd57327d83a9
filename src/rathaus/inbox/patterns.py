"""Patterns in a department's inbox: topic clusters over a time window, weekly counts, spikes, and a plot.

    report = pattern_report(messages, start=..., end=..., department="Wohngeldstelle", vectors=...)
    report.topics      # [Topic(id=0, label="wohngeld, bearbeitung, antrag", size=212, ...), ...]
    report.spikes      # [Spike(... text="37 Nachrichten zu „wohngeld, bearbeitung“ in der Woche ab 09.03.2026,
                       #        3× so viele wie üblich ...")]
    png = topic_plot(report)

Topics: with sentence vectors, agglomerative clustering (cosine, average linkage, cut at ``distance_threshold``);
without, TF-IDF over lemmatised words (simplemma) and NMF, each message to its strongest component. Either way a
topic is labelled with the terms of highest mean TF-IDF among its messages; clusters smaller than ``min_size``
go to topic -1 ("Sonstiges / other").

Spikes: a topic's count in a week against the usual, the median count of the ``history_weeks`` weeks before it
(weeks without messages count as 0; at least ``min_history`` weeks needed). Flagged when the count is at least
``min_count`` and at least ``factor`` times the usual (a usual below 1 counts as 1, so a topic that was silent
needs ``factor`` × 1 and ``min_count`` messages).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from rathaus.core.errors import BadRequest

OTHER = -1
OTHER_LABEL = "Sonstiges / other"
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß-]{2,}")
# Function words and letter phrases that would label every topic; German, lower case.
_STOPWORDS = """
aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei beim bin bis bitte bzw
da dadurch daher damit dann darauf darum das dass dem den denen denn der des deshalb dessen die dies diese diesem
diesen dieser dieses doch dort durch ein eine einem einen einer eines einige er es etwa etwas euch euer für gegen
gewesen habe haben hat hatte hätte hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in ist
jede jedem jeden jeder jedes jetzt kann kein keine keinem keinen keiner können könnte machen man mehr mein meine
meinem meinen meiner meines mich mir mit muss müssen nach nachdem nein nicht nichts noch nun nur ob oder ohne
schon sehr sein seine seinem seinen seiner sich sie sind so solche soll sollte sondern sonst um und uns unser
unsere unter viel vom von vor wann war waren warum was weil weiter welche welchem welchen welcher welches wenn
wer werde werden wie wieder will wir wird wo wurde würde zu zum zur zwar zwischen über damen herren geehrte
geehrter sehr freundlichen grüßen gruß grüße vielen dank danke hallo liebe lieber bitte mfg herr frau
"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class PatternMessage:
    id: str
    text: str
    received_at: dt.datetime
    department: str | None = None
    vector: np.ndarray | None = None


@dataclass
class Topic:
    id: int
    label: str
    terms: list[str]
    size: int
    message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Spike:
    topic_id: int
    label: str
    week: dt.date  # the Monday of the week
    count: int
    usual: float  # median count of the weeks before
    ratio: float  # count / max(usual, 1)
    text: str


@dataclass
class PatternReport:
    department: str | None
    start: dt.date
    end: dt.date
    topics: list[Topic]
    weeks: list[dt.date]
    weekly: dict[int, list[int]]  # topic id -> count per week, aligned with ``weeks``
    spikes: list[Spike]
    method: str


@cache
def _lemma(word: str) -> str:
    import simplemma

    return str(simplemma.lemmatize(word, lang="de")).lower()


def terms(text: str) -> list[str]:
    """Lower-cased lemmas of the words of at least three letters, without function words."""
    out = []
    for w in _WORD.findall(text):
        lemma = _lemma(w)
        if lemma not in STOPWORDS and w.lower() not in STOPWORDS:
            out.append(lemma)
    return out


def _tfidf(texts: Sequence[str]) -> tuple[Any, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=terms, min_df=2 if len(texts) >= 20 else 1, max_df=0.6 if len(texts) >= 20
                                 else 1.0, sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    return matrix, np.asarray(vectorizer.get_feature_names_out())


def _labels(matrix: Any, vocabulary: np.ndarray, assignment: np.ndarray, top_terms: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for topic in sorted(set(assignment.tolist()) - {OTHER}):
        rows = np.flatnonzero(assignment == topic)
        mean = np.asarray(matrix[rows].mean(axis=0)).ravel()
        best = [int(i) for i in np.argsort(-mean)[:top_terms] if mean[i] > 0]
        out[topic] = [str(vocabulary[i]) for i in best]
    return out


def topic_clusters(ids: Sequence[str], texts: Sequence[str], *, vectors: np.ndarray | None = None,
                   n_topics: int | None = None, distance_threshold: float = 0.6, min_size: int = 3,
                   top_terms: int = 4, random_state: int = 0) -> tuple[list[Topic], np.ndarray, str]:
    """Cluster the messages into topics; returns the topics (largest first, "other" last), each message's topic
    id (aligned with ``ids``) and the method used."""
    if len(ids) != len(texts) or (vectors is not None and len(vectors) != len(texts)):
        raise ValueError("ids, texts and vectors must have one entry per message")
    n = len(texts)
    if n == 0:
        return [], np.zeros(0, dtype=int), "none"
    matrix, vocabulary = _tfidf(texts) if any(terms(t) for t in texts) else (None, np.asarray([]))
    if n < 2 or matrix is None:
        assignment = np.zeros(n, dtype=int)
        method = "single"
    elif vectors is not None:
        from sklearn.cluster import AgglomerativeClustering

        clustering = AgglomerativeClustering(n_clusters=n_topics, metric="cosine", linkage="average",
                                             distance_threshold=None if n_topics else distance_threshold)
        assignment = clustering.fit_predict(np.asarray(vectors, dtype=np.float64))
        method = "embeddings+agglomerative"
    else:
        from sklearn.decomposition import NMF

        k = n_topics or int(min(12, max(2, round((n / 2) ** 0.5))))
        k = max(1, min(k, n, matrix.shape[1]))
        weights = NMF(n_components=k, init="nndsvd", random_state=random_state, max_iter=400).fit_transform(matrix)
        assignment = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), OTHER)
        method = "tfidf+nmf"
    sizes = {t: int(np.sum(assignment == t)) for t in set(assignment.tolist())}
    assignment = np.array([a if a != OTHER and sizes[a] >= min_size else OTHER for a in assignment.tolist()])
    # renumber by size: topic 0 is the largest
    order = sorted((t for t in set(assignment.tolist()) if t != OTHER), key=lambda t: (-sizes[t], t))
    renumber = {old: new for new, old in enumerate(order)} | {OTHER: OTHER}
    assignment = np.array([renumber[a] for a in assignment.tolist()], dtype=int)
    labels = _labels(matrix, vocabulary, assignment, top_terms) if matrix is not None else {}
    topics = []
    for t in [*range(len(order)), OTHER]:
        members = [ids[int(i)] for i in np.flatnonzero(assignment == t)]
        if not members:
            continue
        words = labels.get(t, []) if t != OTHER else []
        label = OTHER_LABEL if t == OTHER else (", ".join(words[:3]) or f"Thema {t + 1} / topic {t + 1}")
        topics.append(Topic(t, label, words, len(members), members))
    return topics, assignment, method


def monday(day: dt.date | dt.datetime) -> dt.date:
    d = day.date() if isinstance(day, dt.datetime) else day
    return d - dt.timedelta(days=d.weekday())


def weekly_counts(assignment: Sequence[int], dates: Sequence[dt.date | dt.datetime], start: dt.date,
                  end: dt.date) -> tuple[list[dt.date], dict[int, list[int]]]:
    """Messages per topic per week (weeks start on Monday) from ``start`` up to ``end`` inclusive."""
    if len(assignment) != len(dates):
        raise ValueError("assignment and dates must have one entry per message")
    weeks = []
    w = monday(start)
    while w <= end:
        weeks.append(w)
        w += dt.timedelta(days=7)
    position = {w: i for i, w in enumerate(weeks)}
    counts: dict[int, list[int]] = {int(t): [0] * len(weeks) for t in set(assignment)}
    for topic, when in zip(assignment, dates, strict=True):
        i = position.get(monday(when))
        if i is not None:
            counts[int(topic)][i] += 1
    return weeks, counts


def find_spikes(weeks: Sequence[dt.date], weekly: dict[int, list[int]], labels: dict[int, str], *,
                factor: float = 3.0, min_count: int = 10, history_weeks: int = 8, min_history: int = 3,
                only_last: bool = False) -> list[Spike]:
    """Weeks in which a topic had at least ``min_count`` messages and at least ``factor`` times its usual count
    (median of the ``history_weeks`` weeks before, at least ``min_history`` of them). ``only_last``: look at the
    last week only (the "this week" view)."""
    if factor <= 0 or min_count < 1 or history_weeks < 1 or min_history < 1:
        raise ValueError("factor must be > 0; min_count, history_weeks and min_history at least 1")
    spikes = []
    for topic, counts in weekly.items():
        if topic == OTHER:
            continue
        for i in range(len(weeks) - 1 if only_last else 0, len(weeks)):
            history = counts[max(0, i - history_weeks):i]
            if len(history) < min_history or counts[i] < min_count:
                continue
            usual = float(statistics.median(history))
            ratio = counts[i] / max(usual, 1.0)
            if ratio >= factor:
                label = labels.get(topic, str(topic))
                text = (f"{counts[i]} Nachrichten zu „{label}“ in der Woche ab {weeks[i]:%d.%m.%Y}, "
                        f"{ratio:.1f}× so viele wie üblich (Median {usual:g}) / {counts[i]} messages on "
                        f"'{label}' in the week of {weeks[i].isoformat()}, {ratio:.1f}× the usual")
                spikes.append(Spike(topic, label, weeks[i], counts[i], usual, round(ratio, 2), text))
    return sorted(spikes, key=lambda s: (s.week, -s.ratio))


def pattern_report(messages: Iterable[PatternMessage], *, start: dt.date | None = None, end: dt.date | None = None,
                   department: str | None = None, use_vectors: bool = True, n_topics: int | None = None,
                   distance_threshold: float = 0.6, min_size: int = 3, factor: float = 3.0, min_count: int = 10,
                   history_weeks: int = 8, min_history: int = 3) -> PatternReport:
    """Topics and spikes of the messages received from ``start`` to ``end`` (dates, inclusive; default: all),
    of one ``department`` when given. Vectors are used when every message has one and ``use_vectors``."""
    chosen = [m for m in messages if department is None or m.department == department]
    if start is not None:
        chosen = [m for m in chosen if m.received_at.date() >= start]
    if end is not None:
        chosen = [m for m in chosen if m.received_at.date() <= end]
    if start is not None and end is not None and start > end:
        raise BadRequest(f"Zeitraum leer: {start} liegt nach {end} / empty window: start after end")
    chosen.sort(key=lambda m: m.received_at.replace(tzinfo=None))
    if not chosen:
        today = dt.date.today()
        return PatternReport(department, start or today, end or today, [], [], {}, [], "none")
    vectors = None
    if use_vectors and all(m.vector is not None for m in chosen):
        vectors = np.vstack([np.asarray(m.vector, dtype=np.float32) for m in chosen])
    topics, assignment, method = topic_clusters([m.id for m in chosen], [m.text for m in chosen], vectors=vectors,
                                                n_topics=n_topics, distance_threshold=distance_threshold,
                                                min_size=min_size)
    first = start or chosen[0].received_at.date()
    last = end or chosen[-1].received_at.date()
    weeks, weekly = weekly_counts(assignment.tolist(), [m.received_at for m in chosen], first, last)
    labels = {t.id: t.label for t in topics}
    spikes = find_spikes(weeks, weekly, labels, factor=factor, min_count=min_count, history_weeks=history_weeks,
                         min_history=min_history)
    return PatternReport(department, first, last, topics, weeks, weekly, spikes, method)


def patterns_by_department(messages: Iterable[PatternMessage], **options: Any) -> dict[str, PatternReport]:
    """One :func:`pattern_report` per department (messages without a department under "")."""
    by_department: dict[str, list[PatternMessage]] = {}
    for m in messages:
        by_department.setdefault(m.department or "", []).append(m)
    return {d: pattern_report(ms, **options) for d, ms in sorted(by_department.items())}


def topic_plot(report: PatternReport, *, top: int = 8) -> bytes:
    """PNG: messages per week of the ``top`` largest topics, spikes marked. Raises BadRequest when empty."""
    if not report.weeks or not report.topics:
        raise BadRequest("keine Nachrichten im Zeitraum / no messages in the window")
    if not any(t.id != OTHER for t in report.topics):
        raise BadRequest("noch kein wiederkehrendes Thema (mindestens drei ähnliche Nachrichten) / no recurring "
                         "topic yet (at least three similar messages)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11.0, 4.5), dpi=110)
    shown = [t for t in report.topics if t.id != OTHER][:top]
    x = np.array(report.weeks, dtype="datetime64[D]")
    for t in shown:
        ax.plot(x, report.weekly.get(t.id, [0] * len(x)), marker="o", ms=3, lw=1.2, label=f"{t.label} ({t.size})")
    for s in report.spikes:
        if any(t.id == s.topic_id for t in shown):
            ax.annotate(f"{s.ratio:.0f}×", (np.datetime64(s.week, "D"), s.count), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8, color="#c0392b")
            ax.scatter([np.datetime64(s.week, "D")], [s.count], s=60, facecolors="none", edgecolors="#c0392b")
    title = "Themen pro Woche / topics per week"
    ax.set_title(f"{title}: {report.department}" if report.department else title)
    ax.set_ylabel("Nachrichten / messages")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", fontsize=7, ncols=2)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
