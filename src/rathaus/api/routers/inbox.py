"""Input management over HTTP: intake, the case worker's queue, routing by hand, reply drafts with approval and
sending, the data takeover, patterns, and the Zammad webhook. Access: rathaus.inbox.access."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.errors import BadRequest, Unauthenticated
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.inbox import access, drafts, intake, outbox, service, store, takeover
from rathaus.inbox.message import IncomingMessage

router = APIRouter(prefix="/api/v1/inbox", tags=["Inbox"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 413, 422, 503)}
WEBHOOK_MAX_BYTES = 5_000_000


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field("", max_length=intake.MAX_SUBJECT_CHARS)
    body: str = Field("", max_length=intake.MAX_BODY_CHARS)
    sender_name: str | None = Field(None, max_length=300)
    sender_address: EmailStr | None = None
    external_id: str | None = Field(None, min_length=1, max_length=intake.MAX_EXTERNAL_ID_CHARS,
                                    description="your id of this message: sending it again stores nothing new")
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    mailbox: str | None = Field(None, max_length=200)


@router.post("/messages", status_code=201, responses=ERRORS)
def post_message(body: MessageIn, runtime: RuntimeDep, principal: PrincipalDep, response: Response) -> dict[str, Any]:
    """Take in one message (an online form's backend, a specialist procedure). Idempotent on ``external_id``:
    201 when stored, 200 with the same id when it was stored before."""
    access.require_intake(principal)
    external = body.external_id or intake.external_id_for("api", principal.id, body.subject, body.body,
                                                         body.sender_address or "")
    msg = IncomingMessage(channel="api", external_id=external, subject=body.subject, body=body.body,
                          sender_name=body.sender_name, sender_address=body.sender_address,
                          language=body.language, mailbox=body.mailbox)
    stored = intake.store_message(runtime, msg, actor=principal)
    if not stored.created:
        response.status_code = 200
    return stored.as_dict()


@router.get("/messages", responses=ERRORS)
def list_messages(
    runtime: RuntimeDep, principal: PrincipalDep,
    department: Annotated[str | None, Query(max_length=100, description="'-' = triage queue")] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    urgency: Annotated[str | None, Query(max_length=50)] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2}$")] = None,
    older_than_hours: Annotated[float | None, Query(ge=0, le=24 * 3650)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=store.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The queue: messages the caller may see (their department's; triage and admins more), newest first."""
    return store.list_messages(runtime, principal, store.Filters(
        department=department, status=status, category=category, urgency=urgency, language=language,
        older_than_hours=older_than_hours, search=q, limit=limit, offset=offset))


@router.get("/messages/{message_id}", responses=ERRORS)
def get_message(message_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return store.get_message(runtime, principal, message_id)


@router.get("/messages/{message_id}/extraction", responses=ERRORS)
def get_extraction(message_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """The data takeover of one message (JSON Schema: GET /api/v1/inbox/extraction-schema)."""
    return service.extraction_of(runtime, principal, message_id)


@router.get("/extraction-schema", responses=ERRORS)
def extraction_schema() -> dict[str, Any]:
    return service.extraction_schema()


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corrections: dict[str, list[Annotated[str, Field(max_length=takeover.MAX_VALUE_CHARS)]]] = Field(
        default_factory=dict, max_length=20,
        description="field kind → the values to send instead of the extracted ones (e.g. {\"iban\": "
                    "[\"DE89…\"]}); an empty list sends none. Checked against the extraction schema; kept as "
                    "corrections.")


@router.post("/messages/{message_id}/export", status_code=202, responses=ERRORS)
def export_data(message_id: int, runtime: RuntimeDep, principal: PrincipalDep,
                body: ExportIn | None = None) -> dict[str, Any]:
    """Take the reviewed data over into the department's specialist procedure (role inbox-triage): queued, sent
    signed (Standard Webhooks) with a delivery id that stays the same on retries. The state is in
    ``GET …/{id}`` → ``export``."""
    return takeover.request_export(runtime, principal, message_id,
                                   corrections=body.corrections if body else None)


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: str = Field(min_length=1, max_length=100)
    category: str | None = Field(None, max_length=100)
    urgency: str | None = Field(None, max_length=50)


@router.post("/messages/{message_id}/route", responses=ERRORS)
def route(message_id: int, body: RouteIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Route by hand (reassign); differences to the suggestion are kept for the next training."""
    return store.reassign(runtime, principal, message_id, service.taxonomy(runtime), department=body.department,
                          category=body.category, urgency=body.urgency)


class SpamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spam: bool = True


@router.post("/messages/{message_id}/spam", responses=ERRORS)
def spam(message_id: int, body: SpamIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return store.mark_spam(runtime, principal, message_id, spam=body.spam)


@router.post("/messages/{message_id}/close", responses=ERRORS)
def close(message_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return store.close(runtime, principal, message_id)


@router.post("/messages/{message_id}/drafts", status_code=201, responses=ERRORS)
async def create_draft(message_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Draft a reply from the department's knowledge collections (verified quotes), in the sender's language."""
    return await run_in_threadpool(drafts.create_draft, runtime, principal, message_id, service.taxonomy(runtime))


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=outbox.MAX_DRAFT_CHARS)
    subject: str | None = Field(None, max_length=300)
    companion_text: str | None = Field(None, min_length=1, max_length=outbox.MAX_DRAFT_CHARS,
                                       description="the plain-German version (drafts in another language only)")
    send_companion: bool | None = Field(None, description="append the German version when sending")


@router.put("/drafts/{draft_id}", responses=ERRORS)
def edit_draft(draft_id: int, body: DraftIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return outbox.edit(runtime, principal, draft_id, text=body.text, subject=body.subject,
                       companion_text=body.companion_text, send_companion=body.send_companion)


@router.post("/drafts/{draft_id}/approve", responses=ERRORS)
def approve(draft_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return outbox.approve(runtime, principal, draft_id)


@router.post("/drafts/{draft_id}/send", responses=ERRORS)
async def send(draft_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Send an approved draft (e-mail or Zammad article) – once."""
    return await run_in_threadpool(outbox.send, runtime, principal, draft_id)


@router.get("/messages/{message_id}/attachments/{attachment_id}", responses=ERRORS)
def attachment(message_id: int, attachment_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    name, content_type, data = service.attachment(runtime, principal, message_id, attachment_id)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "anhang"
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"',
                             "X-Content-Type-Options": "nosniff", "X-Original-Content-Type": content_type[:100]})


@router.get("/taxonomy", responses=ERRORS)
def get_taxonomy(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return service.taxonomy(runtime).model_dump(mode="json")


@router.get("/patterns", responses=ERRORS)
def patterns(runtime: RuntimeDep, principal: PrincipalDep,
             department: Annotated[str | None, Query(max_length=100)] = None,
             weeks: Annotated[int, Query(ge=2, le=104)] = 8) -> dict[str, Any]:
    """Topic clusters and spikes over the last ``weeks`` of the caller's visible messages."""
    return service.patterns(runtime, principal, department=department, weeks=weeks)


@router.get("/patterns.png", responses=ERRORS)
def patterns_plot(runtime: RuntimeDep, principal: PrincipalDep,
                  department: Annotated[str | None, Query(max_length=100)] = None,
                  weeks: Annotated[int, Query(ge=2, le=104)] = 8) -> Response:
    return Response(service.patterns_plot(runtime, principal, department=department, weeks=weeks),
                    media_type="image/png")


@router.post("/zammad/webhook", responses=ERRORS)
async def zammad_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Zammad's webhook (trigger → webhook, signed with the shared secret in X-Hub-Signature). Every delivery is
    checked before anything is read; a repeated delivery stores nothing new."""
    from rathaus.inbox import zammad
    from rathaus.inbox.settings import InboxSettings

    secret = runtime.settings.section(InboxSettings).inbox_zammad_webhook_secret
    if secret is None:
        raise Unauthenticated("the Zammad webhook is not configured (RATHAUS_INBOX_ZAMMAD_WEBHOOK_SECRET)")
    raw = await request.body()
    try:
        zammad.verify_signature(raw, request.headers.get("x-hub-signature"), secret.get_secret_value())
    except zammad.ZammadSignatureError as exc:
        raise Unauthenticated(f"Zammad webhook signature: {exc}") from None
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"webhook body is not JSON ({exc})") from None
    delivery = request.headers.get("x-zammad-delivery") or ""
    try:
        msg = zammad.parse_webhook(payload, delivery)
    except zammad.ZammadIgnoredDelivery as exc:  # e.g. our own internal note coming back: 2xx, or Zammad retries
        return JSONResponse({"ignored": str(exc)}, status_code=202)
    except zammad.ZammadPayloadError as exc:
        raise BadRequest(f"Zammad webhook payload: {exc}") from None
    stored = await run_in_threadpool(intake.store_message, runtime, msg)
    return JSONResponse(stored.as_dict(), status_code=201 if stored.created else 200)
