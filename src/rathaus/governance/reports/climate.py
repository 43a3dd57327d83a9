"""Climate report: Wh and gCO2e by department, use case, model and hosting location; intensity per request; trend;
method, sources and uncertainty; scenarios (all staff at N requests a day; model X instead of Y)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core import energy
from rathaus.core.settings import Settings
from rathaus.governance.reports.assumptions import Assumptions
from rathaus.governance.reports.model import Assumption, Report, Table
from rathaus.governance.reports.privacy import suppress
from rathaus.governance.reports.usage_queries import Period, monthly_trend, per_request, usage_by
from rathaus.models.catalog import Catalog, ModelSpec

MEASURES = ["requests", "energy_wh", "gco2e", "wh_per_request", "gco2e_per_request"]


def _measures(requests: int, wh: float, g: float) -> list[Any]:
    return [requests, round(wh, 6), round(g, 6), per_request(wh, requests), per_request(g, requests)]


def _spec(catalog: Catalog, name: str) -> ModelSpec | None:
    return next((m for m in catalog.models if m.name == name), None)


def _method(spec: ModelSpec | None) -> str:
    if spec is None:
        return "unknown"
    return "measured" if spec.provider == "embedded" else "estimated"


def _wh_per_output_token(spec: ModelSpec, settings: Settings, measured: dict[str, tuple[float, int]]) -> float | None:
    """Embedded: this month's measured Wh per output token of the model (None without usage); remote: EcoLogits."""
    if spec.provider == "embedded":
        wh, tokens = measured.get(spec.name, (0.0, 0))
        return wh / tokens if tokens else None
    active = spec.active_parameters_b or spec.parameters_b
    return energy.remote_energy_wh(active, spec.parameters_b, 1000, pue=spec.pue or energy.DEFAULT_REMOTE_PUE) / 1000


