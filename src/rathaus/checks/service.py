"""What API, CLI, web page and jobs do with application packets: take one in (files and form data, the type given
or named by the form), check it in the background, list and show packets, confirm a result, write the applicant
letter, export, cut evidence crops, delete.

Every function takes the acting principal and reads through :mod:`rathaus.checks.access`; every check run,
confirmation, letter, export and deletion writes one audit record (data class personenbezogen). The system only
points out what is missing or wrong – the case worker decides and confirms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.checks import access, results
from rathaus.checks.definitions import ApplicationType, load_types
from rathaus.checks.errors import AlreadyConfirmed, NotChecked, TypeRequired, UnknownType
from rathaus.checks.model import ChecklistItem, CheckResult, Evidence, Packet
from rathaus.checks.schema import PACKET_STATUSES, CheckFile, CheckPacket
from rathaus.checks.settings import ChecksSettings
from rathaus.checks.uploads import Upload, check_uploads, parse_form_data
from rathaus.core import audit, readability
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)
USE_CASE = "checks"
RUN_JOB = "checks.run"
DATA_CLASS = DataClass.PERSONENBEZOGEN.value
MAX_PAGE = 200
SAMPLE_PREFIX = "sample:"
#: languages of the applicant letter besides German and English (through a model cleared for personal data)
LANGUAGE_NAMES = {"tr": "Turkish", "uk": "Ukrainian", "ar": "Arabic", "ru": "Russian", "pl": "Polish",
                  "ro": "Romanian", "hr": "Croatian", "it": "Italian", "fr": "French", "es": "Spanish",
                  "fa": "Persian", "bg": "Bulgarian", "el": "Greek", "sq": "Albanian", "vi": "Vietnamese"}


# --- types ----------------------------------------------------------------------------------------------------

@cache
def _types(extra_dir: Path | None) -> dict[str, ApplicationType]:
    return load_types(extra_dir)


def types(runtime: Runtime) -> dict[str, ApplicationType]:
    """The application types in use: shipped ones and the city's (RATHAUS_CHECKS_TYPES_DIR)."""
    return _types(runtime.settings.section(ChecksSettings).checks_types_dir)


def get_type(runtime: Runtime, type_id: str) -> ApplicationType:
    known = types(runtime)
    if type_id not in known:
        raise UnknownType(f"unbekannte Antragsart / unknown application type {type_id!r}; bekannt / known: "
                          f"{', '.join(sorted(known)) or '–'}")
    return known[type_id]


def type_summary(t: ApplicationType, lang: str = "de") -> dict[str, Any]:
    return {"id": t.id, "title": t.title.get(lang), "description": t.description.get(lang),
            "department": t.department, "annex_iii": t.annex_iii, "fields": len(t.fields),
            "documents": len(t.documents), "rules": len(t.rules), "sources": [s.model_dump() for s in t.sources]}


# --- checking (shared by the job and the CLI) -----------------------------------------------------------------

