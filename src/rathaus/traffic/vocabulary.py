"""The traffic capability's vocabulary, in a module without dependencies (the CLI's options and the API's
parameters use it without loading pandas).
"""

from __future__ import annotations

from enum import StrEnum


class FileKind(StrEnum):
    """What a traffic CSV holds (``auto``: detect it from the columns)."""

    AUTO = "auto"
    BIKE_DAILY = "bike-daily"  # the city's bicycle counts, one line per station and day (with weather)
    BIKE_15MIN = "bike-15min"  # the same per quarter-hour
    DETECTORS = "detectors"  # a matrix: one timestamp column, one column per detector
    STATIONS = "stations"  # station metadata