def build_climate(session: Session, p: Period, settings: Settings, catalog: Catalog, a: Assumptions,
                  min_group: int) -> Report:
    report = Report("climate", p.month, p.department, min_group)
    by_dept = usage_by(session, p, "department")
    dept_rows = [[g.keys[0], g.people, *_measures(g.requests, g.energy_wh, g.gco2e)] for g in by_dept]
    report.tables.append(Table("department", "Nach Referat / by department", ["department"], ["people", *MEASURES],
                               suppress(dept_rows, 1, min_group), chart="energy_wh",
                               note=f"Referate mit weniger als {min_group} Nutzenden: unterdrückt / suppressed"))
    by_use = usage_by(session, p, "use_case")
    report.tables.append(Table("use_case", "Nach Anwendungsfall / by use case", ["use_case"], MEASURES,
                               [[g.keys[0], *_measures(g.requests, g.energy_wh, g.gco2e)] for g in by_use],
                               chart="energy_wh"))
    by_model = usage_by(session, p, "model")
    model_rows: list[list[Any]] = []
    locations: dict[tuple[str, str], list[Any]] = {}
    totals = {"measured": [0.0, 0.0], "estimated": [0.0, 0.0], "unknown": [0.0, 0.0]}
    measured_per_token: dict[str, tuple[float, int]] = {}
    for g in by_model:
        spec = _spec(catalog, g.keys[0])
        method = _method(spec)
        hosting = spec.hosting if spec else "unbekannt / unknown"
        location = spec.location if spec else "unbekannt / unknown"
        rng = a.uncertainty.get(method)
        low, high = (g.energy_wh * rng.low, g.energy_wh * rng.high) if rng else (g.energy_wh, g.energy_wh)
        model_rows.append([g.keys[0], hosting, location, method, *_measures(g.requests, g.energy_wh, g.gco2e),
                           round(low, 6), round(high, 6)])
        loc = locations.setdefault((hosting, location), [0, 0.0, 0.0])
        loc[0] += g.requests
        loc[1] += g.energy_wh
        loc[2] += g.gco2e
        totals[method][0] += low
        totals[method][1] += high
        if spec and spec.provider == "embedded":
            measured_per_token[spec.name] = (g.energy_wh, g.completion_tokens)
    report.tables.append(Table("model", "Nach Modell / by model", ["model", "hosting", "location", "method"],
                               [*MEASURES, "energy_wh_low", "energy_wh_high"], model_rows, chart="energy_wh"))
    report.tables.append(Table("location", "Nach Standort / by hosting location", ["hosting", "location"], MEASURES,
                               [[h, loc, *_measures(*v)] for (h, loc), v in
                                sorted(locations.items(), key=lambda kv: -kv[1][1])], chart="energy_wh"))
    trend = monthly_trend(session, p)
    report.tables.append(Table("trend", "Verlauf / trend (6 Monate / months)", ["month"], MEASURES,
                               [[m, *_measures(r, wh, g)] for m, r, wh, g, _ in trend], chart="energy_wh"))
    requests = sum(g.requests for g in by_model)
    wh = sum(g.energy_wh for g in by_model)
    gco2 = sum(g.gco2e for g in by_model)
    report.tables.append(_scenarios(by_model, catalog, settings, a, measured_per_token, requests, wh))
    report.summary = {"requests": requests, "energy_wh": round(wh, 6), "gco2e": round(gco2, 6),
                      "wh_per_request": per_request(wh, requests), "gco2e_per_request": per_request(gco2, requests),
                      "energy_wh_low": round(sum(v[0] for v in totals.values()), 6),
                      "energy_wh_high": round(sum(v[1] for v in totals.values()), 6)}
    report.method = [
        "Eingebettete Modelle (gemessen / measured): CPU-Zeit des Aufrufs × Watt je Kern × PUE "
        f"(RATHAUS_WATTS_PER_CORE = {settings.watts_per_core} W, RATHAUS_PUE = {settings.pue}); docs/metering.md.",
        "Entfernte Modelle (geschätzt / estimated): EcoLogits-Methodik „LLM inference“ (ecologits.ai; GenAI Impact), "
        "Energie je Ausgabetoken aus der Zahl aktiver Parameter, Nutzungsphase ohne Herstellung; rathaus.core.energy.",
        f"Emissionen / emissions: Energie × Strommix {settings.grid_gco2_per_kwh} g CO2e/kWh "
        "(RATHAUS_GRID_GCO2_PER_KWH; Umweltbundesamt, deutscher Strommix 2024).",
        "Unsicherheit / uncertainty: Faktoren je Methode (unten), Summe über die Modelle; die Bandbreite ist eine "
        "Annahme, keine statistische Schätzung.",
    ]
    for name, rng in a.uncertainty.items():
        report.assumptions.append(Assumption(f"uncertainty_{name}", f"×{rng.low}–×{rng.high}", rng.source))
    report.assumptions.append(Assumption("scenario_staff", a.scenarios.staff, a.scenarios.source))
    report.assumptions.append(Assumption("scenario_requests_per_day", a.scenarios.requests_per_day,
                                         "Szenario / scenario"))
    report.assumptions.append(Assumption("working_days_per_year", a.scenarios.working_days_per_year,
                                         "Szenario / scenario"))
    return report


def _scenarios(by_model: list[Any], catalog: Catalog, settings: Settings, a: Assumptions,
               measured: dict[str, tuple[float, int]], requests: int, wh: float) -> Table:
    s = a.scenarios
    rows: list[list[Any]] = []
    yearly_requests = s.staff * s.requests_per_day * s.working_days_per_year
    mean = per_request(wh, requests)
    if mean is not None:
        kwh = yearly_requests * mean / 1000
        rows.append([f"{s.staff:,} Beschäftigte × {s.requests_per_day:g} Anfragen/Tag × {s.working_days_per_year} "
                     "Tage (Mittel dieses Monats) / all staff, this month's mean", round(kwh, 3),
                     round(kwh * settings.grid_gco2_per_kwh / 1_000_000, 4)])
    output_tokens = sum(g.completion_tokens for g in by_model)
    if output_tokens:
        for spec in catalog.models:
            if spec.kind != "chat" or not spec.enabled:
                continue
            per_token = _wh_per_output_token(spec, settings, measured)
            if per_token is None:
                continue
            kwh = output_tokens * per_token / 1000
            rows.append([f"Alle Ausgabetokens dieses Monats mit {spec.name} / this month's output tokens on "
                         f"{spec.name}", round(kwh, 6), round(kwh * settings.grid_gco2_per_kwh / 1_000_000, 6)])
    return Table("scenarios", "Szenarien / scenarios", ["scenario"], ["kwh", "t_co2e"], rows,
                 note="Jahreswert bzw. Monatswert wie beschrieben / per year or per month as described")