def check_files(app_type: ApplicationType, files: list[tuple[str, bytes]], submitted_on: dt.date,
                form_data: dict[str, Any] | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> tuple[CheckResult, Packet]:
    """Read a packet (rathaus.checks.intake) and check it against ``app_type`` (rathaus.checks.engine)."""
    from rathaus.checks import engine, intake

    kwargs: dict[str, Any] = {"form_data": form_data or None}
    if progress is not None and "progress" in inspect.signature(intake.read_packet).parameters:
        kwargs["progress"] = progress
    packet = intake.read_packet(files, submitted_on, **kwargs)
    result = engine.check(packet, app_type)
    if packet.type_id and packet.type_id != app_type.id and not any(
            i.requirement.startswith("type") for i in result.items):
        result.items.insert(0, ChecklistItem(
            requirement="type:declared", label="Antragsart", status="invalid",
            message=f"Das Formular nennt die Antragsart {packet.type_id!r}, geprüft wurde {app_type.id!r}.",
            evidence=[Evidence(file=next(iter(f for f, _ in files)), snippet=packet.type_id)],
            hint="Bitte reichen Sie das Formular der beantragten Leistung ein."))
    return result, packet


# --- intake ---------------------------------------------------------------------------------------------------

def _audit(runtime: Runtime, session: Session, principal: Principal | None, action: str, packet: CheckPacket,
           input_hash: str | None = None, output_hash: str | None = None, **details: Any) -> None:
    audit.append(session, audit.AuditEntry(
        actor=principal.id if principal else "system", department=principal.department if principal else "-",
        use_case=USE_CASE, action=action, data_class=DATA_CLASS, input_hash=input_hash, output_hash=output_hash,
        details={"packet_id": packet.id, "type_id": packet.type_id, **details}), key=runtime.gateway.audit_key)


def create_packet(runtime: Runtime, principal: Principal, files: list[Upload], *, type_id: str | None = None,
                  submitted_on: dt.date | None = None, form: str | bytes | None = None, language: str | None = None,
                  reference: str | None = None, source: str = "upload", run_now: bool = False) -> dict[str, Any]:
    """Store a packet with its files in one transaction and queue its check (job ``checks.run``); with
    ``run_now`` check it here instead (the sample content). The type: ``type_id``, else the one the form data
    names; neither is a clear error. Nothing is stored when anything is wrong."""
    settings = runtime.settings.section(ChecksSettings)
    checked = check_uploads(files, max_files=settings.checks_max_files,
                            max_bytes=settings.checks_max_file_mb * 1_000_000)
    declared, fields = parse_form_data(form) if form is not None and str(form).strip() else (None, {})
    chosen = (type_id or "").strip() or declared
    if not chosen:
        raise TypeRequired("Antragsart fehlt: bitte type_id angeben (das Formular nennt keine) / application type "
                           "missing: give type_id (the form data names none)")
    app_type = get_type(runtime, chosen)
    access.require_upload(principal, app_type.department)
    today = dt.date.today()
    submitted = submitted_on or today
    if submitted > today + dt.timedelta(days=1) or submitted.year < 2000:
        raise BadRequest(f"Eingangsdatum {submitted.isoformat()} ist nicht plausibel / submission date implausible")
    with runtime.db.session() as session:
        packet = CheckPacket(type_id=app_type.id, department=app_type.department, status="received", source=source,
                             submitted_on=submitted, language=(language or "de")[:8], reference=reference,
                             form={"fields": fields, "declared_type": declared} if fields or declared else {},
                             created_by=principal.id)
        session.add(packet)
        session.flush()
        for upload in checked:
            session.add(CheckFile(packet_id=packet.id, filename=upload.filename, content_type=upload.content_type,
                                  size=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
                                  data=upload.data))
        _audit(runtime, session, principal, "checks.received", packet, files=len(checked), source=source,
               input_hash=audit.content_hash(sorted(hashlib.sha256(u.data).hexdigest() for u in checked)))
        if not run_now:
            runtime.jobs.defer(RUN_JOB, session=session, requested_by=principal, packet_id=packet.id)
        packet_id = packet.id
    if run_now:
        run_check(runtime, packet_id)
    with runtime.db.session() as session:
        return summary(session.get_one(CheckPacket, packet_id), types(runtime))


def run_check(runtime: Runtime, packet_id: int, progress: Callable[[int, int, str], None] | None = None
              ) -> dict[str, Any]:
    """The job ``checks.run``: read the stored files, check them, store the result (at least once, idempotent:
    the same files give the same result; a confirmed result is never replaced, a deleted packet is skipped)."""
    with runtime.db.session() as session:
        packet = session.get(CheckPacket, packet_id)
        if packet is None:
            return {"packet_id": packet_id, "skipped": "deleted"}
        if packet.status == "confirmed":
            return {"packet_id": packet_id, "skipped": "confirmed"}
        rows = session.scalars(sa.select(CheckFile).where(CheckFile.packet_id == packet_id)
                               .order_by(CheckFile.id)).all()
        files = [(f.filename, f.data) for f in rows]
        type_id, submitted_on = packet.type_id, packet.submitted_on
        form_fields = form_fields_of(packet.form)
    app_type = get_type(runtime, type_id)
    result, read = check_files(app_type, files, submitted_on, form_fields, progress)
    stored = results.to_dict(result, read)
    with runtime.db.session() as session:
        packet = session.get(CheckPacket, packet_id, with_for_update=True)
        if packet is None:
            return {"packet_id": packet_id, "skipped": "deleted"}
        if packet.status == "confirmed":
            return {"packet_id": packet_id, "skipped": "confirmed"}
        packet.result, packet.status = stored, "checked"
        packet.checked_at = dt.datetime.now(dt.UTC)
        if read.language and read.language != "de" and packet.language == "de":
            packet.language = read.language[:8]
        _audit(runtime, session, None, "checks.run", packet, counts=stored["counts"], complete=stored["complete"],
               problems=len(stored["problems"]), annex_iii=app_type.annex_iii,
               output_hash=audit.content_hash(stored["items"]))
    return {"packet_id": packet_id, "counts": stored["counts"], "complete": stored["complete"]}


def form_fields_of(form: dict[str, Any] | None) -> dict[str, Any]:
    """The form data stored with a packet: ``{"fields": …, "declared_type": …}`` from an upload, or the flat
    answers of a guided application (rathaus.checks.dialogue)."""
    form = form or {}
    if isinstance(form.get("fields"), dict):
        return dict(form["fields"])
    return {k: v for k, v in form.items() if k != "declared_type"}


def waiting(runtime: Runtime, older_than_seconds: float = 300) -> list[int]:
    """Packets still unchecked after ``older_than_seconds`` (their job failed for good or was lost)."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_seconds)
    with runtime.db.session() as session:
        return list(session.scalars(sa.select(CheckPacket.id).where(
            CheckPacket.status == "received", CheckPacket.created_at < cutoff).order_by(CheckPacket.id)).all())


# --- reading --------------------------------------------------------------------------------------------------

def summary(p: CheckPacket, known: dict[str, ApplicationType], lang: str = "de") -> dict[str, Any]:
    t = known.get(p.type_id)
    result = p.result or {}
    return {
        "id": p.id, "type_id": p.type_id, "type_title": t.title.get(lang) if t else p.type_id,
        "department": p.department, "annex_iii": bool(t.annex_iii) if t else bool(result.get("annex_iii")),
        "status": p.status, "source": p.source, "submitted_on": p.submitted_on.isoformat(), "language": p.language,
        "reference": p.reference, "synthetic": bool(p.reference and p.reference.startswith(SAMPLE_PREFIX)),
        "created_by": p.created_by, "created_at": p.created_at.isoformat() if p.created_at else None,
        "checked_at": p.checked_at.isoformat() if p.checked_at else None,
        "counts": result.get("counts"), "complete": result.get("complete"),
        "confirmed_by": p.confirmed_by, "confirmed_at": p.confirmed_at.isoformat() if p.confirmed_at else None,
        "confirmation_note": p.confirmation_note,
    }


def list_packets(runtime: Runtime, principal: Principal, *, status: str | None = None, type_id: str | None = None,
                 limit: int = 50, offset: int = 0, lang: str = "de") -> dict[str, Any]:
    if status and status not in PACKET_STATUSES:
        raise BadRequest(f"unbekannter Stand / unknown status {status!r}; one of {', '.join(PACKET_STATUSES)}")
    limit = max(1, min(limit, MAX_PAGE))
    query = sa.select(CheckPacket).where(access.visible_clause(principal))
    if status:
        query = query.where(CheckPacket.status == status)
    if type_id:
        query = query.where(CheckPacket.type_id == type_id)
    known = types(runtime)
    with runtime.db.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(CheckPacket.created_at.desc(), CheckPacket.id.desc())
                               .limit(limit).offset(max(0, offset))).all()
        return {"total": total, "items": [summary(p, known, lang) for p in rows], "limit": limit, "offset": offset}


def get_packet(runtime: Runtime, principal: Principal, packet_id: int, lang: str = "de") -> dict[str, Any]:
    """One packet: status, files (metadata), the checklist with numbered evidence, recognised documents and
    problems; reading it is audited (personal data)."""
    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id), packet_id)
        files = session.execute(sa.select(CheckFile.id, CheckFile.filename, CheckFile.content_type, CheckFile.size)
                                .where(CheckFile.packet_id == p.id).order_by(CheckFile.id)).all()
        _audit(runtime, session, principal, "checks.read", p)
        result = p.result or {}
        numbered = results.numbered_evidence(result)
        by_item: list[list[dict[str, Any]]] = []
        cursor = 0
        for item in result.get("items") or []:
            count = len(item.get("evidence") or [])
            by_item.append(numbered[cursor:cursor + count])
            cursor += count
        items = [{**item, "evidence": ev} for item, ev in zip(result.get("items") or [], by_item, strict=True)]
        return {**summary(p, types(runtime), lang), "form": form_fields_of(p.form),
                "files": [{"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size}
                          for f in files],
                "items": items, "problems": result.get("problems") or [], "documents": result.get("documents") or [],
                "read_form": result.get("form") or {}}


def export(runtime: Runtime, principal: Principal, packet_id: int) -> dict[str, Any]:
    """The packet's form data and checklist for the specialist procedure; audited."""
    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id), packet_id)
        _audit(runtime, session, principal, "checks.export", p)
        return {**summary(p, types(runtime)), "form": form_fields_of(p.form), "result": p.result}


