"""15-minute counts: the Zürich ratio method, method choice by backtest, intervals, clock changes, and
import → check → fill → report on the real embedded PostgreSQL (CLI and REST).

The counts are synthetic (written here): three detectors sharing a two-peak day profile and a day-to-day
level, with Poisson noise; detector D2 gets a block of zeros in the afternoon, and all three miss a morning."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_traffic_import import cli

from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.core.errors import BadRequest
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime
from rathaus.traffic import export_frame, import_file, pipeline
from rathaus.traffic.intervals import BUCKETS, FILL_METHODS, fill_intervals, predict_ratio, slot_of_day

TZ = "Europe/Berlin"
# 6 weeks around the October clock change (2022-10-30 has 25 hours = 100 quarter-hours)
LOCAL_DAYS = pd.date_range("2022-10-03", periods=42, freq="D")
INDEX = pd.date_range(pd.Timestamp("2022-10-03", tz=TZ), pd.Timestamp("2022-11-14", tz=TZ), freq="15min",
                      inclusive="left")
ZEROS_DAY, MISSING_DAY = "2022-11-08", "2022-11-09"


def matrix(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    local = INDEX.tz_localize(None)
    hours = local.hour + local.minute / 60
    profile = np.exp(-((hours - 8) ** 2) / 2) + 0.8 * np.exp(-((hours - 17) ** 2) / 3) + 0.05
    weekday = np.where(local.day_of_week >= 5, 0.6, 1.0)
    day_level = pd.Series(rng.lognormal(0, 0.15, len(LOCAL_DAYS)), index=LOCAL_DAYS).reindex(local.normalize())
    mean = 40 * profile * weekday * day_level.to_numpy()
    return pd.DataFrame({f"D{i}": rng.poisson(mean * scale) for i, scale in enumerate((1.0, 0.7, 1.4), 1)},
                        index=INDEX).astype(float)


# ------------------------------------------------------------------------------------------- pure logic

def test_ratio_method_follows_the_day_shape_at_the_level_just_measured() -> None:
    index = pd.date_range(pd.Timestamp("2022-05-02", tz=TZ), periods=96 * 21, freq="15min")
    typical = np.tile(np.r_[np.full(48, 10.0), np.full(48, 30.0)], 21)  # 10 in the morning, 30 afternoon
    values = pd.Series(typical, index=index)
    values.iloc[-96:] *= 2  # the last day runs at twice the usual level
    known = np.ones(len(values), dtype=bool)
    known[-40:-30] = False  # afternoon gap on the busy day
    predicted = predict_ratio(values, known)
    # hour before the gap = 4 × 60 on a typical 4 × 30: ratio 2 → 2 × 30
    np.testing.assert_allclose(predicted[-40:-30], 60.0)


def test_clock_change_day_has_100_quarter_hours_with_local_slots() -> None:
    day = INDEX[(INDEX.tz_convert(TZ).tz_localize(None).normalize() == pd.Timestamp("2022-10-30"))]
    assert len(day) == 100
    slots = slot_of_day(day)
    assert slots.min() == 0 and slots.max() == 95 and (np.bincount(slots) == 2).sum() == 4  # 02:00–02:45 twice


def test_fill_intervals_picks_methods_by_backtest_and_covers_the_truth() -> None:
    counts = matrix()
    truth = counts["D1"]
    values = truth.copy()
    day = values.index.tz_convert(TZ).tz_localize(None).normalize() == pd.Timestamp("2022-11-02")
    values[day] = np.nan  # a whole working day
    short = np.flatnonzero(~day)[3000:3003]
    values.iloc[short] = np.nan  # 45 minutes
    filled, test = fill_intervals(values, counts[["D2", "D3"]])
    assert len(filled) == day.sum() + 3
    assert set(test.chosen) == set(BUCKETS) and set(test.chosen.values()) <= set(FILL_METHODS)
    assert test.chosen["≤ 1 day"] in ("gbm", "blend")  # the neighbours carry the day's level
    assert set(test.method_quantiles) == set(FILL_METHODS) and set(test.per_bucket) == set(BUCKETS)
    whole_day = filled.loc[values.index[day]]
    mae = np.mean(np.abs(whole_day["value"] - truth[day]))
    linear = np.mean(np.abs(values.interpolate(limit_area="inside")[day] - truth[day]))
    assert mae < 0.5 * linear
    inside = (truth[filled.index] >= filled["lower"]) & (truth[filled.index] <= filled["upper"])
    assert 0.75 <= inside.mean() <= 1.0
    assert (filled["lower"] <= filled["value"]).all() and (filled["value"] <= filled["upper"]).all()


def test_flagged_values_are_filled_and_bad_series_are_named() -> None:
    counts = matrix()
    flagged = counts.index[500:508]
    filled, _ = fill_intervals(counts["D1"], counts[["D2"]], missing=flagged)
    assert list(filled.index) == list(flagged)
    with pytest.raises(BadRequest, match="tz-aware"):
        fill_intervals(counts["D1"].tz_localize(None))
    with pytest.raises(BadRequest, match="too few known values"):
        fill_intervals(counts["D1"].iloc[:500])
    with pytest.raises(BadRequest, match="negative"):
        fill_intervals(counts["D1"] - 100)


# ------------------------------------------------------------------------------- database, CLI and REST

def detector_csv() -> bytes:
    counts = matrix()
    local = counts.index.tz_localize(None)
    d2 = counts["D2"].copy()
    d2[(local.normalize() == pd.Timestamp(ZEROS_DAY)) & (local.hour >= 14) & (local.hour < 17)] = 0
    counts["D2"] = d2
    keep = ~((local.normalize() == pd.Timestamp(MISSING_DAY)) & (local.hour >= 6) & (local.hour < 10))
    frame = counts[keep].astype(int)
    # local time with an explicit offset: the repeated October hour stays unambiguous
    frame.index = frame.index.map(lambda t: t.isoformat())
    return frame.rename_axis("datetime").reset_index().to_csv(index=False).encode()


@pytest.fixture
def detectors(runtime: Runtime) -> Runtime:
    report = import_file(runtime.db, detector_csv(), name="detectors.csv", create_stations=True)
    assert report.rejected == 0 and report.stored == 3 * (len(INDEX) - 16)
    return runtime


def test_check_fill_report_and_export_of_detectors(detectors: Runtime) -> None:
    db = detectors.db
    flags = pipeline.check(db, ["D2"], resolution="15min")
    zero_day = flags[flags["ts"].dt.tz_convert(TZ).dt.strftime("%Y-%m-%d") == ZEROS_DAY]
    zeros = zero_day[zero_day["check"] == "zero"]
    assert len(zeros) >= 10  # 12 planted afternoon zeros at a busy time; a quiet night zero is no fault
    report = pipeline.report(db, ZEROS_DAY, ZEROS_DAY, resolution="15min")
    assert list(report["station"]) == ["D2"] and "zero" in report.iloc[0]["checks"]
    assert report.iloc[0]["flagged"] >= 10

    filled = pipeline.impute(db, ["D2"], resolution="15min")
    local = filled["ts"].dt.tz_convert(TZ)
    assert ((local.dt.strftime("%Y-%m-%d") == MISSING_DAY) & (local.dt.hour < 10)).sum() == 16
    assert (filled["value"] > 0).all() and (filled["lower"] <= filled["upper"]).all()
    exported = export_frame(db, "D2", "gesamt", "15min")
    afternoon = exported[exported["ts_utc"].isin(zeros["ts"].dt.tz_convert("UTC"))]
    assert (afternoon["quality"] == "imputed").all() and (afternoon["value"] > 0).all()
    assert (afternoon["raw_value"] == 0).all()  # the raw zero is kept next to the filled value
    assert len(exported) == len(INDEX) and (exported["quality"] == "missing").sum() == 0
    with pytest.raises(BadRequest, match=r"unknown station.*Nirgendwo"):
        pipeline.check(db, ["Nirgendwo"], resolution="15min")


def test_detectors_over_cli_and_rest(make_settings: Callable[..., Settings], issuer: Issuer, tmp_path) -> None:
    settings = make_settings(**issuer.settings())
    runtime = Runtime(settings)
    try:
        import_file(runtime.db, detector_csv(), name="detectors.csv", create_stations=True)
        editor = bearer(issuer, "eva", ["traffic-editor"])
        with TestClient(create_app(runtime)) as c:
            checked = c.post("/api/v1/traffic/checks", headers=editor,
                             params={"station": ["D2"], "resolution": "15min"})
            assert checked.status_code == 200, checked.text
            assert checked.json()["per_station"]["D2"]["zero"] >= 10
            editor = bearer(issuer, "eva", ["traffic-editor"])
            wrong = c.post("/api/v1/traffic/checks", headers=editor, params={"resolution": "hourly"})
            assert wrong.status_code == 422 and wrong.headers["content-type"] == "application/problem+json"
            report = c.get("/api/v1/traffic/report", headers=editor,
                           params={"from": ZEROS_DAY, "to": ZEROS_DAY, "resolution": "15min"}).json()
            assert report["items"][0]["station"] == "D2" and report["items"][0]["flagged"] >= 10
    finally:
        runtime.close()
    filled = cli(settings, tmp_path, "impute", "--station", "D1", "--resolution", "15min")
    assert filled.returncode == 0, filled.stderr
    assert "D1: 16 Viertelstunden gefüllt" in filled.stdout


def test_stable_choice_pools_gap_lengths_and_needs_clear_evidence_to_split() -> None:
    from rathaus.traffic.intervals import stable_choice

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), 10)
    buckets = np.where(groups < 30, "short", "long")
    base = rng.gamma(2.0, 2.0, len(groups))
    # "a" is clearly best overall; "b" is slightly better on short gaps only by noise, "c" clearly on long ones
    errors = {"a": base, "b": base + np.where(buckets == "short", rng.normal(-0.05, 2.0, len(groups)), 3.0),
              "c": base + np.where(buckets == "long", -1.5, 4.0)}
    chosen = stable_choice(errors, groups, buckets, ["short", "long", "none"])
    assert chosen == {"short": "a", "long": "c", "none": "a"}
