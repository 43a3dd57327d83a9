"""Costs and benefits (the treasury's "Wirtschaftlichkeitsberechnung"): per use case the token costs (tokens ×
catalogue prices, as metered) plus a configured infrastructure share, against a benefit ledger (minutes saved per
successful call × calls × hourly rate); the net effect per month, cash-effective and not, with every assumption."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rathaus.governance.reports.assumptions import Assumptions
from rathaus.governance.reports.model import Assumption, Report, Table
from rathaus.governance.reports.privacy import suppress
from rathaus.governance.reports.usage_queries import Period, monthly_trend, usage_by


def build_costs(session: Session, p: Period, a: Assumptions, min_group: int) -> Report:
    report = Report("costs", p.month, p.department, min_group)
    groups = usage_by(session, p, "use_case")
    total_requests = sum(g.requests for g in groups)
    infra = a.infrastructure_eur_per_month.value if total_requests else 0.0
    rate = a.hourly_rate_eur.value
    rows, totals = [], {"token": 0.0, "infra": 0.0, "hours": 0.0, "benefit": 0.0}
    for g in sorted(groups, key=lambda g: g.keys[0]):
        share = infra * g.requests / total_requests if total_requests else 0.0
        entry = a.minutes_for(g.keys[0])
        minutes = entry.minutes if entry else 0.0
        hours = g.ok * minutes / 60
        benefit = hours * rate
        cost = g.cost_eur + share
        rows.append([g.keys[0], entry.task if entry else "– (kein Eintrag / no ledger entry)", g.requests, g.ok,
                     g.prompt_tokens + g.completion_tokens, round(g.cost_eur, 6), round(share, 4), round(cost, 4),
                     minutes, round(hours, 3), round(benefit, 2), round(benefit - cost, 2)])
        totals["token"] += g.cost_eur
        totals["infra"] += share
        totals["hours"] += hours
        totals["benefit"] += benefit
    report.tables.append(Table(
        "use_case", "Kosten und Nutzen je Anwendungsfall / costs and benefits by use case", ["use_case", "task"],
        ["requests", "successful", "tokens", "token_cost_eur", "infrastructure_eur", "cost_eur",
         "minutes_saved_per_call", "hours_saved", "benefit_eur", "net_eur"], rows, chart="net_eur"))
    dept = usage_by(session, p, "department")
    report.tables.append(Table(
        "department", "Kosten je Referat / cost by department", ["department"], ["people", "requests", "cost_eur"],
        suppress([[g.keys[0], g.people, g.requests, round(g.cost_eur, 6)] for g in dept], 1, min_group),
        chart="cost_eur"))
    trend = [[m, r, round(c, 6)] for m, r, _, _, c in monthly_trend(session, p)]
    report.tables.append(Table("trend", "Token-Kosten im Verlauf / token cost trend", ["month"],
                               ["requests", "cost_eur"], trend, chart="cost_eur"))
    cash = totals["token"] + totals["infra"]
    report.summary = {
        "requests": total_requests, "token_cost_eur": round(totals["token"], 6),
        "infrastructure_eur": round(totals["infra"], 2), "cost_eur": round(cash, 4),
        "hours_saved": round(totals["hours"], 3), "benefit_eur": round(totals["benefit"], 2),
        "net_eur": round(totals["benefit"] - cash, 2),
    }
    report.method = [
        "Kosten (haushaltswirksam / cash-effective): Tokens × Preise des Modellkatalogs (config/models.yaml, je "
        "Aufruf gemessen und in usage_events gespeichert) plus ein Infrastrukturanteil, verteilt nach Anfragen.",
        "Nutzen (nicht unmittelbar haushaltswirksam / not directly cash-effective): gesparte Minuten je erfolgreichem "
        "Aufruf × Aufrufe × Stundensatz. Frei werdende Arbeitszeit wird erst haushaltswirksam, wenn Stellen, "
        "Überstunden oder externe Aufträge tatsächlich entfallen – das entscheidet die Verwaltung, "
        "nicht dieser Bericht.",
        "Netto / net = Nutzen − Kosten; Anwendungsfälle ohne Eintrag im Nutzenverzeichnis zählen mit 0 Minuten.",
    ]
    report.assumptions = [
        Assumption("hourly_rate_eur", rate, a.hourly_rate_eur.source),
        Assumption("infrastructure_eur_per_month", a.infrastructure_eur_per_month.value,
                   a.infrastructure_eur_per_month.source),
        *[Assumption(f"minutes_saved[{m.use_case}]", m.minutes, f"{m.task} – {m.source}") for m in a.minutes_saved],
    ]
    return report
