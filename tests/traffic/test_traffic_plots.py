"""PNG pictures of a station's series and of the sensors' health (rathaus.traffic.plots)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from rathaus.core.errors import BadRequest
from rathaus.traffic.plots import health_overview, series_plot


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).size


def test_series_plot_shows_counts_flags_and_filled_values() -> None:
    index = pd.date_range("2022-01-01", periods=120, freq="D")
    values = pd.Series(1000 + 300 * np.sin(np.arange(120) / 7), index=index)
    values.iloc[40:50] = np.nan
    flags = pd.DataFrame({"ts": [index[10], index[11]], "check": ["zero", "zero"]})
    imputed = pd.DataFrame({"value": 1000.0, "lower": 800.0, "upper": 1200.0}, index=index[40:50])
    plain = series_plot("Erhardt", values)
    full = series_plot("Erhardt", values, flags, imputed)
    assert _png_size(full)[0] > 800
    assert full != plain  # the markers and the band are drawn


def test_health_overview_has_one_row_per_station() -> None:
    index = pd.date_range("2022-01-01", periods=90, freq="D")
    quality = pd.DataFrame({"A": "raw", "B": "raw", "C": "raw"}, index=index)
    quality.iloc[:20, 1] = "missing"
    small = health_overview(quality[["A"]])
    tall = health_overview(quality)
    assert _png_size(tall)[1] > _png_size(small)[1]


def test_plots_refuse_empty_input() -> None:
    with pytest.raises(BadRequest, match="no values"):
        series_plot("X", pd.Series(dtype=float, index=pd.DatetimeIndex([])))
    with pytest.raises(BadRequest, match="no data"):
        health_overview(pd.DataFrame())
