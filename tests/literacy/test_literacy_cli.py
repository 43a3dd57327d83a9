"""``rathaus literacy report`` as a user runs it: counts per department and module from the database, the
department's active users from metering, cells below RATHAUS_GOVERNANCE_MIN_GROUP_SIZE shown as "< n", nobody
named – and one readable line for a bad month."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from cli_runner import cli_runner, one_line_error
from rathaus.core.auth import Principal
from rathaus.core.settings import Settings
from rathaus.literacy import modules as mod
from rathaus.literacy import service
from rathaus.runtime import Runtime

RIGHT = [q.answer for q in next(m for m in mod.load() if m.id == "datenklassen").questions]


def test_report_counts_suppresses_and_names_nobody(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    rt = Runtime(settings)
    try:
        with rt.db.session() as session:
            for n in range(3):
                service.attempt(session, rt.settings, Principal(f"sozial-{n}", "user", "sozialreferat"),
                                "datenklassen", RIGHT)
            service.attempt(session, rt.settings, Principal("raw-0", "user", "raw"), "datenklassen", RIGHT)
        with rt.db.engine.begin() as conn:
            for n in range(4):
                conn.execute(sa.text(
                    "INSERT INTO usage_events (request_id, department, principal, principal_kind, use_case, model, "
                    "provider, operation, data_class, status) VALUES (:r, 'sozialreferat', :p, 'user', 'chat', "
                    "'m', 'local', 'chat', 'intern', 'ok')"), {"r": f"r{n}", "p": f"sozial-{n}"})
    finally:
        rt.close()
    cli = cli_runner(settings, tmp_path, "literacy")
    env = {"RATHAUS_GOVERNANCE_MIN_GROUP_SIZE": "3"}
    out = cli("report", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    by = {r["department"]: r for r in rep["rows"]}
    assert by["sozialreferat"]["modules"]["datenklassen"] == {"count": 3, "shown": "3", "share_of_active": 0.75}
    assert by["sozialreferat"]["active_users"]["count"] == 4
    assert by["raw"]["modules"]["datenklassen"] == {"count": None, "shown": "< 3"}
    assert "sozial-0" not in out.stdout and "raw-0" not in out.stdout
    # with the default minimum group of 5 the same cells are suppressed
    rep5 = json.loads(cli("report", "--json").stdout)
    assert {r["department"]: r for r in rep5["rows"]}["sozialreferat"]["modules"]["datenklassen"]["shown"] == "< 5"
    table = cli("report", env=env)
    assert table.returncode == 0 and "sozialreferat" in table.stdout and "< 3" in table.stdout
    assert cli("report", "--month", "1999-01", "--json", env=env).returncode == 0
    assert json.loads(cli("report", "--month", "1999-01", "--json", env=env).stdout)["rows"] == []
    one_line_error(cli("report", "--month", "March"), "month must be YYYY-MM")
