"""Employees' own assistants: a name, a system prompt and starter prompts, versioned, shareable.

Sharing: ``private`` (owner only), ``link`` (anyone signed in who has the secret link), ``departments``
(everyone in the listed departments). Shared use needs the assistant to be *published*; publishing runs
an EU AI Act high-risk screening (Annex III areas: rules plus the model) and, when an area is hit,
requires the owner's explicit confirmation, stored with the assistant. Administrators can unpublish
with a reason the owner sees.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from rathaus.assistants.chat_schema import UserAssistant, UserAssistantVersion
from rathaus.core import audit
from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Conflict, Forbidden, NotFound
from rathaus.models.gateway import CallContext
from rathaus.safety.policy import SafetyPolicy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

EDITABLE = ("name", "description", "system_prompt", "starter_prompts", "data_class", "model", "visibility",
            "share_departments", "safeguards")

# Annex III areas relevant to a city administration, with words that point to them.
ANNEX_III: dict[str, tuple[str, list[str]]] = {
    "migration": ("Migration, Asyl und Grenzkontrolle (Anhang III Nr. 7)", [
        r"asyl", r"aufenthalt", r"ausländerbehörde", r"einbürgerung", r"visum", r"abschiebung", r"duldung",
        r"migration", r"geflüchtet", r"flüchtling", r"aufenthaltstitel", r"niederlassungserlaubnis"]),
    "public_services": ("Zugang zu grundlegenden öffentlichen Diensten und Leistungen (Anhang III Nr. 5)", [
        r"sozialleistung", r"bürgergeld", r"wohngeld", r"sozialhilfe", r"anspruch (prüfen|berechnen)",
        r"leistungsbescheid", r"bewilligung", r"grundsicherung", r"kindergeld", r"eingliederungshilfe",
        r"(antrag|anträge) (prüfen|bewerten|entscheiden)", r"bedürftigkeit"]),
    "employment": ("Beschäftigung und Personalmanagement (Anhang III Nr. 4)", [
        r"bewerbung", r"bewerber", r"personalauswahl", r"einstellung(sentscheidung)?", r"beurteilung",
        r"kündigung", r"beförderung", r"leistungsbewertung", r"mitarbeitendengespräch", r"stellenbesetzung"]),
    "education": ("Allgemeine und berufliche Bildung (Anhang III Nr. 3)", [
        r"prüfung", r"benotung", r"noten", r"zulassung", r"schüler", r"lernerfolg", r"zeugnis"]),
}
# The model half of the screening compares the assistant's description with short descriptions of each area
# (and of ordinary office work) in the embedder's space. The small chat model was tried first and flagged
# almost everything (it answered "LEISTUNGEN, PERSONAL" for a letter-writing helper); the embedder separates
# the cases (checked in tests/assistants/test_chat_api.py).
AREA_EXAMPLES: dict[str, list[str]] = {
    "migration": ["Prüft Anträge auf Asyl und Aufenthaltstitel", "Entscheidet über Einbürgerung und Visa",
                  "Bewertet Abschiebungen und Duldungen von Geflüchteten",
                  "assists the immigration office with residence permits"],
    "public_services": ["Prüft Anträge auf Sozialleistungen und entscheidet über den Anspruch",
                        "Berechnet Wohngeld, Bürgergeld oder Grundsicherung",
                        "Bewertet die Bedürftigkeit von Antragstellenden", "decides eligibility for public benefits"],
    "employment": ["Sortiert und bewertet Bewerbungen für Stellen",
                   "Unterstützt Personalauswahl und Beförderungsentscheidungen",
                   "Beurteilt die Leistung von Beschäftigten", "screens job applicants and ranks candidates"],
    "education": ["Bewertet Prüfungen und vergibt Noten", "Entscheidet über die Zulassung zu Schulen und Kursen",
                  "Überwacht Schülerinnen und Schüler während Prüfungen", "grades student exams"],
}
ORDINARY_WORK = ["Hilft beim Formulieren von Briefen und E-Mails", "Fasst Sitzungsprotokolle und Berichte zusammen",
                 "Übersetzt Texte in andere Sprachen", "Beantwortet Fragen zur IT und zu Software",
                 "Erstellt Ideen und Gliederungen für Präsentationen",
                 "Erklärt Öffnungszeiten und Zuständigkeiten der Verwaltung", "Schreibt Pressemitteilungen",
                 "Hilft bei Excel-Formeln"]
MIN_SIMILARITY = 0.35  # an area must be at least this close …
NEAR_BEST = 0.10  # … and within this of the closest area, and closer than ordinary office work


def model_screen(runtime: Runtime, ctx: CallContext, text: str) -> tuple[list[str], dict[str, float]]:
    """Areas the embedder places the assistant's description in, with the cosine similarity per area."""
    labels = [area for area, examples in AREA_EXAMPLES.items() for _ in examples] + ["ordinary"] * len(ORDINARY_WORK)
    examples = [e for ex in AREA_EXAMPLES.values() for e in ex] + ORDINARY_WORK
    vectors = runtime.gateway.embed(ctx, [text[:2000], *examples]).vectors
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    sims = matrix[1:] @ matrix[0]
    best: dict[str, float] = {}
    for label, sim in zip(labels, sims, strict=True):
        best[label] = max(best.get(label, -1.0), round(float(sim), 3))
    ordinary = best.pop("ordinary")
    top = max(best.values())
    areas = sorted(a for a, s in best.items() if s >= MIN_SIMILARITY and s > ordinary and s >= top - NEAR_BEST)
    return areas, {**best, "ordinary": ordinary}



