"""The monthly run: the four reports of the month just ended, as HTML and CSV files under
``data_dir/reports/<month>/`` (job ``governance.monthly_reports``, the 1st of every month; or by hand with
``rathaus jobs run governance.monthly_reports``). On demand, any month: ``rathaus report <kind> --month``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rathaus.core.budgets import CITY_TZ
from rathaus.core.files import atomic_write, make_dirs
from rathaus.core.jobs import progress
from rathaus.governance.reports.model import KINDS


def previous_month(today: dt.date | None = None) -> str:
    today = today or dt.datetime.now(CITY_TZ).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def monthly_reports(runtime: Any, month: str | None = None) -> dict[str, Any]:
    """Write the four reports of ``month`` (default: the previous month); returns the files written."""
    from rathaus.governance.reports import build_report, render_csv, render_html

    month = month or previous_month()
    folder = Path(runtime.settings.data_dir) / "reports" / month
    make_dirs(folder)
    written = []
    with runtime.db.session() as session:
        for i, kind in enumerate(KINDS):
            report = build_report(session, runtime.settings, runtime.catalog, kind, month)
            for suffix, text in (("html", render_html(report)), ("csv", render_csv(report))):
                path = folder / f"{kind}-{month}.{suffix}"
                atomic_write(path, text)  # a full disk leaves last run's file as it was, never half a report
                written.append(str(path))
            progress(i + 1, len(KINDS), kind)
    return {"month": month, "files": written}
