"""Import → check → fill → report → plot on the real embedded PostgreSQL, from Python and from the CLI.

The counts are synthetic (written here): three correlated stations over 500 days with a planted zero day,
a spike and a ten-day gap at station A."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from test_traffic_import import DAILY_HEADER, cli

from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.core.errors import BadRequest
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime
from rathaus.traffic import export_frame, import_file, import_stations, pipeline

DAYS = pd.date_range("2021-01-04", periods=500, freq="D")
ZERO, SPIKE, GAP = DAYS[200], DAYS[250], DAYS[300:310]
STATIONS = ("zaehlstelle,zaehlstelle_lang,latitude,longitude,richtung_1,richtung_2,besonderheiten\n"
            "A,Astraße,48.1,11.5,Ost,West,\nB,Bstraße,48.2,11.6,Nord,Süd,\nC,Cstraße,48.3,11.7,Nord,Süd,\n")


def daily_csv() -> str:
    rng = np.random.default_rng(3)
    weekday = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.5])[DAYS.day_of_week]
    season = 1 + 0.4 * np.sin(2 * np.pi * (DAYS.day_of_year - 100) / 365.25)
    rain = np.round(rng.gamma(0.6, 3.0, len(DAYS)) * (rng.random(len(DAYS)) < 0.4), 1)
    base = weekday * season * np.exp(-0.04 * rain)
    lines = [DAILY_HEADER]
    for station, level in (("A", 2000), ("B", 1500), ("C", 900)):
        counts = np.round(level * base * rng.lognormal(0, 0.05, len(DAYS))).astype(int)
        for i, day in enumerate(DAYS):
            value = counts[i]
            if station == "A":
                if day in GAP:
                    continue
                value = 0 if day == ZERO else value * 6 if day == SPIKE else value
            lines.append(f"{day:%Y.%m.%d},00:00,23:59,{station},{value // 2},{value - value // 2},{value},"
                         f"2.0,9.0,{rain[i]},50,3.0")
    return "\n".join(lines) + "\n"


@pytest.fixture
def loaded(runtime: Runtime, tmp_path: Path) -> Runtime:
    (tmp_path / "stations.csv").write_text(STATIONS)
    (tmp_path / "rad.csv").write_text(daily_csv())
    import_stations(runtime.db, tmp_path / "stations.csv")
    report = import_file(runtime.db, tmp_path / "rad.csv")
    assert report.rejected == 0 and report.stored > 1400
    return runtime


def test_check_impute_export_and_plot(loaded: Runtime) -> None:
    db = loaded.db
    flags = pipeline.check(db)
    at_a = flags[flags["station"] == "A"]
    assert pd.Timestamp(ZERO) in set(at_a.loc[at_a["check"] == "zero", "ts"].dt.tz_localize(None))
    assert pd.Timestamp(SPIKE) in set(at_a.loc[at_a["check"] == "spike", "ts"].dt.tz_localize(None))
    assert len(flags[flags["station"] != "A"]) < 0.05 * 2 * len(DAYS)  # clean stations stay mostly quiet
    again = pipeline.check(db)  # a new run replaces the old flags
    with db.session() as s:
        stored = s.execute(sa.text("SELECT count(*) FROM traffic_flags")).scalar_one()
    assert stored == len(again)

    filled = pipeline.impute(db, ["A"])
    days = set(filled["ts"].dt.tz_localize(None))
    assert set(GAP) | {ZERO, SPIKE} <= days
    gap = filled[filled["ts"].dt.tz_localize(None).isin(GAP)]
    assert (gap["lower"] <= gap["value"]).all() and (gap["value"] <= gap["upper"]).all()
    typical = 2000 * 0.6 < gap["value"].median() < 2000 * 1.6
    assert typical, gap["value"].median()

    frame = export_frame(db, "A", "gesamt", "day")
    quality = dict(zip(frame["local_time"].dt.tz_localize(None), frame["quality"], strict=True))
    assert quality[ZERO] == "imputed" and quality[GAP[0]] == "imputed" and quality[DAYS[5]] == "raw"
    raw_zero = frame.loc[frame["local_time"].dt.tz_localize(None) == ZERO, "raw_value"].iloc[0]
    assert raw_zero == 0  # the raw value is kept beside the filled one

    report = pipeline.report(db, start=str(ZERO.date()), end=str(ZERO.date()))
    assert list(report["station"]) == ["A"] and "zero" in report["checks"].iloc[0]

    from PIL import Image

    for png in (pipeline.plot_station(db, "A"), pipeline.plot_health(db)):
        assert Image.open(io.BytesIO(png)).format == "PNG"


def test_empty_database_is_named(runtime: Runtime) -> None:
    with pytest.raises(BadRequest, match="no stations stored"):
        pipeline.check(runtime.db)


def test_unknown_station_is_named(loaded: Runtime) -> None:
    with pytest.raises(BadRequest, match=r"unknown station.*Nirgendwo"):
        pipeline.impute(loaded.db, ["Nirgendwo"])


def test_cli_check_impute_report_plot_and_eval(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    (tmp_path / "stations.csv").write_text(STATIONS)
    (tmp_path / "rad.csv").write_text(daily_csv())
    assert cli(settings, tmp_path, "import", "--stations", "stations.csv", "rad.csv").returncode == 0
    checked = cli(settings, tmp_path, "check")
    assert checked.returncode == 0, checked.stderr
    assert "zero" in checked.stdout and "gespeichert" in checked.stdout
    filled = cli(settings, tmp_path, "impute", "--station", "A")
    assert filled.returncode == 0 and "A:" in filled.stdout and "Tage gefüllt" in filled.stdout
    report = cli(settings, tmp_path, "report", "--from", str(ZERO.date()), "--to", str(ZERO.date()))
    assert "A" in report.stdout and "zero" in report.stdout
    plot = cli(settings, tmp_path, "plot", "A", "--out", "a.png")
    assert plot.returncode == 0 and (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    unknown = cli(settings, tmp_path, "impute", "--station", "Nirgendwo")
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
    assert "Nirgendwo" in unknown.stderr
    evaluated = cli(settings, tmp_path, "eval", "rad.csv", "--station", "A")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "gbm_plain" in evaluated.stdout and "scattered" in evaluated.stdout
    wrong = cli(settings, tmp_path, "eval", "rad.csv", "--station", "Z")
    assert wrong.returncode == 1 and "Z" in wrong.stderr


def test_api_checks_imputation_report_and_plots(make_settings: Callable[..., Settings], issuer: Issuer) -> None:
    runtime = Runtime(make_settings(**issuer.settings()))
    try:
        import_stations(runtime.db, STATIONS.encode(), name="stations.csv")
        import_file(runtime.db, daily_csv().encode(), name="rad.csv")
        editor, viewer = bearer(issuer, "eva", ["traffic-editor"]), bearer(issuer, "vic", ["traffic-viewer"])
        with TestClient(create_app(runtime)) as c:
            # tokens live 5 minutes and the checks take a while on a busy machine: fresh ones after them
            denied = c.post("/api/v1/traffic/checks", headers=viewer)
            assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
            checked = c.post("/api/v1/traffic/checks", headers=editor, params={"station": ["A"]})
            assert checked.status_code == 200, checked.text
            assert checked.json()["per_station"]["A"]["zero"] >= 1
            editor, viewer = bearer(issuer, "eva", ["traffic-editor"]), bearer(issuer, "vic", ["traffic-viewer"])
            unknown = c.post("/api/v1/traffic/imputations", headers=editor, params={"station": ["Nirgendwo"]})
            assert unknown.status_code == 400 and "Nirgendwo" in unknown.json()["detail"]
            filled = c.post("/api/v1/traffic/imputations", headers=editor, params={"station": ["A"]}).json()
            assert filled["filled"] >= len(GAP) + 1
            editor, viewer = bearer(issuer, "eva", ["traffic-editor"]), bearer(issuer, "vic", ["traffic-viewer"])
            day = str(ZERO.date())
            report = c.get("/api/v1/traffic/report", headers=viewer, params={"from": day, "to": day}).json()
            assert report["items"] == [{"day": day, "station": "A", "checks": ["zero"], "flagged": 1}]
            png = c.get("/api/v1/traffic/stations/A/plot.png", headers=viewer)
            assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
            assert c.get("/api/v1/traffic/health.png", headers=viewer).content[:4] == b"\x89PNG"
            missing = c.get("/api/v1/traffic/stations/Nirgendwo/plot.png", headers=viewer)
            assert missing.status_code in (400, 404) and missing.headers["content-type"] == "application/problem+json"
    finally:
        runtime.close()
