"""The portfolio's operations: submit, list (prioritised and the department's own), show, assess, send the
assessment, change the status, set the weights. Each checks access (rathaus.governance.portfolio.access) and
works in one transaction: a refused request stores nothing."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Conflict, NotFound
from rathaus.governance.portfolio import access, mailing, weights
from rathaus.governance.portfolio.inputs import AssessmentIn, IdeaIn, StatusIn, WeightsIn
from rathaus.governance.portfolio.schema import PortfolioAssessment, PortfolioIdea, PortfolioStatusChange
from rathaus.governance.portfolio.scoring import points_of, score
from rathaus.governance.portfolio.vocabulary import STATUSES, TRANSITIONS

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


USE_CASE = "governance.portfolio"


def _audit(runtime: Runtime, session: Session, principal: Principal, action: str, idea_id: int | None,
           content: Any = None, **details: Any) -> None:
    """An entry in the hash-chained audit log: who did what to which idea (the content only as a hash)."""
    audit.append(session, audit.AuditEntry(
        actor=principal.id, department=principal.department, use_case=USE_CASE, action=action,
        data_class=DataClass.INTERN.value, output_hash=audit.content_hash(content) if content is not None else None,
        details={"idea_id": idea_id, **details}), key=runtime.gateway.audit_key)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _latest_assessments(session: Session, ids: list[int]) -> dict[int, PortfolioAssessment]:
    if not ids:
        return {}
    rows = session.scalars(sa.select(PortfolioAssessment).where(PortfolioAssessment.idea_id.in_(ids))
                           .order_by(PortfolioAssessment.idea_id, PortfolioAssessment.id))
    return {row.idea_id: row for row in rows}  # the last one per idea wins


def _summary(idea: PortfolioIdea, assessment: PortfolioAssessment | None, w: dict[str, float]) -> dict[str, Any]:
    """What everybody on staff sees: enough to recompute the score."""
    points = None
    if assessment is not None:
        judged = {c: v["points"] for c, v in assessment.criteria.items() if c != "risk"}
        points = points_of(judged, assessment.risk_class)
    return {
        "id": idea.id, "title": idea.title, "department": idea.department, "status": idea.status,
        "urgency": idea.urgency, "hours_saved_per_year": idea.hours_saved_per_year, "register_id": idea.register_id,
        "submitted_at": _iso(idea.submitted_at), "assessed": assessment is not None,
        "risk_class": assessment.risk_class if assessment else None,
        "prohibited": bool(assessment and assessment.risk_class == "prohibited"),
        "points": points, "weights": w, "score": score(points, w) if points else None,
        "source": idea.source,
    }


def _detail(session: Session, idea: PortfolioIdea, assessment: PortfolioAssessment | None,
            w: dict[str, float]) -> dict[str, Any]:
    changes = session.scalars(sa.select(PortfolioStatusChange).where(PortfolioStatusChange.idea_id == idea.id)
                              .order_by(PortfolioStatusChange.id))
    out = _summary(idea, assessment, w)
    out.update({
        "problem": idea.problem, "data_needed": idea.data_needed, "affected_people": idea.affected_people,
        "contact_name": idea.contact_name, "contact_email": idea.contact_email, "submitted_by": idea.submitted_by,
        "history": [{"from": c.from_status, "to": c.to_status, "by": c.changed_by, "at": _iso(c.changed_at),
                     "register_id": c.register_id, "note": c.note} for c in changes],
        "assessment": None if assessment is None else {
            "risk_class": assessment.risk_class, "criteria": assessment.criteria, "summary": assessment.summary,
            "assessed_by": assessment.assessed_by, "assessed_at": _iso(assessment.assessed_at),
            "sent_at": _iso(assessment.sent_at), "sent_to": assessment.sent_to},
    })
    if assessment is not None:
        out["assessment_text"] = mailing.assessment_text(out)
    return out


def _sort_key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["status"] == "retired", item["prohibited"], item["score"] is None, -(item["score"] or 0),
            item["id"])


def _idea(session: Session, idea_id: int, lock: bool = False) -> PortfolioIdea:
    query = sa.select(PortfolioIdea).where(PortfolioIdea.id == idea_id)
    idea = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if idea is None:
        raise NotFound(f"no use-case idea {idea_id}")
    return idea


def submit(runtime: Runtime, principal: Principal, idea: IdeaIn,
           source: dict[str, Any] | None = None, department: str | None = None) -> dict[str, Any]:
    """Store a new idea of the principal's department (``department`` only for the shipped samples)."""
    access.require_staff(principal)
    with runtime.db.session() as session:
        row = PortfolioIdea(**idea.model_dump(mode="json"), department=department or principal.department,
                            submitted_by=principal.id, status="idea", source=source)
        session.add(row)
        session.flush()
        session.add(PortfolioStatusChange(idea_id=row.id, from_status=None, to_status="idea", changed_by=principal.id,
                                          note="eingereicht / submitted"))
        _audit(runtime, session, principal, "portfolio.submit", row.id, idea.model_dump(mode="json"))
        session.flush()
        session.refresh(row)
        return _detail(session, row, None, weights.current(session)["weights"])


