"""Gap filling for bicycle counts on small synthetic series (no real data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rathaus.core.errors import BadRequest
from rathaus.traffic.backtest import evaluate, format_table, run_eval
from rathaus.traffic.calendar import calendar_features, school_holiday_days_per_year
from rathaus.traffic.daily import DailyCounts, daily_counts_from_frame, read_daily_csv
from rathaus.traffic.formats import TrafficFileError
from rathaus.traffic.impute import METHODS, fill, fill_all

WEEKLY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.5])  # Monday … Sunday


def synthetic_frame(days: int = 730, seed: int = 0) -> pd.DataFrame:
    """Two stations in the city's daily format: A = weekly pattern × season × weather × a shared day effect
    (events nobody forecasts) × noise; B sees the same day effect at another level; C is unrelated noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2021-01-01", periods=days, freq="D")
    doy = dates.day_of_year.to_numpy()
    temp = 10 - 10 * np.cos(2 * np.pi * (doy - 15) / 365) + rng.normal(0, 3, days)
    rain = np.where(rng.random(days) < 0.3, rng.gamma(1.5, 4, days), 0.0)
    shared = rng.normal(0, 0.25, days)  # the same unexplained swing at both stations
    weather = np.exp(0.03 * temp - 0.04 * rain)
    base = WEEKLY[dates.day_of_week.to_numpy()] * weather * np.exp(shared)
    a = 2000 * base * np.exp(rng.normal(0, 0.05, days))
    b = 800 * base * np.exp(rng.normal(0, 0.05, days))
    c = 500 * np.exp(rng.normal(0, 0.3, days))
    rows = []
    for name, values in (("A", a), ("B", b), ("C", c)):
        rows.append(pd.DataFrame({
            "datum": dates.strftime("%Y.%m.%d"), "uhrzeit_start": "00:00", "uhrzeit_ende": "23:59",
            "zaehlstelle": name, "richtung_1": 0, "richtung_2": 0, "gesamt": np.round(values).astype(int),
            "min-temp": temp - 5, "max-temp": temp + 5, "niederschlag": rain, "bewoelkung": 50,
            "sonnenstunden": 5.0,
        }))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def data() -> DailyCounts:
    return daily_counts_from_frame(synthetic_frame(), level_shifts={})


BLOCK = pd.date_range("2022-05-02", periods=21, freq="D")


def mae(data: DailyCounts, frame: pd.DataFrame) -> float:
    truth = data.counts.loc[frame.index, "A"].to_numpy()
    return float(np.mean(np.abs(frame["value"].to_numpy() - truth)))


# ---------------------------------------------------------------- calendar

def test_bavarian_holidays_are_recognised() -> None:
    features = calendar_features(pd.to_datetime(["2022-01-06", "2022-08-10", "2022-08-15", "2022-03-09",
                                                 "2022-05-27", "2022-12-28"]))
    assert features["public_holiday"].tolist() == [1, 0, 1, 0, 0, 0]  # Hl. Drei Könige, Mariä Himmelfahrt
    assert features.loc["2022-08-10", "school_holiday"] == 1  # Bavarian summer holidays
    assert features.loc["2022-03-09", "school_holiday"] == 0
    assert features.loc["2022-05-27", "bridge_day"] == 1  # the Friday after Ascension Day
    assert features.loc["2022-12-28", "christmas_period"] == 1
    assert features["weekday"].tolist() == [3, 2, 0, 2, 4, 2]


def test_school_holidays_cover_the_data_years_and_say_when_not() -> None:
    per_year = school_holiday_days_per_year(range(2017, 2023))
    assert all(80 <= n <= 100 for n in per_year.values()), per_year
    assert np.isnan(calendar_features(pd.to_datetime(["2035-08-10"]))["school_holiday"].iloc[0])


# ---------------------------------------------------------------- methods

@pytest.mark.parametrize("method", METHODS)
def test_each_method_fills_a_hidden_block_with_an_interval(data: DailyCounts, method: str) -> None:
    frame = fill(data, "A", BLOCK, method=method)
    assert list(frame.index) == list(BLOCK)
    assert np.isfinite(frame[["value", "lower", "upper"]].to_numpy()).all()
    assert (frame["lower"] <= frame["value"]).all() and (frame["value"] <= frame["upper"]).all()
    assert frame["gap_days"].max() == 11
    assert mae(data, frame) < 0.6 * data.counts["A"].mean()  # even the baselines land near the level


def test_gbm_with_a_neighbour_beats_linear_on_a_block(data: DailyCounts) -> None:
    filled = fill_all(data, "A", BLOCK, methods=("linear", "gbm", "rathaus"))
    gbm, linear = mae(data, filled["gbm"].frame), mae(data, filled["linear"].frame)
    assert gbm < 0.5 * linear, (gbm, linear)
    assert set(filled["rathaus"].frame["method"]) <= set(METHODS)


def test_neighbour_is_found_and_noise_station_is_not(data: DailyCounts) -> None:
    from rathaus.traffic.impute import correlated_neighbours

    assert correlated_neighbours(data, "A") == ["B"]


def test_intervals_cover_roughly_ninety_percent(data: DailyCounts) -> None:
    result = evaluate(data, stations=["A"], seed=3, methods=("gbm", "linear"))
    for pattern in ("scattered", "blocks"):
        coverage = result.get(pattern, "gbm")["coverage90"]
        assert 0.78 <= coverage <= 0.99, (pattern, coverage)
    assert "gbm" in format_table(result)


