"""`rathaus backup` / `rathaus restore` (issue 19): pg_dump and pg_restore of the embedded default, as an operator
runs them, against the real embedded PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from cli_runner import cli_runner, one_line_error
from rathaus.core import budgets
from rathaus.runtime import Runtime


def limits(runtime: Runtime) -> dict[str, Decimal | None]:
    runtime.db.engine.dispose()  # the restore replaced the tables under the pool's connections
    with runtime.db.session() as s:
        rows = s.execute(sa.text("SELECT department, eur_per_month FROM budget_limits ORDER BY department"))
        return {r.department: r.eur_per_month for r in rows}


def test_backup_then_restore_brings_back_exactly_what_was_saved(runtime: Runtime, tmp_path: Path) -> None:
    run = cli_runner(runtime.settings, tmp_path)
    with runtime.db.session() as s:
        budgets.set_limit(s, "KVR", Decimal("12.5"), 1000)
    dump = tmp_path / "rathaus.dump"
    done = run("backup", str(dump))
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 10_000 and not (tmp_path / "rathaus.dump.partial").exists()
    assert "secrets" in done.stdout  # the operator is told the keys are not in the dump

    with runtime.db.session() as s:  # life goes on after the backup
        budgets.set_limit(s, "KVR", Decimal("99"), None)
        budgets.set_limit(s, "SOZ", Decimal("5"), None)
    assert limits(runtime) == {"KVR": Decimal("99.0000"), "SOZ": Decimal("5.0000")}

    one_line_error(run("restore", str(dump)), "--yes")  # asks before replacing anything
    one_line_error(run("restore", str(tmp_path / "missing.dump"), "--yes"), "not found")
    not_a_dump = tmp_path / "notes.dump"
    not_a_dump.write_text("keine Sicherung\n", encoding="utf-8")
    one_line_error(run("restore", str(not_a_dump), "--yes"), "not a rathaus backup")
    one_line_error(run("backup", str(tmp_path)), "is a folder")
    assert limits(runtime) == {"KVR": Decimal("99.0000"), "SOZ": Decimal("5.0000")}  # nothing was touched

    done = run("restore", str(dump), "--yes")
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    assert limits(runtime) == {"KVR": Decimal("12.5000")}  # the state of the backup, the later change gone
