"""The employee assistant's pages: chat with history, own assistants, administration.

Pages are rendered on the server (history, messages, lists) and enhanced by small scripts that call the
same REST API as any other client (``/api/v1/chats``, ``/api/v1/my-assistants``, ``/api/v1/admin``).
A chat or assistant of someone else, or the admin page without the role, is a readable HTML page with
the right status code, never a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rathaus.assistants import chats, custom
from rathaus.assistants.conversation import message_json
from rathaus.assistants.settings import AssistantsSettings
from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import NotFound
from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy
from rathaus.http.deps import RuntimeDep
from rathaus.http.markdown import with_html
from rathaus.runtime import Runtime
from rathaus.web.pages import PagePrincipalDep, models_by_class, page_context, render_page

router = APIRouter(include_in_schema=False)

JOBS_SHOWN = 30
MODES = ("chat", "summarise", "simplify", "translate", "draft", "brainstorm")
SAFEGUARD_CHOICES = {"personal_data_policies": [p.value for p in PersonalDataPolicy],
                     "content_guard_policies": [p.value for p in ContentGuardPolicy]}
LANGUAGES = {"en": "English", "tr": "Türkçe", "ar": "العربية", "uk": "Українська", "ru": "Русский", "pl": "Polski",
             "hr": "Hrvatski", "ro": "Română", "it": "Italiano", "el": "Ελληνικά", "de": "Deutsch"}


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = render_page(request, name, context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(request: Request, base: dict[str, Any], status: int) -> HTMLResponse:
    t = base["t"]
    title, text = (t["not_found"], t["not_found_text"]) if status == 404 else (t["forbidden"], t["forbidden_text"])
    return _page(request, "error.html", {**base, "heading": title, "text": text}, status)


def _sidebar(session: Session, principal: Principal) -> list[dict[str, Any]]:
    return [vars(s) for s in chats.search(session, principal, None, 100, 0)]


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
              assistant: str | None = None, link: str | None = None) -> HTMLResponse:
    """Start page of the chat: history on the left, a new chat on the right."""
    return _chat(request, runtime, principal, None, assistant, link)


@router.get("/chat/{chat_id}", response_class=HTMLResponse)
def chat_view(chat_id: str, request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    return _chat(request, runtime, principal, chat_id, None, None)


def _chat(request: Request, runtime: Runtime, principal: Principal, chat_id: str | None, assistant_id: str | None,
          link: str | None) -> HTMLResponse:
    base = page_context(request, runtime, principal)
    with runtime.db.session() as session:
        history = _sidebar(session, principal)
        chat, messages, assistant = None, [], None
        try:
            if chat_id is not None:
                row = chats.get(session, principal, chat_id)
                chat = {"id": str(row.id), "title": row.title, "data_class": row.data_class, "model": row.model,
                        "mode": row.mode, "version": row.version, "has_documents": row.collection_id is not None,
                        "assistant_id": str(row.assistant_id) if row.assistant_id else None}
                messages = [with_html(message_json(m)) for m in chats.messages(session, row)]
                if row.assistant_id:
                    try:
                        assistant = custom.as_json(custom.get_usable(session, principal, row.assistant_id, None),
                                                   principal)
                    except NotFound:
                        assistant = None
            elif assistant_id:
                assistant = custom.as_json(custom.get_usable(session, principal, assistant_id, link), principal)
        except NotFound:
            return _error(request, {**base, "history": history}, 404)
    config = {"chat": chat, "allowed": models_by_class(runtime), "assistant": assistant, "link": link,
              "upload_mb": runtime.settings.upload_max_mb, "t": {k: v for k, v in base["t"].items()}}
    return _page(request, "chat.html", {
        **base, "history": history, "chat": chat, "messages": messages, "assistant": assistant,
        "data_classes": [dc.value for dc in DataClass], "allowed": config["allowed"], "modes": MODES,
        "languages": LANGUAGES, "config_json": json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"),
        "retention_days": runtime.settings.section(AssistantsSettings).chat_retention_days,
    })


@router.get("/assistants", response_class=HTMLResponse)
def assistants_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    base = page_context(request, runtime, principal)
    with runtime.db.session() as session:
        usable = [custom.as_json(a, principal) for a in custom.list_usable(session, principal)]
    return _page(request, "assistants.html", {
        **base, "own": [a for a in usable if a["own"]], "shared": [a for a in usable if not a["own"]],
        "edit": None, "versions": [], "data_classes": [dc.value for dc in DataClass], **SAFEGUARD_CHOICES,
        "allowed": models_by_class(runtime),
    })


@router.get("/assistants/{assistant_id}", response_class=HTMLResponse)
def assistant_page(assistant_id: str, request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
                   link: str | None = None) -> HTMLResponse:
    """The owner edits here; anyone else allowed to use the assistant sees its card and starts a chat."""
    base = page_context(request, runtime, principal)
    with runtime.db.session() as session:
        try:
            a = custom.as_json(custom.get_usable(session, principal, assistant_id, link), principal)
            versions = custom.versions(session, principal, assistant_id) if a["own"] else []
        except NotFound:
            return _error(request, base, 404)
        usable = [custom.as_json(x, principal) for x in custom.list_usable(session, principal)]
    return _page(request, "assistants.html", {
        **base, "own": [x for x in usable if x["own"]], "shared": [x for x in usable if not x["own"]],
        "edit": a, "versions": versions, "link": link, "data_classes": [dc.value for dc in DataClass],
        **SAFEGUARD_CHOICES, "allowed": models_by_class(runtime), "base_url": str(request.base_url).rstrip("/"),
    })


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    base = page_context(request, runtime, principal)
    if not principal.roles & {ADMIN_ROLE, AUDITOR_ROLE}:
        return _error(request, base, 403)
    from rathaus.assistants.usage import overview
    from rathaus.core.jobs.access import job_json

    with runtime.db.session() as session:
        data = overview(session, None)
    jobs = [job_json(principal, j) for j in runtime.jobs.list(limit=JOBS_SHOWN)]
    return _page(request, "admin.html", {**base, "data": data, "charts": _charts(data), "jobs": jobs})


def _charts(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Bars for the SVG charts: one list per grouping, widths relative to the largest token count."""
    out = {}
    for key in ("by_department", "by_assistant", "by_model"):
        rows = data.get(key) or []
        top = max((r["tokens"] for r in rows), default=0) or 1
        out[key] = [{"label": r["key"], "tokens": r["tokens"], "width": round(100 * r["tokens"] / top, 1)}
                    for r in rows[:12]]
    return out