# --- acting ---------------------------------------------------------------------------------------------------

def confirm(runtime: Runtime, principal: Principal, packet_id: int, note: str) -> dict[str, Any]:
    """A case worker confirms the checklist (their decision, with their note); once."""
    note = " ".join(note.split())
    if not note:
        raise BadRequest("Vermerk fehlt / a note is required to confirm")
    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id, with_for_update=True), packet_id)
        if p.status == "received":
            raise NotChecked(f"Antrag {packet_id} ist noch nicht geprüft / packet {packet_id} is not checked yet")
        if p.status == "confirmed":
            raise AlreadyConfirmed(f"Antrag {packet_id} wurde schon von {p.confirmed_by} bestätigt / already "
                                   f"confirmed by {p.confirmed_by}")
        p.status, p.confirmed_by = "confirmed", principal.id
        p.confirmed_at, p.confirmation_note = dt.datetime.now(dt.UTC), note[:2000]
        _audit(runtime, session, principal, "checks.confirm", p, counts=(p.result or {}).get("counts"),
               note_hash=audit.content_hash(note))
        return summary(p, types(runtime))


def delete(runtime: Runtime, principal: Principal, packet_id: int) -> dict[str, Any]:
    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id, with_for_update=True), packet_id)
        _audit(runtime, session, principal, "checks.delete", p)
        session.delete(p)
    return {"deleted": packet_id}


