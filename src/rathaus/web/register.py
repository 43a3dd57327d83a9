"""The AI register in the browser: the public page ``/register`` (no sign-in; one card per public system), the
overview ``/register/manage`` for oversight, auditors and administrators, and the entry form
``/register/manage/{id}`` (static/register.js sends it to PUT /api/v1/register/{id})."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from rathaus.core.errors import NotFound
from rathaus.governance.register import access, build_cards, get_card, organisation, render_html, store
from rathaus.governance.register.publish import page_css
from rathaus.http.deps import RuntimeDep
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)
TEXT_FIELDS = ("purpose", "affected_people", "human_oversight", "known_limits")
LINE_FIELDS = ("owner_department", "responsible_role", "legal_basis", "contact", "provider", "instructions_url",
               "eu_database_url")
LONG_FIELDS = ("proportionality", "fria_summary", "dpia_summary")
LABELS = {
    "purpose": "Zweck / purpose", "affected_people": "Betroffene / affected people",
    "human_oversight": "Menschliche Aufsicht / human oversight", "known_limits": "Bekannte Grenzen / known limits",
    "owner_department": "Verantwortliche Abteilung / owner department",
    "responsible_role": "Verantwortliche Rolle / responsible role", "legal_basis": "Rechtsgrundlage / legal basis",
    "contact": "Kontakt (E-Mail oder https-Adresse) / contact (e-mail or https address)",
    "provider": "Externer Anbieter / external provider", "instructions_url": "Gebrauchsanweisung (URL) / instructions",
    "eu_database_url": "Eintrag EU-Datenbank (URL) / EU database entry",
    "proportionality": "Abwägung / proportionality", "fria_summary": "Grundrechte-Folgenabschätzung / FRIA summary",
    "dpia_summary": "Datenschutz-Folgenabschätzung / DPIA summary",
    "staff_council_approval": "Zustimmung Personalrat (Datum) / staff-council approval (date)",
    "begin_date": "In Betrieb seit (JJJJ-MM) / in use since (YYYY-MM)", "status": "Status",
    "public": "Öffentlich im Register / public in the register", "impactful": "Wirkt auf Rechte oder Entscheidungen "
              "über Bürgerinnen und Bürger / affects citizens' rights or decisions about them",
}


@router.get("/register.css")
def register_css() -> Response:
    """The public page's style sheet – the one the exported HTML inlines (no second copy to keep in step)."""
    return Response(page_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/register", response_class=HTMLResponse)
async def public_register(runtime: RuntimeDep) -> HTMLResponse:
    def run() -> str:
        with runtime.db.session() as session:
            cards = build_cards(runtime, session, only_public=True)
        return render_html(cards, organisation(runtime)[0], standalone_css=False)

    return HTMLResponse(await run_in_threadpool(run))


@router.get("/register/manage", response_class=HTMLResponse)
def manage(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    access.require_read(principal)
    with runtime.db.session() as session:
        cards = build_cards(runtime, session, figures_too=False)
    return render_page(request, "register_manage.html", {
        **page_context(request, runtime, principal), "cards": cards, "can_edit": access.can_edit(principal)})


@router.get("/register/manage/{system_id}", response_class=HTMLResponse)
def edit(request: Request, system_id: str, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    access.require_read(principal)
    with runtime.db.session() as session:
        card = get_card(runtime, session, system_id)
        try:
            changes: list[dict[str, Any]] = store.history(session, system_id)
        except NotFound:
            changes = []
    entry = card.entry.fields() if card.entry else {}
    return render_page(request, "register_edit.html", {
        **page_context(request, runtime, principal), "card": card, "entry": entry, "history": changes,
        "version": card.meta["version"] if card.meta else None, "can_edit": access.can_edit(principal),
        "text_fields": TEXT_FIELDS, "line_fields": LINE_FIELDS, "long_fields": LONG_FIELDS, "labels": LABELS})
