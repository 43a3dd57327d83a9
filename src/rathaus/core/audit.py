"""Append-only, hash-chained audit log (EU AI Act Art. 12 record keeping).

Each record's hash covers its fields and the previous record's hash: HMAC-SHA-256 with the audit key (setting
``RATHAUS_AUDIT_HMAC_KEY`` or a key file outside the database, created with a new embedded data directory), so
rewriting the chain needs the key; plain SHA-256 only where no key exists. ``audit_head`` holds the chain's end
and the anchor left by retention purges. A trigger refuses UPDATE, TRUNCATE and DELETE on ``audit_log``; only the
database function ``audit_purge`` (owned by the role ``rathaus_audit_purger``) deletes, and never records younger
than six months.

Whoever controls the database can still switch the trigger off and move ``audit_head``. Against that, signed
**checkpoints** of the chain's head (written every ``audit_checkpoint_seconds`` by the background job) and of every
purge ("purged up to n") are appended to a file outside the database. ``verify`` checks the chain between them,
that every checkpointed record still carries its checkpointed hash, that the head has not moved back behind the
newest checkpoint, and that the chain's start matches a signed purge: rows removed at either end are found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.db import AUDIT_KEY_FILE
from rathaus.core.errors import ConfigError
from rathaus.core.files import append_line, make_dirs
from rathaus.core.keyfiles import read_key_file
from rathaus.core.metering import without_nul
from rathaus.core.schema import AuditHead, AuditRecord
from rathaus.core.settings import Settings

log = logging.getLogger(__name__)

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


KEY_FILE = AUDIT_KEY_FILE


def key_file(settings: Settings) -> Path | None:
    """Where the audit key is kept: the configured file, or data_dir/secrets/audit-key in the embedded default."""
    if settings.audit_key_file is not None:
        return settings.audit_key_file
    return settings.data_dir / KEY_FILE if settings.embedded_database else None


def hmac_key(settings: Settings) -> bytes | None:
    """The chain key: RATHAUS_AUDIT_HMAC_KEY, else the key file (which must exist when configured explicitly);
    None for plain SHA-256 (a data directory created before keyed chains, or an external database without a key)."""
    if settings.audit_hmac_key is not None:
        return settings.audit_hmac_key.get_secret_value().encode("utf-8")
    path = key_file(settings)
    if path is None:
        return None
    if settings.audit_key_file is None and not path.exists():
        return None
    return read_key_file(path)


def checkpoint_file(settings: Settings) -> Path:
    """The append-only file of signed checkpoints (one per database in the embedded default)."""
    if settings.audit_checkpoint_file is not None:
        return settings.audit_checkpoint_file
    return settings.data_dir / "audit" / f"{settings.database_name}.checkpoints.jsonl"


@dataclass(frozen=True)
class AuditConfig:
    """What verifying and checkpointing need: the key and where the checkpoints are kept."""

    key: bytes | None
    checkpoints: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditConfig:
        return cls(key=hmac_key(settings), checkpoints=checkpoint_file(settings))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def content_hash(value: Any) -> str:
    """SHA-256 of text or of canonical JSON; used so the log holds no raw prompts by default."""
    data = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def record_hash(values: dict[str, Any], key: bytes | None) -> str:
    payload: dict[str, Any] = {name: values.get(name) for name in FIELDS}
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
_INSERT = sa.insert(cast(sa.Table, AuditRecord.__table__))
_MOVE_HEAD = sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")


def append(session: Session, entry: AuditEntry, key: bytes | None) -> int:
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
        "ts": _now(),
        "prev_hash": row.hash,
    }
    values["hash"] = record_hash(values, key)
    conn.execute(_INSERT, values)
    conn.execute(_MOVE_HEAD, {"seq": values["seq"], "hash": values["hash"]})
    return int(values["seq"])


# --- signed checkpoints, kept outside the database ------------------------------------------------------------

CHECKPOINT_CONTEXT = b"rathaus audit checkpoint v1\n"
HEAD, PURGE = "head", "purge"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement about the chain: ``head`` – record ``seq`` was the newest and had ``hash``;
    ``purge`` – records up to ``seq`` were purged and the chain now starts after ``hash``."""

    kind: str
    seq: int
    hash: str
    ts: str
    sig: str = ""
    line: int = 0  # line number in the file (not signed)

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "hash": self.hash, "ts": self.ts}


def _signature(key: bytes, fields: dict[str, Any]) -> str:
    data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, CHECKPOINT_CONTEXT + data, hashlib.sha256).hexdigest()


