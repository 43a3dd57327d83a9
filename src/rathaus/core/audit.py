"""Append-only, hash-chained audit log (EU AI Act Art. 12 record keeping).

Each record's hash covers its fields and the previous record's hash (HMAC-SHA-256 with
``RATHAUS_AUDIT_HMAC_KEY`` when set, so that rewriting the chain needs the key). ``audit_head`` holds the
chain's end; a trigger refuses UPDATE, TRUNCATE and DELETE on ``audit_log`` except inside the retention
purge, which moves the chain's anchor forward. ``verify`` finds edited, deleted and inserted rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.metering import without_nul
from rathaus.core.schema import AuditHead, AuditRecord
from rathaus.core.settings import Settings

GENESIS = hashlib.sha256(b"rathaus audit log genesis").hexdigest()
FIELDS = (
    "seq", "ts", "actor", "department", "use_case", "action", "model", "model_version", "data_class",
    "input_hash", "output_hash", "sources", "safeguards", "energy_wh", "details", "prev_hash",
)


@dataclass
class AuditEntry:
    actor: str
    department: str
    use_case: str
    action: str
    model: str | None = None
    model_version: str | None = None
    data_class: str | None = None
    input_hash: str | None = None
    output_hash: str | None = None
    sources: list[Any] = field(default_factory=list)
    safeguards: dict[str, Any] = field(default_factory=dict)
    energy_wh: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def hmac_key(settings: Settings) -> bytes | None:
    """The chain key from the settings (RATHAUS_AUDIT_HMAC_KEY), or None for plain SHA-256."""
    key = settings.audit_hmac_key
    return key.get_secret_value().encode("utf-8") if key else None


def content_hash(value: Any) -> str:
    """SHA-256 of text or of canonical JSON; used so the log holds no raw prompts by default."""
    data = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def record_hash(values: dict[str, Any], key: bytes | None) -> str:
    payload = {name: values.get(name) for name in FIELDS}
    payload["ts"] = _ts(payload["ts"])
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _head(session: Session, lock: bool) -> AuditHead:
    stmt = sa.select(AuditHead).where(AuditHead.id == 1)
    if lock:
        stmt = stmt.with_for_update()
    head = session.scalars(stmt).one_or_none()
    if head is None:
        _create_head(session)
        head = session.scalars(stmt).one()
    return head


def _create_head(session: Session) -> None:
    session.execute(
        sa.dialects.postgresql.insert(AuditHead)
        .values(id=1, seq=0, hash=GENESIS, anchor_seq=0, anchor_hash=GENESIS)
        .on_conflict_do_nothing()
    )


_LOCK_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_INSERT = sa.insert(AuditRecord.__table__)
_MOVE_HEAD = sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")


def append(session: Session, entry: AuditEntry, key: bytes | None = None) -> int:
    """Append one record inside the caller's transaction; returns its sequence number.

    The head row's lock serialises writers; it is held until the caller's transaction ends, so the
    chain has no gaps and no forks even with many API processes.
    """
    conn = session.connection()  # Core statements built once: this runs on every model call
    row = conn.execute(_LOCK_HEAD).first()
    if row is None:
        _create_head(session)
        row = conn.execute(_LOCK_HEAD).one()
    values: dict[str, Any] = {
        **{k: without_nul(v) for k, v in entry.__dict__.items()},
        "seq": row.seq + 1,
        "ts": dt.datetime.now(dt.UTC),
        "prev_hash": row.hash,
    }
    values["hash"] = record_hash(values, key)
    conn.execute(_INSERT, values)
    conn.execute(_MOVE_HEAD, {"seq": values["seq"], "hash": values["hash"]})
    return values["seq"]


@dataclass
class VerifyResult:
    checked: int
    problems: list[str]
    first_seq: int
    last_seq: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, key: bytes | None = None) -> VerifyResult:
    """Walk the chain from its anchor to its head and report every break."""
    head = _head(session, lock=False)
    expected_seq, expected_prev = head.anchor_seq + 1, head.anchor_hash
    problems: list[str] = []
    checked = 0
    last_seq = head.anchor_seq
    rows = session.execute(sa.select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000))
    for (row,) in rows:
        values = {name: getattr(row, name) for name in (*FIELDS, "hash")}
        if row.seq <= head.anchor_seq:
            problems.append(f"record {row.seq} lies before the retention anchor {head.anchor_seq}")
            continue
        if row.seq != expected_seq:
            problems.append(f"records {expected_seq}..{row.seq - 1} are missing (deleted)")
        elif row.prev_hash != expected_prev:
            problems.append(f"record {row.seq} does not link to its predecessor (chain rewritten)")
        if record_hash(values, key) != row.hash:
            problems.append(f"record {row.seq} was altered: its content does not match its hash")
        expected_seq, expected_prev = row.seq + 1, row.hash
        last_seq = row.seq
        checked += 1
    if last_seq < head.seq:
        problems.append(f"records {last_seq + 1}..{head.seq} are missing at the end (deleted)")
    elif last_seq > head.seq:
        problems.append(f"records {head.seq + 1}..{last_seq} were inserted outside the log writer")
    elif checked and expected_prev != head.hash:
        problems.append(f"record {last_seq} does not match the recorded chain head")
    return VerifyResult(checked=checked, problems=problems, first_seq=head.anchor_seq + 1, last_seq=last_seq)


def purge(session: Session, older_than: dt.datetime) -> int:
    """Retention: delete the oldest records before ``older_than`` and move the chain's anchor."""
    head = _head(session, lock=True)
    cutoff_seq = session.scalar(sa.select(sa.func.max(AuditRecord.seq)).where(AuditRecord.ts < older_than))
    if not cutoff_seq:
        return 0
    anchor_hash = session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == cutoff_seq))
    session.execute(sa.text("SET LOCAL rathaus.audit_purge = 'on'"))
    deleted = session.execute(sa.delete(AuditRecord).where(AuditRecord.seq <= cutoff_seq)).rowcount
    session.execute(sa.text("SET LOCAL rathaus.audit_purge = 'off'"))
    head.anchor_seq, head.anchor_hash = cutoff_seq, anchor_hash or head.anchor_hash
    session.flush()
    return deleted


def export(session: Session, start: dt.datetime, end: dt.datetime) -> Iterator[dict[str, Any]]:
    """Records with start <= ts < end, as JSON-ready dicts including their hashes."""
    stmt = (
        sa.select(AuditRecord)
        .where(AuditRecord.ts >= start, AuditRecord.ts < end)
        .order_by(AuditRecord.seq)
        .execution_options(yield_per=1000)
    )
    for (row,) in session.execute(stmt):
        item = {name: getattr(row, name) for name in (*FIELDS, "hash")}
        item["ts"] = _ts(item["ts"])
        yield item
