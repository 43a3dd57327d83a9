"""The oversight dashboard's figures: audit-chain integrity, retention status, open Annex III confirmations.

Annex III: a custom assistant published in a high-risk area leaves an ``assistant.publish`` audit record whose
safeguards carry the screening; it stays "open" (listed for the oversight body) until an ``assistant.unpublish``
record for the same assistant follows. Read from the core audit log – no import of the assistants capability.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core import audit
from rathaus.core.schema import AuditRecord, UsageEvent
from rathaus.core.settings import Settings
from rathaus.governance.reports.staff import retention_settings


def audit_integrity(session: Session, settings: Settings) -> dict[str, Any]:
    result = audit.verify_all(session, audit.AuditConfig.from_settings(settings))
    return {"ok": result.ok, "checked": result.checked, "first_seq": result.first_seq, "last_seq": result.last_seq,
            "problems": result.problems[:20], "warnings": result.warnings[:20], "checkpoints": result.checkpoints}


def retention_status(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Each retention setting, and for the audit log whether its oldest record is within the period."""
    now = dt.datetime.now(dt.UTC)
    oldest_audit = session.scalar(sa.select(sa.func.min(AuditRecord.ts)))
    oldest_usage = session.scalar(sa.select(sa.func.min(UsageEvent.ts)))
    rows = []
    for name, value in retention_settings(settings).items():
        row: dict[str, Any] = {"setting": name, "value": value, "oldest": None, "ok": None}
        if name == "audit_retention_days":
            row["oldest"] = oldest_audit.isoformat() if oldest_audit else None
            row["ok"] = oldest_audit is None or (now - oldest_audit).days <= value + 1
        rows.append(row)
    rows.append({"setting": "usage_events (keine Frist / no limit)", "value": None,
                 "oldest": oldest_usage.isoformat() if oldest_usage else None, "ok": None})
    return rows


def open_annex_iii(session: Session) -> list[dict[str, Any]]:
    records = session.execute(
        sa.select(AuditRecord.seq, AuditRecord.ts, AuditRecord.action, AuditRecord.department,
                  AuditRecord.safeguards, AuditRecord.details)
        .where(AuditRecord.action.in_(("assistant.publish", "assistant.unpublish")))
        .order_by(AuditRecord.seq)).all()
    current: dict[str, dict[str, Any]] = {}
    for seq, ts, action, department, safeguards, details in records:
        assistant_id = str((details or {}).get("assistant_id", ""))
        screening = (safeguards or {}).get("ai_act_screening") or {}
        if action == "assistant.unpublish" or not screening.get("high_risk"):
            current.pop(assistant_id, None)
            continue
        current[assistant_id] = {
            "assistant_id": assistant_id, "published": ts.isoformat(), "department": department, "seq": seq,
            "areas": [a.get("label") or a.get("area") for a in screening.get("areas", []) if isinstance(a, dict)],
            "confirmed": bool((safeguards or {}).get("confirmed")),
        }
    return sorted(current.values(), key=lambda r: r["published"], reverse=True)