def prioritised(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """Every idea with status, points, weights and score, best first (retired and prohibited last)."""
    access.require_staff(principal)
    with runtime.db.session() as session:
        current = weights.current(session)
        ideas = list(session.scalars(sa.select(PortfolioIdea)))
        latest = _latest_assessments(session, [i.id for i in ideas])
        items = sorted((_summary(i, latest.get(i.id), current["weights"]) for i in ideas), key=_sort_key)
    for rank, item in enumerate((i for i in items if i["score"] is not None and i["status"] != "retired"), 1):
        item["rank"] = rank
    return {"weights": current, "items": items,
            "formula": "score = 100 × Σ w_c·(p_c − 1)/4 / Σ w_c; risk points: minimal 5, limited 4, high 2, "
                       "prohibited: no score"}


def department_ideas(runtime: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """The principal's department's ideas with details and the written assessment (the submitter's list)."""
    access.require_staff(principal)
    with runtime.db.session() as session:
        w = weights.current(session)["weights"]
        ideas = list(session.scalars(sa.select(PortfolioIdea).where(PortfolioIdea.department == principal.department)
                                     .order_by(PortfolioIdea.id.desc())))
        latest = _latest_assessments(session, [i.id for i in ideas])
        return [_detail(session, i, latest.get(i.id), w) for i in ideas]


def get_idea(runtime: Runtime, principal: Principal, idea_id: int) -> dict[str, Any]:
    """Details for the department, assessors and auditors; everybody else sees the public summary."""
    access.require_staff(principal)
    with runtime.db.session() as session:
        idea = _idea(session, idea_id)
        w = weights.current(session)["weights"]
        assessment = _latest_assessments(session, [idea.id]).get(idea.id)
        if access.may_read_details(principal, idea.department):
            return _detail(session, idea, assessment, w)
        return _summary(idea, assessment, w)


def assess(runtime: Runtime, principal: Principal, idea_id: int, assessment: AssessmentIn) -> dict[str, Any]:
    """Store a (new) assessment; the first one moves the idea from ``idea`` to ``assessed``. Nothing is sent."""
    access.require_assess(principal)
    with runtime.db.session() as session:
        idea = _idea(session, idea_id, lock=True)
        if idea.status == "retired":
            raise Conflict(f"idea {idea_id} is retired; it is not assessed any more")
        if assessment.risk_class == "prohibited" and idea.status in ("pilot", "production"):
            raise Conflict(f"idea {idea_id} is in {idea.status}: a prohibited practice must be retired first")
        row = PortfolioAssessment(idea_id=idea.id, risk_class=assessment.risk_class,
                                  criteria=assessment.criteria(), summary=assessment.summary,
                                  assessed_by=principal.id)
        session.add(row)
        if idea.status == "idea":
            session.add(PortfolioStatusChange(idea_id=idea.id, from_status="idea", to_status="assessed",
                                              changed_by=principal.id, note="bewertet / assessed"))
            idea.status = "assessed"
        _audit(runtime, session, principal, "portfolio.assess", idea.id, assessment.model_dump(mode="json"),
               risk_class=assessment.risk_class)
        session.flush()
        session.refresh(row)
        session.refresh(idea)
        return _detail(session, idea, row, weights.current(session)["weights"])


def change_status(runtime: Runtime, principal: Principal, idea_id: int, change: StatusIn) -> dict[str, Any]:
    """Move an idea along idea → assessed → pilot → production → retired (only the allowed steps)."""
    access.require_assess(principal)
    if change.status not in STATUSES:
        raise BadRequest(f"unknown status {change.status!r}; one of: {', '.join(STATUSES)}")
    with runtime.db.session() as session:
        idea = _idea(session, idea_id, lock=True)
        allowed = TRANSITIONS[idea.status]
        if change.status not in allowed:
            raise Conflict(f"idea {idea_id} cannot go from {idea.status} to {change.status}; allowed: "
                           f"{', '.join(allowed) or 'none'}")
        if change.status == "assessed":
            raise Conflict(f"idea {idea_id} becomes assessed by an assessment (assess), not a status change")
        assessment = _latest_assessments(session, [idea.id]).get(idea.id)
        if change.status in ("pilot", "production") and assessment and assessment.risk_class == "prohibited":
            raise Conflict(f"idea {idea_id} is a prohibited practice under the EU AI Act; it cannot be piloted")
        if change.status == "production" and not change.register_id:
            raise BadRequest("a use case in production needs its AI system register entry (register_id)")
        if change.register_id and change.status != "production":
            raise BadRequest("register_id is given only with the status production")
        session.add(PortfolioStatusChange(idea_id=idea.id, from_status=idea.status, to_status=change.status,
                                          changed_by=principal.id, register_id=change.register_id,
                                          note=change.note))
        _audit(runtime, session, principal, "portfolio.status", idea.id, None, from_status=idea.status,
               to_status=change.status, register_id=change.register_id)
        idea.status = change.status
        if change.register_id:
            idea.register_id = change.register_id
        session.flush()
        session.refresh(idea)
        return _detail(session, idea, assessment, weights.current(session)["weights"])


def send_assessment(runtime: Runtime, principal: Principal, idea_id: int) -> dict[str, Any]:
    """Send the newest assessment to the idea's contact address – the assessor's explicit action."""
    from rathaus.inbox import outbound_mail_configured, send_plain_mail

    access.require_assess(principal)
    detail = get_idea(runtime, principal, idea_id)
    if not detail.get("assessment"):
        raise Conflict(f"idea {idea_id} has no assessment to send")
    address = detail.get("contact_email")
    if not address:
        raise Conflict(f"idea {idea_id} has no contact e-mail; the assessment is visible in the department's list")
    if not outbound_mail_configured(runtime.settings):
        raise Conflict("outbound mail is not configured (RATHAUS_INBOX_SMTP_HOST); the assessment is visible in "
                       "the department's list")
    message_id = send_plain_mail(runtime.settings, to=address, subject=mailing.subject_line(detail),
                                 body=detail["assessment_text"])
    with runtime.db.session() as session:
        row = _latest_assessments(session, [idea_id])[idea_id]
        row.sent_at, row.sent_by, row.sent_to = dt.datetime.now(dt.UTC), principal.id, address
        _audit(runtime, session, principal, "portfolio.send_assessment", idea_id, detail["assessment_text"],
               assessment_id=row.id)
    return {"id": idea_id, "sent_to": address, "message_id": message_id}


def current_weights(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    access.require_staff(principal)
    with runtime.db.session() as session:
        return {**weights.current(session), "history": weights.history(session)}


def set_weights(runtime: Runtime, principal: Principal, new: WeightsIn) -> dict[str, Any]:
    access.require_assess(principal)
    with runtime.db.session() as session:
        stored = weights.set_weights(session, new, principal.id)
        _audit(runtime, session, principal, "portfolio.weights", None, None, weights=stored["weights"])
        return stored
