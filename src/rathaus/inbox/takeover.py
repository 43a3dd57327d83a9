"""Data takeover into the specialist procedure (Datenübernahme ins Fachverfahren).

Nothing is written to another system without a person's permission: a case worker of the message's department
with the role ``inbox-triage`` (or an administrator) reviews the extracted fields, corrects them if needed and
asks for the export (:func:`request_export`). That request fixes what is sent – the reviewed extraction, as JSON
valid against the published schema – and a delivery id, and queues the job ``inbox.export`` in the same
transaction. The job (:func:`deliver`) POSTs the body to the department's configured target
(``RATHAUS_INBOX_EXPORT_TARGETS``) through the platform's outbound policy, signed like Standard Webhooks
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of
``id.timestamp.body``, made by the ``standardwebhooks`` library). The delivery id stays the same on every retry,
so the receiver can de-duplicate; a network error, a time-out, 5xx, 408 or 429 is tried again with the job
queue's backoff, anything else (3xx, 4xx, a refused address) stops with the error stored and shown.

A target declares the data classes it may receive; a body holding a class it did not declare is not sent (the
default, none declared, sends nothing). Every step is audited with the field names, never their values.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from rathaus.core import audit
from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Conflict
from rathaus.core.jobs import Transient
from rathaus.inbox import access
from rathaus.inbox.extraction import DATA_CLASSES, FIELD_KINDS, validate_extraction
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.schema import InboxCorrection, InboxMessage
from rathaus.inbox.settings import ExportTarget, InboxSettings
from rathaus.inbox.store import export_dict

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

__all__ = ["EXPORT_JOB", "EXPORT_ROLES", "InvalidCorrection", "apply_corrections", "deliver", "export_state",
           "request_export", "signed_headers"]

EXPORT_JOB = "inbox.export"
EXPORT_ROLES = (access.TRIAGE_ROLE, ADMIN_ROLE)
EVENT_TYPE = "inbox.takeover"
RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx
ENVELOPE_CLASS = DataClass.INTERN  # message id, department, category, when: internal administrative data
MAX_VALUE_CHARS = 500


class InvalidCorrection(BadRequest):
    status, code, title = 422, "invalid-correction", "Corrected value does not fit the schema"


# --- corrections -----------------------------------------------------------------------------------------------

def _corrected_field(kind: str, value: str) -> dict[str, Any]:
    """A value the case worker entered, as a field of the schema (source ``correction``, confidence 1)."""
    extra: dict[str, Any] = {}
    if kind == "iban":
        from stdnum import iban

        value = value.replace(" ", "").upper()
        extra["valid"] = bool(iban.is_valid(value))
    elif kind in ("sender_email", "email"):
        value = value.lower()
    elif kind == "amount":
        value = value.replace(".", "").replace(",", ".") if "," in value else value
        extra["currency"] = "EUR"
    elif kind == "case_number":
        extra["label"] = "Korrektur"
    elif kind == "address":
        extra["parts"] = {}
    elif kind == "application_type":
        extra["mentions"] = 1
    return {"value": value, "text": value, "source": "correction", "start": None, "end": None, "confidence": 1.0,
            "method": "correction", "data_class": DATA_CLASSES[kind].value, **extra}


def apply_corrections(extraction: Mapping[str, Any], corrections: Mapping[str, Sequence[str]]) -> tuple[
        dict[str, Any], dict[str, tuple[list[str], list[str]]]]:
    """The extraction with each corrected field kind's values replaced by the case worker's list (an empty list
    removes the kind's values; a value already found keeps its source span); checked against the schema.
    Also returns kind → (old values, new values) of the kinds that changed. Raises :class:`InvalidCorrection`."""
    document = copy.deepcopy(dict(extraction))
    fields: dict[str, list[dict[str, Any]]] = document.setdefault("fields", {})
    changed: dict[str, tuple[list[str], list[str]]] = {}
    for kind, values in corrections.items():
        if kind not in FIELD_KINDS:
            raise InvalidCorrection(f"unbekanntes Feld / unknown field {kind!r}; one of {', '.join(FIELD_KINDS)}")
        cleaned = [" ".join(str(v).split()) for v in values]
        if any(not v or len(v) > MAX_VALUE_CHARS for v in cleaned):
            raise InvalidCorrection(f"{kind}: leerer oder zu langer Wert / empty value or longer than "
                                    f"{MAX_VALUE_CHARS} characters")
        old = fields.get(kind, [])
        found = {f.get("value"): f for f in old}
        new = [found.get(v) or _corrected_field(kind, v) for v in dict.fromkeys(cleaned)]
        old_values, new_values = [str(f.get("value")) for f in old], [str(f["value"]) for f in new]
        if old_values != new_values:
            changed[kind] = (old_values, new_values)
        fields[kind] = new
    try:
        validate_extraction(document)
    except ValueError as exc:
        raise InvalidCorrection(f"Korrektur passt nicht zum Schema / correction does not fit the schema: {exc}") \
            from None
    return document, changed


# --- the request ---------------------------------------------------------------------------------------------

def _target(runtime: Runtime, department: str) -> ExportTarget:
    target = runtime.settings.section(InboxSettings).inbox_export_targets.get(department)
    if target is None:
        raise Conflict(f"Für {department} ist kein Fachverfahren eingerichtet / no specialist procedure configured "
                       f"for department {department!r} (RATHAUS_INBOX_EXPORT_TARGETS)")
    return target


def _required_classes(fields: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[DataClass, list[str]]:
    """Data class → field kinds of that class in the body (the envelope counts as ``intern``)."""
    needed: dict[DataClass, list[str]] = {ENVELOPE_CLASS: []}
    for kind, items in fields.items():
        for item in items:
            kinds = needed.setdefault(DataClass(item.get("data_class") or DATA_CLASSES[kind].value), [])
            if kind not in kinds:
                kinds.append(kind)
    return needed


def check_data_classes(department: str, target: ExportTarget, fields: Mapping[str, Any]) -> None:
    """Conflict naming the classes and fields the target did not declare (declared none: nothing may go)."""
    allowed = set(target.data_classes)
    missing = {c: kinds for c, kinds in _required_classes(fields).items() if c not in allowed}
    if missing:
        what = "; ".join(f"{c.value}" + (f" ({', '.join(kinds)})" if kinds else " (Vorgangsdaten / envelope)")
                         for c, kinds in sorted(missing.items()))
        declared = ", ".join(c.value for c in target.data_classes) or "keine / none"
        raise Conflict(f"Das Fachverfahren von {department} darf diese Daten nicht empfangen / the specialist "
                       f"procedure of {department!r} may not receive: {what}; declared: {declared} "
                       f"(RATHAUS_INBOX_EXPORT_TARGETS.{department}.data_classes)")


def _secret(target: ExportTarget) -> str:
    secret = os.environ.get(target.secret_env)
    if not secret:
        raise Conflict(f"the signing secret of the specialist procedure is missing: set the environment variable "
                       f"{target.secret_env}")
    return secret


def request_export(runtime: Runtime, principal: Principal, message_id: int, *,
                   corrections: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """A person allows the export of the message's (corrected) data to their department's procedure; queued."""
    principal.require_role(*EXPORT_ROLES)
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id, with_for_update=True),
                                   message_id)
        if not m.department:
            raise Conflict(f"message {message_id} is not routed to a department yet; route it first")
        if m.status == "spam":
            raise Conflict(f"message {message_id} is marked as spam; its data is not taken over")
        if m.extraction is None:
            raise Conflict(f"message {message_id} has no extracted data yet (it is still being processed)")
        if m.export_status in ("queued", "retrying"):
            raise Conflict(f"die Übernahme läuft bereits / the export of message {message_id} is already under "
                           f"way (delivery {m.export_delivery_id})")
        target = _target(runtime, m.department)
        document, changed = apply_corrections(m.extraction, corrections or {})
        check_data_classes(m.department, target, document["fields"])
        _secret(target)
        delivery_id = f"msg_{uuid.uuid4().hex}"
        now = dt.datetime.now(dt.UTC)
        for kind, (old, new) in changed.items():
            session.add(InboxCorrection(message_id=m.id, field=f"takeover:{kind}", old=json.dumps(old),
                                        new=json.dumps(new), by=principal.id))
        m.extraction = document
        m.export_payload = {"type": EVENT_TYPE, "timestamp": now.isoformat(), "data": {
            "message_id": m.id, "department": m.department, "category": m.category,
            "received_at": m.received_at.isoformat() if m.received_at else None, "approved_by": principal.id,
            "extraction": document}}
        m.export_status, m.export_delivery_id, m.export_target = "queued", delivery_id, target.url
        m.export_requested_by, m.export_requested_at = principal.id, now
        m.export_attempts, m.export_error, m.exported_at = 0, None, None
        _audit(runtime, session, principal.id, principal.department, "inbox.takeover_requested", m,
               corrected=sorted(changed))
        runtime.jobs.defer(EXPORT_JOB, session=session, requested_by=principal, message_id=m.id,
                           delivery_id=delivery_id)
        session.flush()
        return export_state(m)


def export_state(m: InboxMessage) -> dict[str, Any]:
    return {"message_id": m.id, **export_dict(m)}


def _audit(runtime: Runtime, session: Any, actor: str, department: str, action: str, m: InboxMessage,
           **details: Any) -> None:
    """Who exported what to where: the field names (never their values), the target, the delivery id."""
    fields = ((m.export_payload or {}).get("data", {}).get("extraction", {}).get("fields", {}))
    audit.append(session, audit.AuditEntry(
        actor=actor, department=department, use_case=USE_CASE, action=action, data_class=m.data_class,
        details={"message_id": m.id, "delivery_id": m.export_delivery_id, "target": m.export_target,
                 "fields": sorted(k for k, items in fields.items() if items), **details}),
        key=runtime.gateway.audit_key)


# --- the delivery (job inbox.export) ---------------------------------------------------------------------------

def signed_headers(secret: str, delivery_id: str, body: bytes, when: dt.datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for ``body``: webhook-id, webhook-timestamp, webhook-signature (v1, HMAC-SHA256
    of ``id.timestamp.body`` with the secret ``whsec_…``)."""
    from standardwebhooks.webhooks import Webhook

    when = when or dt.datetime.now(dt.UTC)
    try:
        signer = Webhook(secret)
    except Exception as exc:  # an empty or non-base64 secret
        raise ValueError(f"not a Standard Webhooks secret ('whsec_' and base64): {type(exc).__name__}") from None
    return {"webhook-id": delivery_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signer.sign(delivery_id, when, body.decode("utf-8")),
            "content-type": "application/json", "user-agent": "rathaus-inbox"}


def _max_attempts(runtime: Runtime) -> int:
    return int(runtime.settings.jobs_retries) + 1


def deliver(runtime: Runtime, message_id: int, delivery_id: str) -> dict[str, Any]:
    """POST the fixed body once more under the same delivery id; the outcome is stored on the message. Raises
    :class:`Transient` (the queue retries with backoff) while a retry can help and attempts are left."""
    from rathaus.core.outbound import OutboundPolicy, OutboundRefused

    with runtime.db.session() as session:
        m = session.get(InboxMessage, message_id, with_for_update=True)
        if m is None or m.export_delivery_id != delivery_id or m.export_status not in ("queued", "retrying"):
            return {"message_id": message_id, "delivery_id": delivery_id, "skipped": "superseded or done"}
        m.export_attempts += 1
        attempt, department, url = m.export_attempts, m.department or "-", m.export_target or ""
        body = json.dumps(m.export_payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    target = runtime.settings.section(InboxSettings).inbox_export_targets.get(department)
    error, retry, status_code = None, False, None
    if target is None or target.url != url:
        error = (f"the specialist procedure of {department!r} was removed or changed since the export was "
                 "requested; export again")
    else:
        try:
            headers = signed_headers(_secret(target), delivery_id, body)
        except (Conflict, ValueError) as exc:
            error = f"{target.secret_env}: {exc}"
        else:
            try:
                with OutboundPolicy.from_settings(runtime.settings).client(
                        timeout=target.timeout_seconds, follow_redirects=False) as client:
                    response = client.post(url, content=body, headers=headers)
            except OutboundRefused as exc:  # configuration, not an outage: no retry
                error = f"{url} is not allowed: {exc.reason}"
            except httpx.TransportError as exc:
                error, retry = f"{url} not reachable: {type(exc).__name__}: {exc}", True
            else:
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    text = " ".join(response.text.split())[:300] or "no details"
                    error = f"HTTP {status_code} from {url}: {text}"
                    retry = status_code >= 500 or status_code in RETRY_STATUSES
    give_up = retry and attempt >= _max_attempts(runtime)
    with runtime.db.session() as session:
        m = session.get(InboxMessage, message_id, with_for_update=True)
        if m is None or m.export_delivery_id != delivery_id:
            return {"message_id": message_id, "delivery_id": delivery_id, "skipped": "superseded"}
        actor = m.export_requested_by or "system"
        if error is None:
            m.export_status, m.exported_at, m.export_error = "delivered", dt.datetime.now(dt.UTC), None
            _audit(runtime, session, actor, department, "inbox.takeover_delivered", m, status=status_code,
                   attempts=attempt)
        elif retry and not give_up:
            m.export_status, m.export_error = "retrying", error[:1000]
        else:
            m.export_status = "failed"
            m.export_error = (f"nach {attempt} Versuchen aufgegeben / gave up after {attempt} attempts: "
                              if give_up else "") + error[:1000]
            # the receiver's answer may quote the data: the audit keeps its status, only our own errors in words
            _audit(runtime, session, actor, department, "inbox.takeover_failed", m, status=status_code,
                   attempts=attempt, **({} if status_code else {"error": m.export_error[:300]}))
        state = export_state(m)
    if error is not None and retry and not give_up:
        raise Transient(f"export of message {message_id} (delivery {delivery_id}), attempt {attempt}: {error}")
    return state