def translate_letter(runtime: Runtime, principal: Principal, german: str, lang: str
                     ) -> tuple[str | None, str | None]:
    """The German letter in ``lang`` through a model cleared for personal data; (None, why) when none is, or when
    the model's answer was cut off, withheld by a safeguard or empty (a half letter is worse than German)."""
    from rathaus.models.gateway import CallContext
    from rathaus.models.routing import allowed_models
    from rathaus.models.types import ChatMessage, ChatParams

    if not allowed_models(runtime.catalog, "chat", DataClass.PERSONENBEZOGEN):
        return None, ("Kein Sprachmodell ist für personenbezogene Daten freigegeben; das Schreiben liegt nur auf "
                      "Deutsch vor. / No model is cleared for personal data; the letter is in German only.")
    name = LANGUAGE_NAMES.get(lang, lang)
    ctx = CallContext(principal=principal, data_class=DataClass.PERSONENBEZOGEN, use_case="checks.letter")
    messages = [ChatMessage(role="system", content=f"Translate the following official letter from German into "
                                                    f"{name}. Keep names, numbers, dates, IBANs and the layout "
                                                    "exactly. Answer with the translation only."),
                ChatMessage(role="user", content=german)]
    outcome = runtime.gateway.chat(ctx, messages, params=ChatParams(temperature=0.0))
    translated = outcome.text.strip()
    if not translated or outcome.replaced or outcome.finish_reason != "stop":
        return None, ("Die maschinelle Übersetzung war unvollständig; das Schreiben liegt nur auf Deutsch vor. / "
                      "The machine translation was incomplete; the letter is in German only.")
    return translated, ("Maschinell übersetzt; maßgeblich ist das deutsche Schreiben. / Machine "
                        "translation; the German letter is authoritative.")


