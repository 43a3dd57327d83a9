"""The citizens' contact form ``/kontakt`` (RATHAUS_INBOX_PUBLIC_FORM): anonymous, no script, German first.

A sent form enters the inbox like a mail (channel ``form``). Sending the same form twice (double click, reload)
stores it once: the form carries a one-time id. Each client address may send RATHAUS_INBOX_FORM_LIMIT_PER_HOUR
forms per hour; a filled-in honeypot field (invisible to people and screen readers) is thanked and dropped.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.core import ratelimit
from rathaus.core.errors import NotFound
from rathaus.http.clients import client_address
from rathaus.http.deps import RuntimeDep
from rathaus.inbox.intake import store_message
from rathaus.inbox.message import IncomingMessage
from rathaus.inbox.settings import InboxSettings
from rathaus.web.i18n import language, texts
from rathaus.web.pages import templates

router = APIRouter(include_in_schema=False)
MAX_SUBJECT = 200
MIN_TEXT, MAX_TEXT = 10, 10_000


def _enabled(runtime: Any) -> InboxSettings:
    settings: InboxSettings = runtime.settings.section(InboxSettings)
    if not settings.inbox_public_form:
        raise NotFound("no such page")
    return settings


def _page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request)
    context = {"t": texts(lang), "lang": lang, "other_lang": "en" if lang == "de" else "de",
               "form_id": uuid.uuid4().hex, "values": {}, "errors": [], **values}
    return templates.TemplateResponse(request, "contact_form.html", context, status_code=status)


@router.get("/kontakt", response_class=HTMLResponse)
def contact_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    _enabled(runtime)
    return _page(request)


@router.post("/kontakt", response_class=HTMLResponse)
async def send_contact_form(
    request: Request, runtime: RuntimeDep,
    form_id: Annotated[str, Form(max_length=64)] = "", name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=300)] = "", subject: Annotated[str, Form(max_length=1000)] = "",
    text: Annotated[str, Form(max_length=50_000)] = "", website: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    settings = _enabled(runtime)
    t = texts(language(request))
    values = {"name": name, "email": email, "subject": subject, "text": text}
    errors = []
    if not subject.strip() or len(subject) > MAX_SUBJECT:
        errors.append(t["form_error_subject"].format(n=MAX_SUBJECT))
    if not MIN_TEXT <= len(text.strip()) <= MAX_TEXT:
        errors.append(t["form_error_text"].format(min=MIN_TEXT, max=MAX_TEXT))
    address = None
    if email.strip():
        try:
            address = validate_email(email.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            errors.append(t["form_error_email"])
    if len(form_id) != 32 or not all(c in "0123456789abcdef" for c in form_id):
        errors.append(t["form_error_expired"])
    if errors:
        return _page(request, 400, values=values, errors=errors)
    if website.strip():  # the honeypot: people never see this field
        return _page(request, 200, reference=None, sent=True)

    def store() -> int:
        with runtime.db.session() as session:
            ratelimit.hit(session, ratelimit.client_key("inbox-form", ratelimit.address_bucket(
                client_address(request))), settings.inbox_form_limit_per_hour, window_seconds=3600,
                scope="client", message=t["form_error_limit"])
        return store_message(runtime, IncomingMessage(
            channel="form", external_id=f"form:{form_id}", subject=" ".join(subject.split()), body=text.strip(),
            sender_name=" ".join(name.split()) or None, sender_address=address)).id

    reference = await run_in_threadpool(store)
    return _page(request, 200, reference=reference, sent=True)
