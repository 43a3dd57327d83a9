"""Calendar features for Munich: weekday, month, cyclic day of year, Bavarian public and school holidays,
bridge days and the Christmas–New Year period.

Holidays come from the offline ``holidays`` package. Public holidays are Bavaria's statutory ones plus
Mariä Himmelfahrt (15 August), which is a public holiday in Munich (a municipality with a Catholic majority) but
sits in the package's ``catholic`` category. School holidays are Bavaria's (``categories=("school",)``); the
package covers 2016–2024 at least (checked with :func:`school_holiday_days_per_year`). For a year it does not
cover, the school-holiday column is missing (NaN) instead of a silent "no holiday".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays
import numpy as np
import pandas as pd

#: a covered year has about 90 days of Bavarian school holidays; fewer than this means "not covered"
MIN_SCHOOL_HOLIDAY_DAYS = 60
CALENDAR_COLUMNS = ("weekday", "month", "doy_sin", "doy_cos", "year")
HOLIDAY_COLUMNS = ("public_holiday", "school_holiday", "bridge_day", "christmas_period")


def public_holidays(years: Iterable[int]) -> dict[dt.date, str]:
    """Munich's public holidays (German names) in the given years."""
    years = sorted(set(years))
    found = holidays.country_holidays("DE", subdiv="BY", categories=("public", "catholic"), years=years,
                                      language="de")
    return dict(found.items())


def school_holidays(years: Iterable[int]) -> dict[dt.date, str]:
    """Bavaria's school holidays in the given years (only the years the package covers)."""
    years = sorted(set(years))
    found = holidays.country_holidays("DE", subdiv="BY", categories=("school",), years=years, language="de")
    return dict(found.items())


def school_holiday_days_per_year(years: Iterable[int]) -> dict[int, int]:
    """How many school-holiday days the package knows per year (0 = year not covered)."""
    days = school_holidays(years)
    return {year: sum(1 for d in days if d.year == year) for year in sorted(set(years))}


def _as_index(dates: Iterable[dt.date] | pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(dates) if not isinstance(dates, pd.DatetimeIndex) else dates))


def calendar_features(dates: Iterable[dt.date] | pd.DatetimeIndex) -> pd.DataFrame:
    """One row per date: weekday (0 = Monday), month, day of year as sine/cosine, year, holiday flags.

    ``bridge_day`` is a working day (Mon–Fri, no public holiday) whose previous and next days are both free
    (weekend or public holiday), e.g. the Friday after Ascension Day. ``christmas_period`` is 24 December to
    6 January.
    """
    index = _as_index(dates).normalize()
    if len(index) == 0:
        return pd.DataFrame(columns=[*CALENDAR_COLUMNS, *HOLIDAY_COLUMNS], index=index, dtype=float)
    years = range(index.min().year - 1, index.max().year + 2)
    public = {pd.Timestamp(d) for d in public_holidays(years)}
    school = {pd.Timestamp(d) for d in school_holidays(years)}
    covered = {y for y, n in school_holiday_days_per_year(years).items() if n >= MIN_SCHOOL_HOLIDAY_DAYS}

    doy = index.day_of_year.to_numpy() - 1
    days_in_year = np.where(index.is_leap_year, 366, 365)
    angle = 2 * np.pi * doy / days_in_year
    is_public = index.isin(list(public))

    def free(days: pd.DatetimeIndex) -> np.ndarray:
        return (days.day_of_week >= 5) | days.isin(list(public))

    prev_free = free(index - pd.Timedelta(days=1))
    next_free = free(index + pd.Timedelta(days=1))
    working = (index.day_of_week < 5) & ~is_public
    school_flag = np.where(index.year.isin(list(covered)), index.isin(list(school)).astype(float), np.nan)
    christmas = ((index.month == 12) & (index.day >= 24)) | ((index.month == 1) & (index.day <= 6))
    return pd.DataFrame({
        "weekday": index.day_of_week,
        "month": index.month,
        "doy_sin": np.sin(angle),
        "doy_cos": np.cos(angle),
        "year": index.year,
        "public_holiday": is_public.astype(float),
        "school_holiday": school_flag,
        "bridge_day": (working & prev_free & next_free).astype(float),
        "christmas_period": christmas.astype(float),
    }, index=index)
