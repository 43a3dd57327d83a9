"""``rathaus traffic eval --resolution 15min``: the masked-gap benchmark on files in the city's quarter-hour format.

Pure logic on a small synthetic file written here in the city's format (``;``, dates ``YYYY.MM.DD``, the seven
columns, ``-1`` = no measurement); the CLI as a user runs it, with one readable line for bad input; and the real
file of ../shared/data when it is on this machine (skipped with the reason otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_runner import one_line_error
from rathaus.core.errors import BadRequest
from rathaus.traffic.backtest import format_table, run_eval
from rathaus.traffic.backtest_15min import PATTERNS, evaluate_15min, hide, read_interval_csv
from rathaus.traffic.formats import TrafficFileError
from rathaus.traffic.intervals import clustered_z

REAL = Path(os.environ.get("RATHAUS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")) \
    / "munich-bike-counts-15min" / "rad_15min_2015-2016.csv"
HEADER = "datum;uhrzeit_start;uhrzeit_ende;zaehlstelle;richtung_1;richtung_2;gesamt\n"
DAYS = pd.date_range("2023-03-06", periods=42, freq="D")  # six weeks over the March clock change (26 March)


def city_csv(path: Path, seed: int = 0) -> Path:
    """Three stations sharing a two-peak day profile and a day-to-day level, Poisson counts per direction."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(0, 0.2, len(DAYS))
    lines = [HEADER]
    hours = np.arange(96) / 4
    profile = np.exp(-((hours - 8) ** 2) / 2) + 0.8 * np.exp(-((hours - 17) ** 2) / 3) + 0.03
    for station, scale in (("Nord", 1.0), ("Sued", 0.6), ("West", 1.5)):
        for d, day in enumerate(DAYS):
            weekday = 0.6 if day.day_of_week >= 5 else 1.0
            mean = 30 * scale * weekday * level[d] * profile
            r1, r2 = rng.poisson(mean * 0.55), rng.poisson(mean * 0.45)
            for q in range(96):
                start = f"{q // 4:02d}:{q % 4 * 15:02d}"
                end = f"{(q + 1) // 4 % 24:02d}:{(q + 1) % 4 * 15:02d}"
                total = r1[q] + r2[q]
                if station == "Sued" and d == 10 and 40 <= q < 44:  # the city's "no measurement"
                    r1[q] = r2[q] = total = -1
                lines.append(f"{day:%Y.%m.%d};{start};{end};{station};{r1[q]};{r2[q]};{total}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def city_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return city_csv(tmp_path_factory.mktemp("eval15") / "rad_15min.csv")


# ------------------------------------------------------------------------------------------- pure logic

def test_reader_reads_the_city_format_as_the_importer_does(city_file: Path) -> None:
    data = read_interval_csv(city_file)
    assert data.stations == ["Nord", "Sued", "West"]
    assert data.info["rows"] == 3 * 42 * 96 and data.info["kind"] == "bike-15min"
    local = data.counts.index.tz_convert("Europe/Berlin").tz_localize(None)
    change = local.normalize() == pd.Timestamp("2023-03-26")
    assert change.sum() == 92  # 02:00–02:45 do not exist that day: the importer rejects those rows
    sued = data.counts["Sued"]
    at = pd.Timestamp("2023-03-16 10:00", tz="Europe/Berlin")
    assert sued[at:at + pd.Timedelta("45min")].isna().all()  # -1 = no measurement → missing, not a count
    assert (data.counts.fillna(0) >= 0).all().all()
    assert set(data.directions) == {"richtung_1", "richtung_2"}
    both = data.directions["richtung_1"]["Nord"] + data.directions["richtung_2"]["Nord"]
    pd.testing.assert_series_equal(both, data.counts["Nord"], check_names=False)
    part = read_interval_csv(city_file, "2023-04-01", "2023-04-07")
    assert len(part.counts) == 7 * 96 and part.counts.notna().all().all()


def test_patterns_hide_the_gap_lengths_they_name() -> None:
    index = pd.date_range(pd.Timestamp("2023-05-01", tz="Europe/Berlin"), periods=96 * 60, freq="15min")
    days = pd.DatetimeIndex(index.tz_localize(None).normalize())
    good = np.ones(len(index), dtype=bool)
    for pattern, (low, high) in {"scattered": (1, 1), "hours": (4, 16), "days": (96, 96),
                                 "blocks": (192, 672)}.items():
        hidden = hide(good, days, pattern, np.random.default_rng(1))
        edges = np.flatnonzero(np.diff(np.r_[0, hidden.astype(int), 0]))
        lengths = edges[1::2] - edges[::2]
        assert len(lengths) and lengths.min() >= low and lengths.max() <= high, pattern
        assert not hidden[0] and not hidden[-1]
    with pytest.raises(BadRequest, match="unknown gap pattern"):
        hide(good, days, "weeks", np.random.default_rng(0))


def test_eval_scores_every_pattern_and_method_and_beats_the_baselines(city_file: Path) -> None:
    result = run_eval(city_file, resolution="15min", seed=0)
    assert {r["pattern"] for r in result.rows} == set(PATTERNS)
    for pattern in PATTERNS:
        for method in ("linear", "profile", "ratio", "gbm", "blend", "rathaus"):
            row = result.get(pattern, method)
            assert row["n"] > 0 and np.isfinite(row["mae"]) and 0 <= row["coverage90"] <= 1
    days, blocks = result.get("days", "rathaus"), result.get("blocks", "rathaus")
    # a whole day: the neighbours carry the day's level, which interpolation and the profile cannot know
    assert days["mae"] < 0.7 * result.get("days", "linear")["mae"]
    assert blocks["mae"] < result.get("blocks", "profile")["mae"]
    assert 0.7 <= blocks["coverage90"] <= 1.0
    text = format_table(result)
    assert "×ratio" in text and "Viertelstunden" in text and "scattered" in text


def test_clustered_z_does_not_count_one_block_as_many_observations() -> None:
    better = np.r_[np.full(100, 5.0), np.full(100, -1.0), np.full(100, 0.5)]
    independent = clustered_z(better, np.arange(300))
    blocks = clustered_z(better, np.repeat([0, 1, 2], 100))
    assert independent > 4 and blocks < 2


def test_bad_input_is_one_readable_error(tmp_path: Path, city_file: Path) -> None:
    empty = tmp_path / "leer.csv"
    empty.write_text("")
    with pytest.raises(TrafficFileError, match="empty"):
        run_eval(empty, resolution="15min")
    wrong = tmp_path / "falsch.csv"
    wrong.write_text("a;b;c\n1;2;3\n")
    with pytest.raises(TrafficFileError, match="not a traffic count CSV"):
        run_eval(wrong, resolution="15min")
    with pytest.raises(BadRequest, match="unknown resolution"):
        run_eval(city_file, resolution="5min")
    with pytest.raises(BadRequest, match="file not found"):
        run_eval(tmp_path / "fehlt.csv", resolution="15min")
    with pytest.raises(BadRequest, match="unknown station"):
        run_eval(city_file, resolution="15min", stations=["Ost"])
    daily = tmp_path / "tage.csv"
    daily.write_text(HEADER + "2023.01.01;00:00;23:59;Nord;1;2;3\n")
    with pytest.raises(BadRequest, match="expected 15-minute counts"):
        run_eval(daily, resolution="15min")
    short = tmp_path / "kurz.csv"
    short.write_text("".join(city_file.read_text().splitlines(keepends=True)[:96 * 7 + 1]))
    with pytest.raises(BadRequest, match="too few good quarter-hours"):
        run_eval(short, resolution="15min")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "220"})
    return subprocess.run([sys.executable, "-m", "rathaus.cli", "traffic", "eval", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=600)


def test_cli_eval_15min_and_its_errors(tmp_path: Path, city_file: Path) -> None:
    ok = _cli(tmp_path, str(city_file), "--resolution", "15min", "--station", "West", "--from", "2023-03-06",
              "--to", "2023-04-09")
    assert ok.returncode == 0, ok.stderr
    for pattern in PATTERNS:
        assert f"gap pattern: {pattern}" in ok.stdout
    assert "rathaus" in ok.stdout and "×ratio" in ok.stdout
    empty = tmp_path / "leer.csv"
    empty.write_text("")
    one_line_error(_cli(tmp_path, str(empty), "--resolution", "15min"), "the file is empty")
    wrong = tmp_path / "falsch.csv"
    wrong.write_text("a;b;c\n1;2;3\n")
    one_line_error(_cli(tmp_path, str(wrong), "--resolution", "15min"), "not a traffic count CSV")
    one_line_error(_cli(tmp_path, str(city_file), "--resolution", "hourly"), "unknown resolution 'hourly'")
    one_line_error(_cli(tmp_path, str(city_file), "--resolution", "15min", "--from", "gestern"), "unreadable date")
    one_line_error(_cli(tmp_path, str(city_file), "--from", "2023-03-06"), "only supported for 15-minute")


# ------------------------------------------------------------------------------------------- the real file

@pytest.mark.skipif(not REAL.exists(), reason=f"real 15-minute file not on this machine ({REAL})")
def test_the_real_quarter_hour_file_is_read_and_its_masked_cells_are_scored() -> None:
    data = read_interval_csv(REAL)
    assert data.info["rows"] == 350_880  # 5 stations × 731 days × 96 quarter-hours
    assert data.stations == ["Arnulf", "Erhardt", "Kreuther", "Margareten", "Olympia"]
    # the March days have no 02:00–02:45 (rejected, 4 rows × 5 stations × 2 years); the rest are values
    assert data.info["values"] == 350_880 - 40
    assert data.counts.index[0] == pd.Timestamp("2014-12-31 23:00", tz="UTC")
    one = pd.Timestamp("2015-01-01 00:15", tz="Europe/Berlin")
    assert data.counts.at[one, "Arnulf"] == 0 and data.directions["richtung_2"].at[one, "Arnulf"] == 0
    part = read_interval_csv(REAL, "2016-05-02", "2016-06-26")  # eight weeks
    result = evaluate_15min(part, stations=["Erhardt"], seed=0, methods=("ratio", "gbm", "blend", "rathaus"))
    for pattern in PATTERNS:
        row = result.get(pattern, "rathaus", "Erhardt")
        assert row["n"] >= 50 and np.isfinite(row["mae"]), (pattern, row)
    assert result.get("days", "rathaus")["mae"] < result.get("days", "ratio")["mae"]