def letter(runtime: Runtime, principal: Principal, packet_id: int, lang: str | None = None) -> dict[str, Any]:
    """The letter to the applicant asking for exactly what is missing or wrong: German always, and in ``lang``
    (default: the packet's language) – English from the type's texts, other languages through a model cleared
    for personal data, else German only with a note. Audited."""
    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id), packet_id)
        if p.result is None:
            raise NotChecked(f"Antrag {packet_id} ist noch nicht geprüft / packet {packet_id} is not checked yet")
        stored, type_id, language = p.result, p.type_id, p.language
    from rathaus.checks.letter import applicant_letter

    target = (lang or language or "de").lower()
    app_type = get_type(runtime, type_id)
    result = results.from_dict(stored)
    name = results.applicant_name(stored)
    german = applicant_letter(result, app_type, "de", name=name)
    text, note = german, None
    if target == "en":
        text = applicant_letter(result, app_type, "en", name=name)
    elif target != "de":
        translated, note = translate_letter(runtime, principal, german, target)
        text = translated or german
        if translated is None:
            target = "de"
    with runtime.db.session() as session:
        packet = session.get(CheckPacket, packet_id)
        if packet is None:
            raise NotFound(f"Antrag {packet_id} nicht gefunden / packet {packet_id} not found")
        _audit(runtime, session, principal, "checks.letter", packet, language=target,
               output_hash=audit.content_hash(text))
    plain = readability.measure(german)  # plain German is measured, not assumed (Wiener Sachtextformel)
    return {"packet_id": packet_id, "language": target, "text": text, "german": german, "note": note,
            "readability_de": {"wstf": round(plain.wstf, 1), "level": plain.level,
                               "words_per_sentence": round(plain.avg_sentence_words, 1)}}


def evidence_png(runtime: Runtime, principal: Principal, packet_id: int, n: int) -> bytes:
    """Evidence ``n`` (1-based, in checklist order) as an image crop of its page."""
    from rathaus.checks.crops import crop_png, page_image

    with runtime.db.session() as session:
        p = access.require_visible(principal, session.get(CheckPacket, packet_id), packet_id)
        numbered = results.numbered_evidence(p.result or {})
        if not 1 <= n <= len(numbered):
            raise NotFound(f"Beleg {n} gibt es nicht / no evidence {n} (packet {packet_id} has {len(numbered)})")
        ev = numbered[n - 1]
        row = session.execute(sa.select(CheckFile.data, CheckFile.content_type).where(
            CheckFile.packet_id == p.id, CheckFile.filename == ev.get("file"))).first()
    if row is None or ev.get("page") is None:
        raise NotFound(f"Beleg {n} zeigt auf keine Seite einer Datei / evidence {n} points to no page of a file")
    if row.content_type not in ("application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic"):
        raise NotFound(f"Beleg {n} steht in Formulardaten, nicht auf einer Seite / evidence {n} is form data")
    # boxes are in pixels of the page as stored (photos after their EXIF orientation, PDF pages at 300 dpi):
    # rathaus.checks.ocr maps what it read on the upright page back to the original image
    bbox = results.evidence_from(ev).bbox
    return crop_png(page_image(row.data, row.content_type, int(ev["page"])), bbox)
