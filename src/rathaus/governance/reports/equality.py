"""Equality report: bias-evaluation history per model/assistant, the content guard's false positives on neutral
identity mentions, refusals by category, and answer/abstention/feedback rates by the asker's language and script.

Answers and feedback are the assistants capability's tables; they are read by name with plain SQL (no import of
another capability), and only when the tables exist."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.schema import AuditRecord
from rathaus.governance.reports.model import Report, Table
from rathaus.governance.reports.usage_queries import Period
from rathaus.governance.schema import BiasEvalRun

#: writing system of a language code as the assistants record it (ISO 639-1); others count as "andere / other"
SCRIPTS = {"ar": "Arabisch / Arabic", "fa": "Arabisch / Arabic", "ur": "Arabisch / Arabic",
           "uk": "Kyrillisch / Cyrillic", "ru": "Kyrillisch / Cyrillic", "bg": "Kyrillisch / Cyrillic",
           "sr": "Kyrillisch / Cyrillic",
           "el": "Griechisch / Greek", "he": "Hebräisch / Hebrew", "zh": "Han", "ja": "Japanisch / Japanese",
           "ko": "Hangul", "hi": "Devanagari", "ti": "Ethiopisch / Ethiopic", "am": "Ethiopisch / Ethiopic"}
LATIN = "Lateinisch / Latin"


def script_of(language: str) -> str:
    code = (language or "").split("-")[0].lower()
    return SCRIPTS.get(code, LATIN if code.isalpha() and len(code) in (2, 3) else "unbekannt / unknown")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _guard_rate(guard: dict[str, Any] | None) -> float | None:
    if not guard:
        return None
    value = guard.get("rate", guard.get("false_positive_rate"))
    return float(value) if isinstance(value, int | float) else None


def build_equality(session: Session, p: Period) -> Report:
    report = Report("equality", p.month, p.department, 0)
    runs = session.execute(sa.select(BiasEvalRun).where(BiasEvalRun.created_at < p.end)
                           .order_by(BiasEvalRun.subject, BiasEvalRun.created_at)).scalars().all()
    report.tables.append(Table(
        "bias_runs", "Gender-Bias-Läufe (GG-BBQ) bis Monatsende / bias evaluations up to the month's end",
        ["subject", "subject_kind", "model", "model_version", "date"],
        ["n_items", "acc_ambig", "acc_disambig", "bias_ambig", "bias_disambig", "guard_false_positive_rate"],
        [[r.subject, r.subject_kind, r.model, r.model_version, r.created_at.date().isoformat(), r.n_items,
          r.acc_ambig, r.acc_disambig, r.bias_ambig, r.bias_disambig, _guard_rate(r.guard)] for r in runs],
        note="s_AMB/s_DIS: BBQ-Bias-Werte (−1…+1, 0 = kein Bias); Fehlalarmquote des Inhaltsfilters auf neutralen "
             "Sätzen mit Identitätsbezug (z. B. „behindert“, „schwul“, „Ausländer“), gespeichert mit dem Lauf."))
    guards = [r for r in runs if r.guard and isinstance(r.guard.get("by_group"), dict)]
    if guards:
        newest: dict[str, Any] = guards[-1].guard or {}
        report.tables.append(Table(
            "guard_identity", "Inhaltsfilter: Fehlalarme je Identitätsbezug / guard false positives by identity",
            ["identity"], ["false_positive_rate"],
            [[k, _guard_rate(v) if isinstance(v, dict) else v] for k, v in sorted(newest["by_group"].items())],
            chart="false_positive_rate"))
    where: list[Any] = [AuditRecord.ts >= p.start, AuditRecord.ts < p.end, AuditRecord.action == "model.refused"]
    if p.department:
        where.append(AuditRecord.department == p.department)
    reason = AuditRecord.safeguards["reason"].astext
    refusals = session.execute(sa.select(sa.func.coalesce(reason, "unknown"), AuditRecord.use_case, sa.func.count())
                               .where(*where).group_by(reason, AuditRecord.use_case)
                               .order_by(sa.func.count().desc())).all()
    report.tables.append(Table("refusals", "Abgelehnte Anfragen nach Kategorie / refusals by category",
                               ["category", "use_case"], ["refusals"], [list(r) for r in refusals], chart="refusals",
                               note="content-refused = Inhaltsfilter; andere Kategorien: Datenklasse, Budget, …"))
    by_language = _answers_by_language(session, p) if not p.department else []
    report.tables.append(Table(
        "language", "Bürgerassistenten nach Sprache und Schrift / citizen assistants by language and script",
        ["language", "script"], ["answers", "abstentions", "abstention_rate", "feedback", "feedback_positive_rate"],
        by_language, chart="abstention_rate",
        note="Sprache wie vom Assistenten erkannt; hohe Enthaltungsquote in einer Sprache = Ausschlussrisiko."))
    report.summary = {"bias_runs": len(runs), "refusals": sum(r[2] for r in refusals),
                      "answers": sum(r[2] for r in by_language)}
    report.method = [
        "Bias: gespeicherte Läufe von `rathaus eval bias` (Tabelle bias_eval_runs, GG-BBQ; docs/bias.md).",
        "Ablehnungen: Audit-Log-Einträge model.refused mit ihrem Grund (safeguards.reason).",
        "Sprachen: Tabellen assistant_answers und assistant_feedback des Assistenten-Moduls; Schrift aus dem "
        "Sprachcode abgeleitet (nicht einzeln erfasst).",
    ]
    return report


def _answers_by_language(session: Session, p: Period) -> list[list[Any]]:
    if session.scalar(sa.text("SELECT to_regclass('assistant_answers') IS NOT NULL "
                              "AND to_regclass('assistant_feedback') IS NOT NULL")) is not True:
        return []
    rows = session.execute(sa.text(
        "SELECT a.language, count(*), count(*) FILTER (WHERE a.abstained), count(f.answer_id), "
        "count(*) FILTER (WHERE f.rating = 1) "
        "FROM assistant_answers a LEFT JOIN assistant_feedback f ON f.answer_id = a.id "
        "WHERE a.created_at >= :start AND a.created_at < :end GROUP BY a.language ORDER BY count(*) DESC"),
        {"start": p.start, "end": p.end}).all()
    return [[lang, script_of(lang), n, abst, _rate(abst, n), fb, _rate(pos, fb)] for lang, n, abst, fb, pos in rows]
