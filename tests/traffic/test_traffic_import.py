"""Traffic counts: reading the city's CSV formats, storing them idempotently in the real embedded PostgreSQL,
the CLI, the REST API and the export with its quality column. Every fixture file is written here."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer, bearer
from rathaus.api.routers import traffic as traffic_router
from rathaus.app import create_app
from rathaus.core.errors import UnsupportedMediaType
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime
from rathaus.traffic import (
    TrafficFileError,
    export,
    export_frame,
    import_file,
    import_stations,
    list_stations,
    load_series,
    save_flags,
    save_imputed,
)

REAL = Path("/work/shared/data/munich-bike-counts")
BIKE_HEADER = "datum,uhrzeit_start,uhrzeit_ende,zaehlstelle,richtung_1,richtung_2,gesamt"
DAILY_HEADER = BIKE_HEADER + ",min-temp,max-temp,niederschlag,bewoelkung,sonnenstunden"
STATIONS = (
    "zaehlstelle,zaehlstelle_lang,latitude,longitude,richtung_1,richtung_2,besonderheiten\n"
    "Arnulf,Arnulfstr. 9 - 11 Südseite,48.14205,11.55534,Ost,West,\"Baustelle seit 2021, stark beeinflusst\"\n"
    "Erhardt,Erhardtstr. (Deutsches Museum),48.13192,11.58469,Süd,Nord,\n"
)
DAILY = (
    DAILY_HEADER + "\n"
    "2017.01.01,00:00,23:59,Arnulf,121,14,135,-6.1,2.6,0.0,36,5.9\n"
    "2017.01.01,00:00,23:59,Erhardt,253,278,531,-6.1,2.6,0.0,36,5.9\n"
    "2017.01.02,00:00,23:59,Arnulf,300,100,400,,,,,\n"
    "2017.01.02,00:00,23:59,Erhardt,600,633,1233,,,,,\n"
    "2017.01.04,00:00,23:59,Arnulf,310,90,400,1.0,3.0,0.5,80,1.0\n"
)


def sql(rt: Runtime, query: str, **params: object) -> list[tuple]:
    with rt.db.session() as session:
        return [tuple(r) for r in session.execute(sa.text(query), params).all()]


def count(rt: Runtime, table: str) -> int:
    return sql(rt, f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    import_stations(runtime.db, STATIONS.encode(), name="radzaehlstellen.csv")
    return runtime


def quarter_hours(day: str, hours: range, station: str = "Arnulf", value: int = 5,
                  repeat: tuple[int, ...] = ()) -> list[str]:
    """15-minute lines of one local day; hours in ``repeat`` appear twice (as in October's files)."""
    lines = []
    for passes, h in ((2 if h in repeat else 1, h) for h in hours):
        for n in range(passes):
            for m in (0, 15, 30, 45):
                end = f"{h:02d}:{m + 14:02d}"
                lines.append(f"{day},{h:02d}:{m:02d},{end},{station},{value + n},{value},{2 * value + n}")
    return lines


# --- daily files, weather, idempotency ------------------------------------------------------------------------

def test_daily_file_is_stored_with_weather_and_missing_weather_as_null(rt: Runtime) -> None:
    report = import_file(rt.db, DAILY.encode(), name="rad_2017.csv", user="anna")
    assert (report.kind, report.resolution, report.rows_read) == ("bike-daily", "day", 5)
    assert (report.stored, report.unchanged, report.rejected, report.conflicts) == (15, 0, 0, 0)
    assert report.weather == {"stored": 5, "unchanged": 0, "conflicts": 0} and report.problems == []
    assert count(rt, "traffic_counts") == 15
    # 2017-01-01 local midnight is 2016-12-31 23:00 UTC
    assert sql(rt, "SELECT ts AT TIME ZONE 'UTC', value FROM traffic_counts WHERE station_id = 'Erhardt' "
                   "AND channel = 'gesamt' ORDER BY ts") == [(pd.Timestamp("2016-12-31 23:00").to_pydatetime(), 531),
                                                             (pd.Timestamp("2017-01-01 23:00").to_pydatetime(), 1233)]
    assert sql(rt, "SELECT min_temp, max_temp, precipitation, cloud_cover, sunshine_hours FROM traffic_weather "
                   "WHERE station_id = 'Arnulf' ORDER BY day") == [(-6.1, 2.6, 0.0, 36.0, 5.9),
                                                                  (None, None, None, None, None),
                                                                  (1.0, 3.0, 0.5, 80.0, 1.0)]
    batch = sql(rt, "SELECT file_name, kind, rows_read, stored, unchanged, rejected, created_by, length(sha256) "
                    "FROM traffic_imports WHERE id = :i", i=report.import_id)
    assert batch == [("rad_2017.csv", "bike-daily", 5, 15, 0, 0, "anna", 64)]
    series = load_series(rt.db, "Arnulf")
    assert list(series["value"]) == [135, 400, 400]
    assert [t.isoformat() for t in series.index] == ["2017-01-01T00:00:00+01:00", "2017-01-02T00:00:00+01:00",
                                                     "2017-01-04T00:00:00+01:00"]
    assert series["max_temp"].iloc[0] == 2.6 and pd.isna(series["max_temp"].iloc[1])
    full = load_series(rt.db, "Arnulf", start="2017-01-01", end="2017-01-04", complete=True)
    assert len(full) == 4 and pd.isna(full["value"].iloc[2])
    assert list(load_series(rt.db, "Arnulf", channel="richtung_2", start="2017-01-02")["value"]) == [100, 90]


def test_reimport_changes_nothing_and_a_changed_value_keeps_the_original(rt: Runtime) -> None:
    first = import_file(rt.db, DAILY.encode(), name="a.csv")
    before = sql(rt, "SELECT station_id, channel, ts, value, import_id FROM traffic_counts ORDER BY 1, 2, 3")
    again = import_file(rt.db, DAILY.encode(), name="a.csv")
    assert (again.stored, again.unchanged, again.conflicts, again.rejected) == (0, 15, 0, 0)
    assert again.weather == {"stored": 0, "unchanged": 5, "conflicts": 0}
    assert sql(rt, "SELECT station_id, channel, ts, value, import_id FROM traffic_counts ORDER BY 1, 2, 3") == before
    assert count(rt, "traffic_weather") == 5 and count(rt, "traffic_imports") == 3  # stations + two imports

    changed = DAILY.replace("2017.01.02,00:00,23:59,Arnulf,300,100,400", "2017.01.02,00:00,23:59,Arnulf,300,100,401")
    changed += "2017.01.05,00:00,23:59,Arnulf,1,2,3,0,1,0,0,0\n"
    third = import_file(rt.db, changed.encode(), name="b.csv")
    assert (third.stored, third.unchanged, third.conflicts) == (3, 14, 1)
    assert sql(rt, "SELECT value, import_id FROM traffic_counts WHERE station_id = 'Arnulf' AND channel = 'gesamt' "
                   "AND ts = '2017-01-01 23:00Z'") == [(400, first.import_id)]
    [problem] = third.problems
    assert problem.line == 4 and problem.column == "gesamt"
    assert "stored 400, file 401" in problem.reason and "original kept" in problem.reason
    assert count(rt, "traffic_counts") == 18
    with rt.db.session() as session:  # two imports in one transaction of the caller
        in_one = [import_file(session, changed.encode(), name="c.csv") for _ in range(2)]
    assert [(r.stored, r.unchanged, r.conflicts) for r in in_one] == [(0, 17, 1), (0, 17, 1)]


def test_semicolon_latin1_and_decimal_comma(runtime: Runtime) -> None:
    stations = ("zaehlstelle;zaehlstelle_lang;latitude;longitude;richtung_1;richtung_2;besonderheiten;;\r\n"
                "Hörwick;Joseph-Hörwick-Weg (Hirschgarten);48,14438;11,51794;West;Ost;Zählschleife verbreitert;;\r\n")
    import_stations(runtime.db, stations.encode("cp1252"), name="stationen.csv")
    daily = ("datum;uhrzeit_start;uhrzeit_ende;zaehlstelle;richtung_1;richtung_2;gesamt;min-temp;max-temp;"
             "niederschlag;bewoelkung;sonnenstunden;;\r\n"
             "01.06.2019;00:00;23:59;Hörwick;1.204;1.100;2.304;12,4;28,1;0,3;51;15,3;;\r\n")
    report = import_file(runtime.db, daily.encode("cp1252"), name="juni.csv")
    assert (report.encoding, report.delimiter, report.stored, report.rejected) == ("cp1252", ";", 3, 0)
    assert sql(runtime, "SELECT channel, value FROM traffic_counts ORDER BY channel") == [
        ("gesamt", 2304), ("richtung_1", 1204), ("richtung_2", 1100)]
    assert sql(runtime, "SELECT day::text, min_temp, max_temp, precipitation, sunshine_hours FROM traffic_weather"
               ) == [("2019-06-01", 12.4, 28.1, 0.3, 15.3)]
    [station] = list_stations(runtime.db)
    assert (station["lat"], station["lon"], station["notes"]) == (48.14438, 11.51794, "Zählschleife verbreitert")
    bom = import_file(runtime.db, b"\xef\xbb\xbf" + daily.replace("01.06.2019", "2019-06-02").encode(), name="b.csv")
    assert (bom.encoding, bom.stored) == ("utf-8-sig", 3)
    tabs = DAILY_HEADER.replace(",", "\t") + "\n2019.06.03\t00:00\t23:59\tHörwick\t1\t2\t3\t\t\t\t\t\n"
    assert import_file(runtime.db, tabs.encode(), name="t.csv").stored == 3


def test_unknown_station_is_rejected_per_row_unless_created(rt: Runtime) -> None:
    text = DAILY_HEADER + "\n2017.01.01,00:00,23:59,Nirgendwo,1,2,3,,,,,\n2017.01.01,00:00,23:59,Arnulf,1,2,3,,,,,\n"
    report = import_file(rt.db, text.encode(), name="x.csv")
    assert (report.stored, report.rejected) == (3, 3)
    [problem] = report.problems
    assert problem.line == 2 and problem.column == "zaehlstelle" and "'Nirgendwo'" in problem.reason
    assert "--create-stations" in problem.reason
    assert sql(rt, "SELECT count(*) FROM traffic_counts WHERE station_id = 'Nirgendwo'") == [(0,)]
    created = import_file(rt.db, text.encode(), name="x.csv", create_stations=True)
    assert created.stations_created == ["Nirgendwo"] and (created.stored, created.unchanged) == (3, 3)
    assert sql(rt, "SELECT kind, name FROM traffic_stations WHERE id = 'Nirgendwo'") == [("bike", None)]


def test_duplicates_in_a_file_collapse_or_are_rejected(rt: Runtime) -> None:
    text = (DAILY_HEADER + "\n"
            "2017.01.01,00:00,23:59,Arnulf,1,2,3,,,,,\n"
            "2017.01.01,00:00,23:59,Arnulf,1,2,3,,,,,\n"  # identical: collapsed
            "2017.01.02,00:00,23:59,Arnulf,1,2,3,,,,,\n"
            "2017.01.02,00:00,23:59,Arnulf,1,5,6,,,,,\n")  # richtung_2 and gesamt conflict
    report = import_file(rt.db, text.encode(), name="dup.csv")
    assert (report.stored, report.duplicates, report.rejected) == (4, 4, 4)  # richtung_1 of 01-02 agrees
    assert sql(rt, "SELECT channel, value FROM traffic_counts WHERE ts = '2017-01-01 23:00Z' ORDER BY channel"
               ) == [("richtung_1", 1)]
    reasons = {(p.line, p.column): p.reason for p in report.problems}
    assert "conflicting values (3, 6; lines 4, 5)" in reasons[(4, "gesamt")]
    assert (5, "richtung_2") in reasons and "collapsed" in reasons[(3, None)]


# --- 15-minute data across the changes of daylight-saving time ----------------------------------------------------

def test_dst_march_day_has_23_hours_and_october_day_25(rt: Runtime) -> None:
    march = quarter_hours("2023.03.26", range(24))  # the file lists 02:00–02:45, which do not exist
    october = quarter_hours("2023.10.29", range(24), repeat=(2,))  # 02:00–02:45 twice: summer, then winter time
    report = import_file(rt.db, "\n".join([BIKE_HEADER, *march, *october]).encode(), name="15min.csv")
    assert report.kind == "bike-15min" and report.resolution == "15min"
    assert report.rejected == 12 and report.stored == 3 * (92 + 100)
    assert {(p.line, p.column) for p in report.problems} == {(n, "uhrzeit_start") for n in range(10, 14)}
    assert all("does not exist" in p.reason for p in report.problems)
    per_day = sql(rt, "SELECT (ts AT TIME ZONE 'Europe/Berlin')::date::text, count(*) FROM traffic_counts "
                      "WHERE channel = 'gesamt' AND resolution = '15min' GROUP BY 1 ORDER BY 1")
    assert per_day == [("2023-03-26", 92), ("2023-10-29", 100)]
    utc = [r[0] for r in sql(rt, "SELECT to_char(ts AT TIME ZONE 'UTC', 'MM-DD HH24:MI') FROM traffic_counts "
                                 "WHERE channel = 'richtung_1' ORDER BY ts")]
    assert utc[:9] == ["03-25 23:00", "03-25 23:15", "03-25 23:30", "03-25 23:45", "03-26 00:00", "03-26 00:15",
                       "03-26 00:30", "03-26 00:45", "03-26 01:00"]  # 01:45 CET is followed by 03:00 CEST
    october_utc = utc[92:]
    assert october_utc[8:16] == ["10-29 00:00", "10-29 00:15", "10-29 00:30", "10-29 00:45", "10-29 01:00",
                                 "10-29 01:15", "10-29 01:30", "10-29 01:45"]
    # the first 02:00 (summer time) carries 5, the repeated one (winter time) 6 – kept in the file's order
    repeated = load_series(rt.db, "Arnulf", "richtung_1", "15min", start="2023-10-29 01:45", end="2023-10-29 03:00")
    assert [(t.strftime("%H:%M%z"), v) for t, v in repeated["value"].items()][:6] == [
        ("01:45+0200", 5), ("02:00+0200", 5), ("02:15+0200", 5), ("02:30+0200", 5), ("02:45+0200", 5),
        ("02:00+0100", 6)]
    # the complete grid of the 25-hour day has 100 quarter-hours, of the 23-hour day 92
    for day, n in (("2023-10-29", 100), ("2023-03-26", 92)):
        grid = load_series(rt.db, "Arnulf", "gesamt", "15min", start=day, end=f"{day} 23:45", complete=True)
        assert len(grid) == n and grid["value"].notna().all() and grid.index.is_unique
    frame = export_frame(rt.db, "Arnulf", channel="gesamt", resolution="15min")
    assert frame["ts_utc"].is_unique and len(frame) == (frame["ts_utc"].iloc[-1] - frame["ts_utc"].iloc[0]
                                                        ) / pd.Timedelta("15min") + 1
    assert frame["quality"].value_counts().to_dict() == {"missing": len(frame) - 192, "raw": 192}
    # re-import across the DST days: nothing new
    again = import_file(rt.db, "\n".join([BIKE_HEADER, *march, *october]).encode(), name="15min.csv")
    assert (again.stored, again.unchanged, again.conflicts) == (0, 3 * 192, 0)


def test_negative_absurd_and_unreadable_counts_are_rejected_per_value(rt: Runtime) -> None:
    text = (DAILY_HEADER + "\n"
            "2017.01.01,00:00,23:59,Arnulf,-5,10,5,,,,,\n"
            "2017.01.02,00:00,23:59,Arnulf,10,10,999999,,,,,\n"
            "2017.01.03,00:00,23:59,Arnulf,zehn,1.5,,,,,,\n"
            "2017.13.45,00:00,23:59,Arnulf,1,1,2,,,,,\n")
    report = import_file(rt.db, text.encode(), name="bad.csv")
    assert (report.stored, report.empty, report.rejected) == (4, 1, 7)
    reasons = {(p.line, p.column): p.reason for p in report.problems}
    assert reasons[(2, "richtung_1")].startswith("negative Zählung / negative count")
    assert "absurdly high" in reasons[(3, "gesamt")]
    assert "not a number" in reasons[(4, "richtung_1")] and "not a whole number" in reasons[(4, "richtung_2")]
    assert "unreadable date" in reasons[(5, "datum")]
    assert sql(rt, "SELECT channel, value FROM traffic_counts ORDER BY ts, channel") == [
        ("gesamt", 5), ("richtung_2", 10), ("richtung_1", 10), ("richtung_2", 10)]


# --- detector matrices -------------------------------------------------------------------------------------------

def test_detector_matrix_each_detector_is_a_station(runtime: Runtime) -> None:
    text = ("datetime,D101,D102,D103,\n"
            "2023-05-01 00:00:00,12,7,,\n"
            "2023-05-01 00:15:00,10,-1,3,\n"
            "2023-05-01 00:30:00,9,8,4,\n"
            "kaputt,1,1,1,\n")
    refused = import_file(runtime.db, text.encode(), name="detektoren.csv")
    assert refused.stored == 0 and refused.rejected == 4 + 7  # unreadable + the valid values of unknown detectors
    assert {(p.line, p.column) for p in refused.problems if "unknown detector" in p.reason} == {
        (1, "D101"), (1, "D102"), (1, "D103")}
    report = import_file(runtime.db, text.encode(), name="detektoren.csv", create_stations=True)
    assert report.kind == "detectors" and sorted(report.stations_created) == ["D101", "D102", "D103"]
    assert (report.stored, report.empty, report.rejected) == (7, 1, 4)
    assert sql(runtime, "SELECT station_id, to_char(ts AT TIME ZONE 'UTC', 'HH24:MI'), value FROM traffic_counts "
                        "WHERE station_id = 'D102' ORDER BY ts") == [("D102", "22:00", 7), ("D102", "22:30", 8)]
    assert sql(runtime, "SELECT DISTINCT kind FROM traffic_stations") == [("detector",)]
    assert list(load_series(runtime.db, "D101", resolution="15min")["value"]) == [12, 10, 9]


# --- files that are not traffic counts --------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "error", "fragment"), [
    (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", UnsupportedMediaType, "not a text file"),
    (b"PK\x03\x04\x14\x00\x00\x00", UnsupportedMediaType, "not a text file"),
    (b"Name,Vorname,Telefon\nMeier,Anna,089 123\n", TrafficFileError, "not a traffic count CSV"),
    (b"", TrafficFileError, "the file is empty"),
    (DAILY_HEADER.encode() + b"\n", TrafficFileError, "no data rows"),
])
def test_a_file_that_is_not_traffic_counts_is_one_error_and_stores_nothing(
        rt: Runtime, content: bytes, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        import_file(rt.db, content, name="falsch.csv")
    assert fragment in str(caught.value) and "falsch.csv" in str(caught.value)
    assert count(rt, "traffic_counts") == 0 and count(rt, "traffic_imports") == 1  # only the stations


# --- export with quality -----------------------------------------------------------------------------------------

def test_export_marks_raw_flagged_imputed_and_missing(rt: Runtime) -> None:
    import_file(rt.db, DAILY.encode(), name="a.csv")
    save_flags(rt.db, [{"station": "Arnulf", "channel": "gesamt", "resolution": "day", "ts": "2017-01-02",
                        "check": "zero_run", "reason": "Ausfall?", "detail": {"z": 4.2}}], run_id="check-1")
    run = save_imputed(rt.db, pd.DataFrame({"station": ["Arnulf", "Arnulf"], "channel": ["gesamt", "gesamt"],
                                            "ts": ["2017-01-02", "2017-01-03"], "value": [380.5, 390.0],
                                            "lower": [300.0, 310.0], "upper": [450.0, 470.0]}), method="seasonal")
    assert sql(rt, "SELECT method, run_id FROM traffic_imputed LIMIT 1") == [("seasonal", run)]
    frame = export_frame(rt.db, "Arnulf", channel="gesamt")
    assert list(frame["quality"]) == ["raw", "imputed", "imputed", "raw"]
    assert list(frame["value"]) == [135.0, 380.5, 390.0, 400.0]
    assert list(frame["raw_value"].astype(object).where(frame["raw_value"].notna(), None)) == [135, 400, None, 400]
    assert frame["method"].iloc[1] == "seasonal" and frame["upper"].iloc[2] == 470.0
    assert frame["flags"].iloc[1] == "zero_run"
    # without an imputed value a flagged value stays flagged, a gap stays missing
    save_flags(rt.db, [{"station_id": "Arnulf", "ts": "2017-01-04", "check_name": "jump", "reason": "Sprung"}])
    with rt.db.session() as session:
        session.execute(sa.text("DELETE FROM traffic_imputed"))
    frame = export_frame(rt.db, "Arnulf", channel="gesamt")
    assert list(frame["quality"]) == ["raw", "flagged", "missing", "flagged"]
    csv_text = export(rt.db, "Arnulf").decode()
    lines = csv_text.splitlines()
    assert lines[0] == ("station,channel,resolution,ts_utc,local_time,value,raw_value,quality,method,lower,upper,"
                        "flags")
    assert "Arnulf,gesamt,day,2017-01-02T23:00:00+00:00,2017-01-03T00:00:00+01:00,,,missing" in csv_text
    assert len(lines) == 1 + 3 * 4
    parquet = pd.read_parquet(io.BytesIO(export(rt.db, "Arnulf", "parquet")))
    assert len(parquet) == 12 and set(parquet["quality"]) == {"raw", "flagged", "missing"}


# --- REST API ----------------------------------------------------------------------------------------------------

@pytest.fixture
def api(make_settings: Callable[..., Settings], issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    runtime = Runtime(make_settings(**issuer.settings()))
    import_stations(runtime.db, STATIONS.encode(), name="radzaehlstellen.csv")
    with TestClient(create_app(runtime)) as c:
        yield runtime, c
    runtime.close()


def test_api_upload_report_series_and_export(api: tuple[Runtime, TestClient], issuer: Issuer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, c = api
    editor, viewer, other = (bearer(issuer, "eva", ["traffic-editor"]), bearer(issuer, "vic", ["traffic-viewer"]),
                             bearer(issuer, "olaf", ["kb-editor"]))
    bad_row = DAILY + "2017.01.05,00:00,23:59,Arnulf,-1,1,0,,,,,\n"
    up = c.post("/api/v1/traffic/imports", headers=editor, files={"file": ("rad.csv", bad_row.encode(), "text/csv")})
    assert up.status_code == 201, up.text
    body = up.json()
    assert (body["stored"], body["rejected"], body["kind"]) == (17, 1, "bike-daily")
    assert body["problems"] == [{"line": 7, "column": "richtung_1", "reason": "negative Zählung / negative count: "
                                                                              "'-1'"}]
    got = c.get(f"/api/v1/traffic/imports/{body['import_id']}", headers=viewer).json()
    assert got["created_by"] == "eva" and got["problems"] == body["problems"] and got["stored"] == 17

    # roles: viewers and others may not import; others may not read
    assert c.post("/api/v1/traffic/imports", headers=viewer,
                  files={"file": ("rad.csv", DAILY.encode(), "text/csv")}).status_code == 403
    denied = c.get("/api/v1/traffic/stations", headers=other)
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    assert count(runtime, "traffic_imports") == 2

    stations = c.get("/api/v1/traffic/stations", headers=viewer).json()
    assert [s["id"] for s in stations] == ["Arnulf", "Erhardt"]
    assert {"channel": "gesamt", "resolution": "day", "values": 4, "first": "2016-12-31T23:00:00+00:00",
            "last": "2017-01-04T23:00:00+00:00"} in stations[0]["series"]
    series = c.get("/api/v1/traffic/stations/Arnulf/series", headers=viewer,
                   params={"from": "2017-01-02", "to": "2017-01-04"}).json()
    assert [(p["ts"], p["value"], p["max_temp"]) for p in series["points"]] == [
        ("2017-01-02T00:00:00+01:00", 400, None), ("2017-01-04T00:00:00+01:00", 400, 3.0)]
    assert c.get("/api/v1/traffic/stations/Arnulf/series", headers=viewer,
                 params={"from": "gestern"}).status_code == 400

    csv_export = c.get("/api/v1/traffic/stations/Arnulf/export", headers=viewer)
    assert csv_export.status_code == 200 and csv_export.headers["content-type"].startswith("text/csv")
    assert "quality" in csv_export.text.splitlines()[0] and ",missing," in csv_export.text
    parquet = c.get("/api/v1/traffic/stations/Arnulf/export?format=parquet", headers=viewer)
    assert pd.read_parquet(io.BytesIO(parquet.content))["quality"].value_counts().to_dict() == {"raw": 11,
                                                                                                 "missing": 3}
    for path in ("/api/v1/traffic/stations/Nirgendwo/series", "/api/v1/traffic/stations/Nirgendwo/export",
                 "/api/v1/traffic/imports/99999"):
        missing = c.get(path, headers=viewer)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

    # unreadable files: 415 (binary), 422 (not traffic counts), 413 (too large); nothing stored
    pdf = c.post("/api/v1/traffic/imports", headers=editor, files={"file": ("a.pdf", b"%PDF-1.4\n", "text/csv")})
    assert pdf.status_code == 415 and pdf.json()["type"].endswith("/unsupported-media-type")
    text = c.post("/api/v1/traffic/imports", headers=editor, files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")})
    assert text.status_code == 422 and "not a traffic count CSV" in text.json()["detail"]
    monkeypatch.setattr(traffic_router, "MAX_UPLOAD_BYTES", 100)
    big = c.post("/api/v1/traffic/imports", headers=editor, files={"file": ("rad.csv", DAILY.encode(), "text/csv")})
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    assert count(runtime, "traffic_imports") == 2 and count(runtime, "traffic_counts") == 17


# --- CLI ---------------------------------------------------------------------------------------------------------

def cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "rathaus.cli", "traffic", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_import_and_export(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    (tmp_path / "stationen.csv").write_text(STATIONS)
    (tmp_path / "rad.csv").write_text(DAILY + "2017.01.05,00:00,23:59,Arnulf,-1,1,0,,,,,\n")
    (tmp_path / "bild.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    done = cli(settings, tmp_path, "import", "--stations", "stationen.csv", "rad.csv")
    assert done.returncode == 0, done.stderr
    assert "rad.csv: bike-daily, 6 Zeilen/lines – gespeichert/stored 17, unverändert/unchanged 0, " \
           "abgelehnt/rejected 1, Konflikte/conflicts 0" in done.stdout
    assert "Zeile/line 7, richtung_1: negative Zählung / negative count: '-1'" in done.stdout
    again = cli(settings, tmp_path, "import", "rad.csv")
    assert "gespeichert/stored 0, unverändert/unchanged 17" in again.stdout
    broken = cli(settings, tmp_path, "import", "bild.png")
    assert broken.returncode == 1 and broken.stderr.strip().splitlines() == [
        "rathaus: bild.png: keine Textdatei / not a text file (binary content); expected a CSV of traffic counts"]
    out = cli(settings, tmp_path, "export", "Arnulf", "--format", "parquet", "--out", "arnulf.parquet")
    assert out.returncode == 0, out.stderr
    assert set(pd.read_parquet(tmp_path / "arnulf.parquet")["quality"]) == {"raw", "missing"}
    unknown = cli(settings, tmp_path, "export", "Nirgendwo")
    assert unknown.returncode == 1 and unknown.stderr.strip() == "rathaus: unbekannte Zählstelle / unknown " \
                                                                "station: 'Nirgendwo'"


# --- the real file -----------------------------------------------------------------------------------------------

@pytest.mark.skipif(not (REAL / "rad_tage_2017-2022.csv").is_file(),
                    reason=f"real Munich bicycle counts not present in {REAL} (development data, not in the repo)")
def test_the_real_munich_daily_file(runtime: Runtime) -> None:
    report = import_file(runtime.db, REAL / "rad_tage_2017-2022.csv", stations_file=REAL / "radzaehlstellen.csv")
    assert (report.rows_read, report.stored, report.rejected, report.conflicts) == (10955, 32859, 6, 0)
    # the published file has two different rows for Kreuther on 2019-06-03: both are rejected (it has 2,190
    # distinct days for Kreuther, so one more day is absent)
    assert {(p.line, p.column) for p in report.problems} == {(ln, ch) for ln in (4419, 4420)
                                                             for ch in ("gesamt", "richtung_1", "richtung_2")}
    assert sql(runtime, "SELECT count(*) FROM traffic_counts WHERE station_id = 'Kreuther' AND channel = 'gesamt'"
               ) == [(2189,)]
    assert {s["id"] for s in list_stations(runtime.db)} == {"Arnulf", "Erhardt", "Hirsch", "Kreuther", "Margareten",
                                                           "Olympia"}
    assert import_file(runtime.db, REAL / "rad_tage_2017-2022.csv").unchanged == 32859


def test_station_file_problems_are_reported_not_dropped(runtime: Runtime) -> None:
    """Rows of a station file that were skipped or corrected appear in the import's report (issue 14 noted that
    they were lost)."""
    stations = STATIONS + ",Ohne Kennung,48.1,11.5,Ost,West,\n" + "Kaputt,Irgendwo,148.1,11.5,Ost,West,\n"
    report = import_stations(runtime.db, stations.encode(), name="stationen.csv")
    reasons = {(p.line, p.column): p.reason for p in report.problems}
    assert "station id missing" in reasons[(4, "zaehlstelle")]
    assert "coordinates out of range" in reasons[(5, "latitude")]
    assert report.problems_total == 2 and report.stored == 3  # Arnulf, Erhardt, Kaputt (without coordinates)