def _id(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"no assistant {value}") from None


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in EDITABLE and v is not None}
    if "name" in out:
        out["name"] = " ".join(str(out["name"]).split())[:100]
        if not out["name"]:
            raise BadRequest("the assistant needs a name")
    if "system_prompt" in out and not str(out["system_prompt"]).strip():
        raise BadRequest("the assistant needs instructions (system prompt)")
    if "starter_prompts" in out:
        out["starter_prompts"] = [p.strip()[:500] for p in out["starter_prompts"] if p and p.strip()][:8]
    if "data_class" in out:
        out["data_class"] = DataClass.parse(out["data_class"]).value
    if out.get("visibility") not in (None, "private", "link", "departments"):
        raise BadRequest("visibility must be private, link or departments")
    if "share_departments" in out:
        out["share_departments"] = sorted({d.strip() for d in out["share_departments"] if d and d.strip()})[:50]
    if "safeguards" in out:
        raw = out["safeguards"]
        try:
            out["safeguards"] = SafetyPolicy.model_validate(raw.model_dump() if hasattr(raw, "model_dump") else raw
                                                            ).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BadRequest(f"safeguards.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return out


def policy(a: UserAssistant | None) -> SafetyPolicy | None:
    """The assistant's safeguard policy (None: the platform defaults)."""
    return SafetyPolicy.model_validate(a.safeguards) if a is not None and a.safeguards else None


def _snapshot(a: UserAssistant) -> dict[str, Any]:
    return {k: getattr(a, k) for k in EDITABLE} | {"published": a.published}


def _version(session: Session, a: UserAssistant) -> None:
    session.add(UserAssistantVersion(assistant_id=a.id, version=a.version, snapshot=_snapshot(a)))


def create(session: Session, principal: Principal, data: dict[str, Any]) -> UserAssistant:
    values = _validate(data)
    if "name" not in values or "system_prompt" not in values:
        raise BadRequest("name and system_prompt are required")
    a = UserAssistant(owner=principal.id, department=principal.department, **values)
    if a.visibility == "link":
        a.link_token = secrets.token_urlsafe(24)
    session.add(a)
    session.flush()
    _version(session, a)
    return a


def get_own(session: Session, principal: Principal, assistant_id: str | uuid.UUID, lock: bool = False) -> UserAssistant:
    stmt = sa.select(UserAssistant).where(UserAssistant.id == _id(assistant_id), UserAssistant.owner == principal.id)
    if lock:
        stmt = stmt.with_for_update()
    a = session.scalars(stmt).one_or_none()
    if a is None:
        raise NotFound(f"no assistant {assistant_id}")
    return a


def can_use(principal: Principal, a: UserAssistant, link_token: str | None = None) -> bool:
    if a.owner == principal.id:
        return True
    if not a.published:
        return False
    if a.visibility == "departments":
        return principal.department in a.share_departments
    if a.visibility == "link":
        return bool(link_token) and secrets.compare_digest(link_token or "", a.link_token or "")
    return False


def get_usable(session: Session, principal: Principal, assistant_id: str | uuid.UUID,
               link_token: str | None = None) -> UserAssistant:
    """The assistant if ``principal`` may use it; NotFound otherwise (its existence does not leak)."""
    a = session.get(UserAssistant, _id(assistant_id))
    if a is None or not can_use(principal, a, link_token):
        raise NotFound(f"no assistant {assistant_id}")
    return a


def list_usable(session: Session, principal: Principal) -> list[UserAssistant]:
    shared = sa.and_(UserAssistant.published.is_(True), UserAssistant.visibility == "departments",
                     sa.literal(principal.department) == sa.any_(UserAssistant.share_departments))
    stmt = (sa.select(UserAssistant).where(sa.or_(UserAssistant.owner == principal.id, shared))
            .order_by(UserAssistant.name))
    return list(session.scalars(stmt))


def update(session: Session, principal: Principal, assistant_id: str, data: dict[str, Any],
           version: int | None) -> UserAssistant:
    a = get_own(session, principal, assistant_id, lock=True)
    if version is not None and version != a.version:
        raise Conflict("dieser Assistent wurde inzwischen geändert – bitte neu laden / changed meanwhile; reload",
                       extra={"current_version": a.version})
    values = _validate(data)
    changed = {k: v for k, v in values.items() if getattr(a, k) != v}
    if not changed:
        return a
    for key, value in changed.items():
        setattr(a, key, value)
    if a.visibility == "link" and not a.link_token:
        a.link_token = secrets.token_urlsafe(24)
    if {"system_prompt", "visibility", "share_departments", "data_class", "safeguards"} & changed.keys() \
            and a.published:
        a.published = False  # a changed purpose needs a new screening before others use it again
        a.unpublished_reason = "geändert – bitte erneut veröffentlichen / changed – publish again"
    a.version += 1
    a.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    _version(session, a)
    return a


def duplicate(session: Session, principal: Principal, assistant_id: str, link_token: str | None = None
              ) -> UserAssistant:
    source = get_usable(session, principal, assistant_id, link_token)
    data = _snapshot(source) | {"name": f"{source.name} (Kopie)", "visibility": "private", "share_departments": []}
    data.pop("published", None)
    return create(session, principal, data)


def versions(session: Session, principal: Principal, assistant_id: str) -> list[dict[str, Any]]:
    a = get_own(session, principal, assistant_id)
    rows = session.scalars(sa.select(UserAssistantVersion).where(UserAssistantVersion.assistant_id == a.id)
                           .order_by(UserAssistantVersion.version))
    return [{"version": r.version, "created_at": r.created_at.isoformat(), "snapshot": r.snapshot} for r in rows]


def delete(session: Session, principal: Principal, assistant_id: str) -> None:
    session.delete(get_own(session, principal, assistant_id))


# --- EU AI Act screening and publishing ------------------------------------------------------------------
def screen(runtime: Runtime, principal: Principal, a: UserAssistant) -> dict[str, Any]:
    """Rules (words of the Annex III areas) plus the model's judgement; either one flags an area."""
    text = " ".join([a.name, a.description, a.system_prompt, *a.starter_prompts]).casefold()
    rule_hits = {area: sorted({m.group(0) for p in words for m in re.finditer(p, text)})
                 for area, (_, words) in ANNEX_III.items()}
    rule_hits = {k: v for k, v in rule_hits.items() if v}
    model_areas: list[str] = []
    model_scores: dict[str, float] = {}
    model_error = None
    try:
        ctx = CallContext(principal=principal, data_class=DataClass.parse(a.data_class), use_case="ai-act-screening")
        model_areas, model_scores = model_screen(runtime, ctx, f"{a.name}. {a.description} {a.system_prompt}")
    except Exception as exc:  # the rules still decide if the model is unavailable
        model_error = str(getattr(exc, "detail", exc))[:200]
    areas = sorted(set(rule_hits) | set(model_areas))
    return {
        "high_risk": bool(areas), "areas": [{"area": k, "label": ANNEX_III[k][0]} for k in areas],
        "rule_hits": rule_hits, "model_areas": model_areas, "model_scores": model_scores, "model_error": model_error,
        "screened_at": dt.datetime.now(dt.UTC).isoformat(), "version": a.version,
    }


def publish(runtime: Runtime, session: Session, principal: Principal, assistant_id: str, *, confirm: bool,
            version: int | None) -> UserAssistant:
    """Screen, then publish; a high-risk area needs ``confirm`` (the owner takes note of the obligations)."""
    a = get_own(session, principal, assistant_id, lock=True)
    if version is not None and version != a.version:
        raise Conflict("changed meanwhile; reload", extra={"current_version": a.version})
    if a.visibility == "private":
        raise BadRequest("a private assistant cannot be published; share it by link or with departments first")
    result = screen(runtime, principal, a)
    a.screening = result
    if result["high_risk"] and not confirm:
        session.flush()
        labels = "; ".join(x["label"] for x in result["areas"])
        raise Conflict(f"Hochrisiko-Bereich nach KI-Verordnung erkannt: {labels}. Bitte bestätigen Sie "
                       "ausdrücklich (confirm) / high-risk area found; explicit confirmation required",
                       extra={"screening": result})
    a.published = True
    a.unpublished_reason = None
    a.confirmed_by = principal.id if result["high_risk"] else None
    a.confirmed_at = dt.datetime.now(dt.UTC) if result["high_risk"] else None
    session.flush()
    audit.append(session, audit.AuditEntry(
        actor=principal.id, department=principal.department, use_case="own-assistants", action="assistant.publish",
        safeguards={"ai_act_screening": result, "confirmed": bool(result["high_risk"])},
        details={"assistant_id": str(a.id), "version": a.version}), key=runtime.gateway.audit_key)
    return a


def unpublish(runtime: Runtime, session: Session, principal: Principal, assistant_id: str,
              reason: str) -> UserAssistant:
    """Moderation by an administrator; the owner sees the reason."""
    if ADMIN_ROLE not in principal.roles:
        raise Forbidden("moderation needs the admin role")
    reason = " ".join(reason.split())
    if not reason:
        raise BadRequest("give the owner a reason")
    a = session.get(UserAssistant, _id(assistant_id))
    if a is None:
        raise NotFound(f"no assistant {assistant_id}")
    a.published = False
    a.unpublished_reason = reason[:1000]
    audit.append(session, audit.AuditEntry(
        actor=principal.id, department=principal.department, use_case="own-assistants",
        action="assistant.unpublish", details={"assistant_id": str(a.id), "reason": a.unpublished_reason}),
        key=runtime.gateway.audit_key)
    return a


def published(session: Session) -> list[UserAssistant]:
    return list(session.scalars(sa.select(UserAssistant).where(UserAssistant.published.is_(True))
                                .order_by(UserAssistant.updated_at.desc())))


def as_json(a: UserAssistant, principal: Principal) -> dict[str, Any]:
    own = a.owner == principal.id
    data = {
        "id": str(a.id), "name": a.name, "description": a.description, "starter_prompts": a.starter_prompts,
        "data_class": a.data_class, "model": a.model, "visibility": a.visibility,
        "share_departments": a.share_departments, "published": a.published, "version": a.version,
        "department": a.department, "own": own, "updated_at": a.updated_at.isoformat(),
        "safeguards": a.safeguards or None,
    }
    if own:
        data |= {"system_prompt": a.system_prompt, "link_token": a.link_token, "screening": a.screening,
                 "confirmed_at": a.confirmed_at.isoformat() if a.confirmed_at else None,
                 "unpublished_reason": a.unpublished_reason}
    return data