def test_a_hidden_days_own_value_never_reaches_its_prediction(data: DailyCounts) -> None:
    first = fill_all(data, "A", BLOCK, methods=("ratio", "gbm"))
    changed = DailyCounts(data.counts.copy(), data.weather, data.flags, data.level_shifts)
    changed.counts.loc[BLOCK, "A"] *= 10
    second = fill_all(changed, "A", BLOCK, methods=("ratio", "gbm"))
    for method in ("ratio", "gbm"):
        pd.testing.assert_frame_equal(first[method].frame, second[method].frame)


def test_outages_are_flagged_not_learned() -> None:
    frame = synthetic_frame(120)
    frame.loc[(frame["zaehlstelle"] == "A") & frame["datum"].isin(["2021.02.01", "2021.02.02"]), "gesamt"] = 0
    frame.loc[(frame["zaehlstelle"] == "A") & (frame["datum"] == "2021.02.10"), "gesamt"] = 3
    counts = daily_counts_from_frame(frame, level_shifts={})
    assert counts.flags.loc["2021-02-01", "A"] == "zero"
    assert counts.flags.loc["2021-02-10", "A"] == "partial_outage"
    assert np.isnan(counts.counts.loc["2021-02-10", "A"])


def test_level_shift_splits_regimes() -> None:
    counts = daily_counts_from_frame(synthetic_frame(120), level_shifts={"A": ("2021-03-01",)})
    regime = counts.regime("A")
    assert regime["2021-02-28"] == 0 and regime["2021-03-01"] == 1


# ---------------------------------------------------------------- bad input

def test_empty_series_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="keine Zeilen"):
        daily_counts_from_frame(synthetic_frame(10).iloc[0:0])


def test_all_missing_station_is_a_bad_request() -> None:
    frame = synthetic_frame(120)
    frame.loc[frame["zaehlstelle"] == "A", "gesamt"] = 0
    counts = daily_counts_from_frame(frame, level_shifts={})
    with pytest.raises(BadRequest, match="zu wenige bekannte Tage"):
        fill(counts, "A", pd.date_range("2021-02-01", periods=3), method="linear")


def test_unknown_station_and_missing_columns_are_bad_requests(tmp_path, data: DailyCounts) -> None:
    path = tmp_path / "counts.csv"
    synthetic_frame(120).to_csv(path, index=False)
    with pytest.raises(BadRequest, match=r"Unbekannte Zählstelle.*Nowhere.*A, B, C"):
        run_eval(path, stations=["Nowhere"])
    with pytest.raises(BadRequest, match="unknown method"):
        fill(data, "A", BLOCK, method="magic")
    broken = tmp_path / "broken.csv"
    synthetic_frame(10).drop(columns=["gesamt"]).to_csv(broken, index=False)
    with pytest.raises(TrafficFileError, match=r"not a traffic count CSV.*expected datum, zaehlstelle, gesamt"):
        run_eval(broken)
    with pytest.raises(BadRequest, match="not found"):
        run_eval(tmp_path / "absent.csv")


def test_a_single_station_file_without_neighbours_or_weather_still_fills() -> None:
    frame = synthetic_frame(400)
    frame = frame[frame["zaehlstelle"] == "A"].drop(columns=["niederschlag", "bewoelkung", "sonnenstunden"])
    counts = daily_counts_from_frame(frame, level_shifts={})
    days = pd.date_range("2021-06-01", periods=10)
    filled = fill_all(counts, "A", days, methods=("ratio", "gbm", "rathaus"))
    for result in filled.values():
        assert np.isfinite(result.frame["value"]).all()
        # without weather and neighbours only the calendar is left: no precision, but no nonsense either
        assert mae(counts, result.frame) < counts.counts["A"].mean()
        assert (result.frame["value"] > 0.3 * counts.counts["A"].mean()).all()


def test_eval_reads_semicolon_latin1_files_with_decimal_commas_like_the_importer(tmp_path) -> None:
    frame = synthetic_frame(120)
    comma, semicolon = tmp_path / "comma.csv", tmp_path / "semicolon.csv"
    frame.to_csv(comma, index=False)
    text = frame.assign(zaehlstelle=frame["zaehlstelle"].replace({"C": "Königsplatz"})).to_csv(
        index=False, sep=";", decimal=",")
    semicolon.write_bytes(text.encode("latin-1"))
    a, b = read_daily_csv(comma), read_daily_csv(semicolon)
    assert list(b.counts.columns) == ["A", "B", "Königsplatz"]
    np.testing.assert_allclose(a.counts.to_numpy(), b.counts.to_numpy())
    np.testing.assert_allclose(a.weather.to_numpy(), b.weather.to_numpy())
    assert b.weather["niederschlag"].max() > 1  # decimal commas read as numbers, not dropped


def test_eval_names_a_file_that_is_not_daily_counts(tmp_path) -> None:
    detectors = tmp_path / "detectors.csv"
    detectors.write_text("datetime,D1,D2\n2022-03-01 00:00,12,9\n2022-03-01 00:15,10,8\n")
    with pytest.raises(BadRequest, match="expected the city's daily counts"):
        run_eval(detectors)
