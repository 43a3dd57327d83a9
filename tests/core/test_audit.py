"""The audit log is append-only and hash-chained; verify finds every edit, deletion and insertion."""

import datetime as dt
import json
import stat

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rathaus.core import audit
from rathaus.runtime import Runtime


def fill(rt: Runtime, n: int = 5) -> None:
    with rt.db.session() as s:
        for i in range(n):
            audit.append(s, audit.AuditEntry(actor=f"user-{i}", department="KVR", use_case="test", action="model.chat",
                                             model="m", data_class="intern", input_hash=audit.content_hash(f"in {i}"),
                                             energy_wh=0.001 * i, details={"i": i, "tiny": 1.1665e-06}),
                         rt.gateway.audit_key)


def tamper(rt: Runtime, sql: str) -> None:
    """What an attacker with direct database access would do: switch off triggers and change rows."""
    with rt.db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(sql)


def verify(rt: Runtime) -> audit.VerifyResult:
    with rt.db.session() as s:
        return audit.verify_all(s, rt.gateway.audit)


def checkpoint(rt: Runtime) -> object:
    with rt.db.session() as s:
        return audit.checkpoint(s, rt.gateway.audit)


def backdate(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """Records appended from now on carry a time ``days`` in the past (for retention tests)."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    monkeypatch.setattr(audit, "_now", lambda: when)


def test_intact_chain_verifies(runtime: Runtime) -> None:
    fill(runtime)
    result = verify(runtime)
    assert result.ok and result.checked == 5 and result.last_seq == 5


def test_update_and_delete_are_refused_by_the_database(runtime: Runtime) -> None:
    fill(runtime, 2)
    for sql in ("UPDATE audit_log SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1",
                "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), runtime.db.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    assert verify(runtime).ok


def test_edited_row_is_detected(runtime: Runtime) -> None:
    fill(runtime)
    tamper(runtime, "UPDATE audit_log SET department = 'SOZ' WHERE seq = 3")
    result = verify(runtime)
    assert not result.ok
    assert any("record 3 was altered" in p for p in result.problems)


def test_edited_json_field_is_detected(runtime: Runtime) -> None:
    fill(runtime)
    tamper(runtime, """UPDATE audit_log SET details = jsonb_set(details, '{i}', '99') WHERE seq = 2""")
    assert any("record 2 was altered" in p for p in verify(runtime).problems)


def test_deleted_row_in_the_middle_is_detected(runtime: Runtime) -> None:
    fill(runtime)
    tamper(runtime, "DELETE FROM audit_log WHERE seq = 2")
    assert any("records 2..2 are missing" in p for p in verify(runtime).problems)


def test_deleted_last_row_is_detected(runtime: Runtime) -> None:
    fill(runtime)
    tamper(runtime, "DELETE FROM audit_log WHERE seq = 5")
    assert any("records 5..5 are missing at the end" in p for p in verify(runtime).problems)


def test_rewritten_chain_without_key_is_detected_with_key(make_settings) -> None:
    rt = Runtime(make_settings(audit_hmac_key="s3cret-key-for-tests"))
    try:
        fill(rt, 3)
        # An attacker recomputes a plain SHA-256 chain after editing row 2: without the key it fails.
        with rt.db.session() as s:
            rows = [dict(r._mapping) for r in s.execute(sa.text("SELECT * FROM audit_log ORDER BY seq"))]
        rows[1]["actor"] = "someone-else"
        prev = rows[0]["hash"]
        for row in rows[1:]:
            row["prev_hash"] = prev
            row["hash"] = audit.record_hash(row, key=None)
            prev = row["hash"]
            tamper(rt, f"UPDATE audit_log SET actor = '{row['actor']}', prev_hash = '{row['prev_hash']}', "
                       f"hash = '{row['hash']}' WHERE seq = {row['seq']}")
        tamper(rt, f"UPDATE audit_head SET hash = '{prev}'")
        result = verify(rt)
        assert not result.ok and any("record 2 was altered" in p for p in result.problems)
    finally:
        rt.close()


def test_purge_moves_the_anchor_and_chain_stays_valid(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    backdate(monkeypatch, 200)
    fill(runtime, 4)
    monkeypatch.undo()
    with runtime.db.session() as s:  # a cutoff six months ago purges all four (200 days old) records
        deleted = audit.purge(s, dt.datetime.now(dt.UTC) - dt.timedelta(days=183), runtime.gateway.audit)
        audit.append(s, audit.AuditEntry(actor="cli", department="-", use_case="administration", action="audit.purge"),
                     key=runtime.gateway.audit_key)
    assert deleted == 4
    result = verify(runtime)
    assert result.ok, result.problems
    assert result.first_seq == 5 and result.last_seq == 5
    purges = [cp for cp in audit.read_checkpoints(runtime.gateway.audit.checkpoints, runtime.gateway.audit_key)[0]
              if cp.kind == audit.PURGE]
    assert [(cp.seq, cp.kind) for cp in purges] == [(4, "purge")]


def test_export_is_jsonl_with_hashes(runtime: Runtime) -> None:
    fill(runtime, 3)
    now = dt.datetime.now(dt.UTC)
    with runtime.db.session() as s:
        items = list(audit.export(s, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)))
    assert [i["seq"] for i in items] == [1, 2, 3]
    assert items[1]["prev_hash"] == items[0]["hash"]
    # an export can be re-verified independently: recompute a record's hash from its fields
    item = json.loads(json.dumps(items[2]))
    item["ts"] = dt.datetime.fromisoformat(item["ts"])
    assert audit.record_hash(item, key=runtime.gateway.audit_key) == items[2]["hash"]  # with the chain's key
    assert "in 0" not in json.dumps(items)  # no raw input, only hashes


def test_concurrent_appends_keep_one_chain(runtime: Runtime) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> None:
        with runtime.db.session() as s:
            audit.append(s, audit.AuditEntry(actor=f"u{i}", department="KVR", use_case="t", action="a"),
                         runtime.gateway.audit_key)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(40)))
    result = verify(runtime)
    assert result.ok and result.checked == 40


# --- issue 13: a database user must not be able to shorten the log unseen ------------------------------------------

def test_a_new_data_directory_gets_a_private_key_file_and_a_keyed_chain(runtime: Runtime) -> None:
    path = audit.key_file(runtime.settings)
    assert path is not None and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert runtime.gateway.audit_key == path.read_text().strip().encode()
    fill(runtime, 2)
    with runtime.db.session() as s:
        row = s.execute(sa.text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
    assert row["hash"] == audit.record_hash(dict(row), runtime.gateway.audit_key)
    assert row["hash"] != audit.record_hash(dict(row), None)  # not a plain SHA-256 anyone can recompute


def test_the_purge_switch_no_longer_opens_the_log(runtime: Runtime) -> None:
    """The attack of issue 13: SET LOCAL rathaus.audit_purge = 'on', then delete the newest rows."""
    fill(runtime, 3)
    with pytest.raises(DBAPIError, match="append-only"), runtime.db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL rathaus.audit_purge = 'on'")
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 3")
    assert verify(runtime).ok


def test_the_database_refuses_to_purge_records_younger_than_six_months(runtime: Runtime) -> None:
    fill(runtime, 3)
    with pytest.raises(DBAPIError, match="younger than 183 days"), runtime.db.engine.begin() as conn:
        conn.exec_driver_sql("SELECT audit_purge(2)")
    with pytest.raises(DBAPIError, match="younger than 183 days"), runtime.db.session() as s:
        audit.purge(s, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), runtime.gateway.audit)
    result = verify(runtime)
    assert result.ok and result.checked == 3


def test_deleted_newest_rows_with_the_head_moved_back_are_detected(runtime: Runtime) -> None:
    fill(runtime, 5)
    assert isinstance(checkpoint(runtime), audit.Checkpoint)
    tamper(runtime, "DELETE FROM audit_log WHERE seq >= 4")
    with runtime.db.session() as s:
        h3 = s.scalar(sa.text("SELECT hash FROM audit_log WHERE seq = 3"))
    tamper(runtime, f"UPDATE audit_head SET seq = 3, hash = '{h3}'")
    result = verify(runtime)
    assert not result.ok
    assert any("records 4..5 are missing at the end" in p and "checkpoint" in p for p in result.problems)


def test_head_deleted_and_refilled_by_new_records_is_detected(runtime: Runtime) -> None:
    fill(runtime, 5)
    checkpoint(runtime)
    tamper(runtime, "DELETE FROM audit_log WHERE seq >= 4")
    with runtime.db.session() as s:
        h3 = s.scalar(sa.text("SELECT hash FROM audit_log WHERE seq = 3"))
    tamper(runtime, f"UPDATE audit_head SET seq = 3, hash = '{h3}'")
    fill(runtime, 3)  # the application writes on: records 4..6 with valid keyed hashes
    result = verify(runtime)
    assert any("record 5 differs from the signed checkpoint" in p for p in result.problems), result.problems


def test_deleted_oldest_rows_with_the_anchor_moved_are_detected(runtime: Runtime) -> None:
    fill(runtime, 5)
    tamper(runtime, "DELETE FROM audit_log WHERE seq <= 2")
    with runtime.db.session() as s:
        h2 = s.scalar(sa.text("SELECT hash FROM audit_head"))  # any value: the attacker sets what they like
    tamper(runtime, f"UPDATE audit_head SET anchor_seq = 2, anchor_hash = '{h2}'")
    result = verify(runtime)
    assert any("records up to 2 are gone at the start" in p for p in result.problems), result.problems


def test_rows_deleted_at_the_start_after_a_real_purge_are_detected(runtime: Runtime,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    backdate(monkeypatch, 400)
    fill(runtime, 4)
    monkeypatch.undo()
    fill(runtime, 2)
    with runtime.db.session() as s:
        assert audit.purge(s, dt.datetime.now(dt.UTC) - dt.timedelta(days=300), runtime.gateway.audit) == 4
    checkpoint(runtime)
    assert verify(runtime).ok
    with runtime.db.session() as s:
        h5 = s.scalar(sa.text("SELECT hash FROM audit_log WHERE seq = 5"))
    tamper(runtime, "DELETE FROM audit_log WHERE seq = 5")
    tamper(runtime, f"UPDATE audit_head SET anchor_seq = 5, anchor_hash = '{h5}'")
    result = verify(runtime)
    assert any("records up to 5 are gone at the start" in p for p in result.problems), result.problems


def test_a_recomputed_chain_is_detected_with_the_default_key(runtime: Runtime) -> None:
    fill(runtime, 4)
    checkpoint(runtime)
    with runtime.db.session() as s:
        rows = [dict(r._mapping) for r in s.execute(sa.text("SELECT * FROM audit_log ORDER BY seq"))]
    rows[1]["department"] = "SOZ"
    prev = rows[0]["hash"]
    for row in rows[1:]:  # the attacker recomputes with plain SHA-256: the key is not in the database
        row["prev_hash"] = prev
        row["hash"] = audit.record_hash(row, key=None)
        prev = row["hash"]
        tamper(runtime, f"UPDATE audit_log SET department = '{row['department']}', prev_hash = '{row['prev_hash']}', "
                        f"hash = '{row['hash']}' WHERE seq = {row['seq']}")
    tamper(runtime, f"UPDATE audit_head SET hash = '{prev}'")
    problems = verify(runtime).problems
    assert any("record 2 was altered" in p for p in problems)
    assert any("record 4 differs from the signed checkpoint" in p for p in problems)


def test_a_row_inserted_at_the_head_is_detected(runtime: Runtime) -> None:
    fill(runtime, 3)
    with runtime.db.session() as s:
        row = dict(s.execute(sa.text("SELECT * FROM audit_log WHERE seq = 3")).mappings().one())
    row.update(seq=4, prev_hash=row["hash"], actor="intruder")
    row["hash"] = audit.record_hash(row, key=None)
    tamper(runtime, f"INSERT INTO audit_log (seq, ts, actor, department, use_case, action, sources, safeguards, "
                    f"details, prev_hash, hash) SELECT 4, ts, 'intruder', department, use_case, action, sources, "
                    f"safeguards, details, '{row['prev_hash']}', '{row['hash']}' FROM audit_log WHERE seq = 3")
    tamper(runtime, f"UPDATE audit_head SET seq = 4, hash = '{row['hash']}'")
    assert any("record 4 was altered" in p for p in verify(runtime).problems)


def test_a_forged_checkpoint_line_is_reported(runtime: Runtime) -> None:
    fill(runtime, 2)
    checkpoint(runtime)
    path = runtime.gateway.audit.checkpoints
    forged = {"kind": "purge", "seq": 2, "hash": "0" * 64, "ts": "2026-01-01T00:00:00+00:00", "sig": "ab" * 32}
    with path.open("a") as f:
        f.write(json.dumps(forged) + "\n")
    assert any("line 2 has an invalid signature" in p for p in verify(runtime).problems)


def test_no_checkpoint_is_signed_over_a_broken_chain(runtime: Runtime) -> None:
    fill(runtime, 3)
    assert isinstance(checkpoint(runtime), audit.Checkpoint)
    assert checkpoint(runtime) is None  # the head has not moved
    fill(runtime, 2)
    tamper(runtime, "UPDATE audit_log SET actor = 'x' WHERE seq = 5")
    outcome = checkpoint(runtime)
    assert isinstance(outcome, audit.VerifyResult)
    assert any("record 5 was altered" in p for p in outcome.problems)
    lines = runtime.gateway.audit.checkpoints.read_text().splitlines()
    assert len(lines) == 1  # nothing signed over the tampered record


def test_the_background_job_signs_checkpoints(runtime: Runtime) -> None:
    from rathaus.maintenance import checkpoint_audit

    fill(runtime, 2)
    assert checkpoint_audit(runtime) == "signed 2"
    assert checkpoint_audit(runtime) is None
    fill(runtime, 1)
    assert checkpoint_audit(runtime) == "signed 3"