def write_checkpoint(path: Path, key: bytes, kind: str, seq: int, hash_: str) -> Checkpoint:
    """Append one signed checkpoint (one ``write`` of one line, O_APPEND, fsync) and log it for log shipping."""
    fields: dict[str, Any] = {"kind": kind, "seq": seq, "hash": hash_, "ts": _ts(_now())}
    cp = Checkpoint(**fields, sig=_signature(key, fields))
    line = json.dumps({**fields, "sig": cp.sig}, sort_keys=True, separators=(",", ":")) + "\n"
    make_dirs(path.parent, mode=0o700)
    append_line(path, line)  # whole or not at all: a full disk leaves no half line
    log.info("audit checkpoint %s", line.strip())
    return cp


def read_checkpoints(path: Path, key: bytes | None) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and one problem per line that is unreadable or forged."""
    if not path.exists():
        return [], []
    good: list[Checkpoint] = []
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
                cp = Checkpoint(kind=str(raw["kind"]), seq=int(raw["seq"]), hash=str(raw["hash"]), ts=str(raw["ts"]),
                                sig=str(raw["sig"]), line=number)
            except (ValueError, KeyError, TypeError):
                problems.append(f"checkpoint file {path.name} line {number} is not a checkpoint")
                continue
            if key is None:
                continue  # nothing can be checked without the key; verify warns about that
            if cp.kind not in (HEAD, PURGE) or not hmac.compare_digest(cp.sig, _signature(key, cp.fields())):
                problems.append(f"checkpoint file {path.name} line {number} has an invalid signature "
                                "(forged, or signed with another key)")
                continue
            good.append(cp)
    return good, problems


def _last_head_checkpoint(path: Path, key: bytes) -> Checkpoint | None:
    """The newest valid head checkpoint, read from the file's last 64 kB (the file grows by one line a minute)."""
    if not path.exists():
        return None
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 65_536))
        tail = f.read().decode("utf-8", errors="replace").splitlines()
    for text in reversed(tail):
        try:
            raw = json.loads(text)
            cp = Checkpoint(kind=raw["kind"], seq=int(raw["seq"]), hash=raw["hash"], ts=raw["ts"], sig=raw["sig"])
        except (ValueError, KeyError, TypeError):
            continue
        if cp.kind == HEAD and hmac.compare_digest(cp.sig, _signature(key, cp.fields())):
            return cp
    return None


# --- verification ------------------------------------------------------------------------------------------------

@dataclass
class VerifyResult:
    checked: int
    problems: list[str]
    first_seq: int
    last_seq: int
    warnings: list[str] = field(default_factory=list)
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, key: bytes | None = None, checkpoints: Sequence[Checkpoint] = (), *,
           after: int | None = None) -> VerifyResult:
    """Walk the chain from its anchor (or from record ``after``) to its head and report every break, including
    records that no longer match a signed checkpoint and ends that moved against the checkpoints."""
    head = _head(session, lock=False)
    problems: list[str] = []
    warnings: list[str] = []
    at_seq: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        if cp.kind == HEAD:
            at_seq.setdefault(cp.seq, []).append(cp)
    purges = [cp for cp in checkpoints if cp.kind == PURGE]

    start_seq, start_hash = head.anchor_seq, head.anchor_hash
    if after is None:
        _check_anchor(head, purges, key, problems, warnings)
    else:
        start_seq = after
        start_hash = session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == after)) or ""
    expected_seq, expected_prev = start_seq + 1, start_hash
    checked = 0
    last_seq = start_seq
    stmt = sa.select(AuditRecord).where(AuditRecord.seq > (0 if after is None else after)).order_by(AuditRecord.seq)
    for (row,) in session.execute(stmt.execution_options(yield_per=1000)):
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
        for cp in at_seq.get(row.seq, ()):
            if cp.hash != row.hash:
                problems.append(f"record {row.seq} differs from the signed checkpoint of {cp.ts} (chain rewritten)")
        expected_seq, expected_prev = row.seq + 1, row.hash
        last_seq = row.seq
        checked += 1
    if last_seq < head.seq:
        problems.append(f"records {last_seq + 1}..{head.seq} are missing at the end (deleted)")
    elif last_seq > head.seq:
        problems.append(f"records {head.seq + 1}..{last_seq} were inserted outside the log writer")
    elif checked and expected_prev != head.hash:
        problems.append(f"record {last_seq} does not match the recorded chain head")
    newest = max(at_seq, default=0)
    if newest > last_seq:
        cp = at_seq[newest][-1]
        problems.append(f"records {last_seq + 1}..{newest} are missing at the end: the signed checkpoint of {cp.ts} "
                        f"saw record {newest} (deleted, and the chain head moved back)")
    if key is None:
        warnings.append("the chain is not keyed: whoever can write to the database can recompute it; set "
                        "RATHAUS_AUDIT_HMAC_KEY or RATHAUS_AUDIT_KEY_FILE (docs/operations.md)")
    elif after is None and not at_seq and head.seq > head.anchor_seq:
        warnings.append("no signed checkpoint of the chain's head yet: records deleted at the end would not be seen; "
                        "run `rathaus audit checkpoint` or keep `rathaus serve` running")
    return VerifyResult(checked=checked, problems=problems, first_seq=start_seq + 1, last_seq=last_seq,
                        warnings=warnings, checkpoints=len(checkpoints))


def _check_anchor(head: AuditHead, purges: list[Checkpoint], key: bytes | None, problems: list[str],
                  warnings: list[str]) -> None:
    """The chain must start at the genesis or where a signed purge said it would."""
    if head.anchor_seq == 0:
        if head.anchor_hash != GENESIS:
            problems.append("the chain's start was changed (anchor hash is not the genesis hash)")
        return
    if key is None:
        warnings.append(f"the chain starts after record {head.anchor_seq} (retention purge); without a key this "
                        "cannot be checked against a signed purge checkpoint")
        return
    if not any(cp.seq == head.anchor_seq and cp.hash == head.anchor_hash for cp in purges):
        problems.append(f"records up to {head.anchor_seq} are gone at the start, but no signed purge checkpoint "
                        "says so (deleted outside the retention purge)")


def verify_all(session: Session, config: AuditConfig) -> VerifyResult:
    """Verify the chain against every checkpoint in the configured file; bad checkpoint lines are problems too."""
    checkpoints, bad = read_checkpoints(config.checkpoints, config.key)
    result = verify(session, config.key, checkpoints)
    result.problems[:0] = bad
    return result


def checkpoint(session: Session, config: AuditConfig) -> Checkpoint | VerifyResult | None:
    """Sign the current head if it moved since the newest checkpoint and the records in between are intact.

    Returns the new checkpoint, None when nothing moved, or the failed VerifyResult (nothing is signed over a
    broken chain, so tampering cannot be made to look legitimate). Raises ConfigError without a key.
    """
    if config.key is None:
        raise ConfigError("the audit log has no key, so checkpoints cannot be signed: set RATHAUS_AUDIT_HMAC_KEY or "
                          "RATHAUS_AUDIT_KEY_FILE")
    head = _head(session, lock=False)
    last = _last_head_checkpoint(config.checkpoints, config.key)
    if last is not None and last.seq == head.seq and last.hash == head.hash:
        return None
    if last is not None and last.seq <= head.seq and last.seq > head.anchor_seq:
        result = verify(session, config.key, [last], after=last.seq)
        stored = session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == last.seq))
        if stored != last.hash:
            result.problems.insert(0, f"record {last.seq} differs from the signed checkpoint of {last.ts}")
    else:  # no usable checkpoint to continue from: check everything
        result = verify_all(session, config)
    if not result.ok:
        log.error("audit log tampered, no checkpoint signed: %s", "; ".join(result.problems[:5]))
        return result
    return write_checkpoint(config.checkpoints, config.key, HEAD, head.seq, head.hash)


# --- retention ---------------------------------------------------------------------------------------------------

def purge(session: Session, older_than: dt.datetime, config: AuditConfig) -> int:
    """Retention: delete records before ``older_than`` (never younger than six months: the database refuses) through
    the ``audit_purge`` function, and sign a "purged up to n" checkpoint. Returns the number of deleted records."""
    _head(session, lock=True)
    cutoff_seq = session.scalar(sa.select(sa.func.max(AuditRecord.seq)).where(AuditRecord.ts < older_than))
    if not cutoff_seq:
        return 0
    anchor_hash = session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == cutoff_seq))
    deleted = session.execute(sa.text("SELECT audit_purge(:seq)"), {"seq": cutoff_seq}).scalar_one()
    session.expire_all()
    if config.key is not None and anchor_hash:
        write_checkpoint(config.checkpoints, config.key, PURGE, cutoff_seq, anchor_hash)
    return int(deleted)

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
