"""Progress per person, the attempt at a module's check, the gate before high-risk assistants, and the record for
the city: aggregates per department and module, cells below the minimum group size suppressed, never per person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core import capability
from rathaus.core.auth import Principal
from rathaus.core.budgets import CITY_TZ, current_month
from rathaus.core.errors import BadRequest, Forbidden
from rathaus.core.schema import UsageEvent
from rathaus.core.settings import Settings
from rathaus.literacy import modules as mod
from rathaus.literacy.schema import LiteracyProgress
from rathaus.literacy.settings import LiteracySettings

#: who may read the record for the city (like the oversight reports); nobody gets a per-person list
READER_ROLES = ("admin", "auditor", "oversight", "staff-council")
DEFAULT_MIN_GROUP = 5


class BasicsRequired(Forbidden):
    code, title = "literacy-basics-required", "Basics module not passed yet"


def literacy_settings(settings: Settings) -> LiteracySettings:
    return settings.section(LiteracySettings)


@lru_cache(maxsize=8)
def _load(folder: Path | None) -> tuple[mod.Module, ...]:
    return tuple(mod.load(folder))


def modules(settings: Settings) -> list[mod.Module]:
    return list(_load(literacy_settings(settings).literacy_modules_dir))


def min_group_size(settings: Settings) -> int:
    """The staff-council minimum group size (``RATHAUS_GOVERNANCE_MIN_GROUP_SIZE``), read from whichever settings
    section declares it – literacy does not import governance (capabilities are independent)."""
    for cls in capability.settings_sections():
        if "governance_min_group_size" in cls.model_fields:
            section: Any = settings.section(cls)
            return int(section.governance_min_group_size)
    return DEFAULT_MIN_GROUP


def _mine(session: Session, subject: str) -> dict[str, LiteracyProgress]:
    rows = session.scalars(sa.select(LiteracyProgress).where(LiteracyProgress.subject == subject))
    return {row.module_id: row for row in rows}


def progress(session: Session, settings: Settings, principal: Principal, lang: str = "de") -> list[dict[str, Any]]:
    """Every module with the signed-in person's own result (only their own)."""
    mine = _mine(session, principal.id)
    listing = []
    for m in modules(settings):
        row = mine.get(m.id)
        listing.append({"id": m.id, "title": m.title(lang), "questions": len(m.questions), "version": m.version,
                        "score": row.score if row else None, "attempts": row.attempts if row else 0,
                        "passed": bool(row and row.passed_at),
                        "passed_at": row.passed_at.isoformat() if row and row.passed_at else None,
                        "outdated": bool(row and row.module_digest != m.digest)})
    return listing


def attempt(session: Session, settings: Settings, principal: Principal, module_id: str, answers: Any,
            lang: str = "de") -> dict[str, Any]:
    """Check ``answers`` server-side and keep the person's best result; the first pass is dated."""
    if principal.kind not in ("user", "local"):
        raise Forbidden("learning progress is kept for people, not for services")
    if not isinstance(answers, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in answers):
        raise BadRequest("answers must be a list of option indexes (integers), one per question")
    module = mod.find(modules(settings), module_id)
    checked = mod.check(module, answers, lang)
    now = dt.datetime.now(dt.UTC)
    row = session.scalars(sa.select(LiteracyProgress).where(LiteracyProgress.subject == principal.id,
                                                            LiteracyProgress.module_id == module.id)
                          .with_for_update()).first()
    if row is None:
        row = LiteracyProgress(subject=principal.id, department=principal.department, module_id=module.id,
                               module_version=module.version, module_digest=module.digest, score=checked.score,
                               attempts=1, passed_at=now if checked.passed else None, updated_at=now)
        session.add(row)
    else:
        row.attempts += 1
        row.department = principal.department
        if checked.score >= row.score or row.module_digest != module.digest:
            row.score, row.module_version, row.module_digest = checked.score, module.version, module.digest
        if checked.passed and row.passed_at is None:
            row.passed_at = now
        row.updated_at = now
    session.flush()
    return {"module": module.id, "version": module.version, "digest": module.digest, "correct": checked.correct,
            "total": checked.total, "score": checked.score, "passed": checked.passed,
            "pass_share": mod.PASS_SHARE, "passed_at": row.passed_at.isoformat() if row.passed_at else None,
            "results": checked.results}


def has_passed(session: Session, subject: str, module_id: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(LiteracyProgress).where(
        LiteracyProgress.subject == subject, LiteracyProgress.module_id == module_id,
        LiteracyProgress.passed_at.is_not(None))) == 1


def require_basics(session: Session, settings: Settings, principal: Principal, system: str) -> None:
    """With ``RATHAUS_LITERACY_REQUIRE_BASICS_FOR_HIGH_RISK``: refuse a person who has not passed the basics
    module before they use the high-risk (Annex III) assistant ``system``."""
    cfg = literacy_settings(settings)
    if not cfg.literacy_require_basics_for_high_risk or principal.kind not in ("user", "local"):
        return
    if has_passed(session, principal.id, cfg.literacy_basics_module):
        return
    title = next((m.title_de for m in modules(settings) if m.id == cfg.literacy_basics_module),
                 cfg.literacy_basics_module)
    raise BasicsRequired(
        f"{system!r} ist ein Hochrisiko-KI-System (KI-VO Anhang III): bitte zuerst das Lernmodul "
        f"'{title}' abschließen (/lernen/{cfg.literacy_basics_module}) / {system!r} is a high-risk AI system "
        f"(EU AI Act Annex III): please pass the learning module {cfg.literacy_basics_module!r} first")


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of ``month`` (YYYY-MM, the city's time zone); BadRequest for anything else."""
    try:
        start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=CITY_TZ)
    except ValueError:
        raise BadRequest(f"month must be YYYY-MM, not {month!r}") from None
    return start, (start + dt.timedelta(days=32)).replace(day=1)


@dataclass
class Record:
    month: str
    min_group: int
    modules: list[dict[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "min_group_size": self.min_group, "modules": self.modules, "rows": self.rows,
                "note": "Zellen mit weniger als min_group_size Personen sind unterdrückt (null, 'shown': '< n'); "
                        "keine Angaben zu einzelnen Personen / cells below min_group_size are suppressed; no "
                        "per-person data"}


def _cell(value: int, min_group: int) -> dict[str, Any]:
    shown = value >= min_group
    return {"count": value if shown else None, "shown": str(value) if shown else f"< {min_group}"}


def record(session: Session, settings: Settings, month: str | None = None) -> Record:
    """Per department and module: people who passed by the end of ``month``, and the department's active users of
    AI tools in that month (metering); every count below the minimum group size is suppressed."""
    month = month or current_month()
    start, end = month_bounds(month)
    min_group = min_group_size(settings)
    listing = modules(settings)
    passed = {(d, m): n for d, m, n in session.execute(
        sa.select(LiteracyProgress.department, LiteracyProgress.module_id,
                  sa.func.count(sa.distinct(LiteracyProgress.subject)))
        .where(LiteracyProgress.passed_at.is_not(None), LiteracyProgress.passed_at < end)
        .group_by(LiteracyProgress.department, LiteracyProgress.module_id))}
    active = dict(session.execute(
        sa.select(UsageEvent.department, sa.func.count(sa.distinct(UsageEvent.principal)))
        .where(UsageEvent.ts >= start, UsageEvent.ts < end, UsageEvent.principal_kind.in_(("user", "local")))
        .group_by(UsageEvent.department)).all())
    departments = sorted({d for d, _ in passed} | set(active))
    rep = Record(month, min_group, [{"id": m.id, "title_de": m.title_de, "title_en": m.title_en} for m in listing])
    for department in departments:
        users = int(active.get(department, 0))
        cells = {}
        for m in listing:
            n = int(passed.get((department, m.id), 0))
            cell = _cell(n, min_group)
            if cell["count"] is not None and users >= min_group:
                cell["share_of_active"] = round(min(n / users, 1.0), 3)
            cells[m.id] = cell
        rep.rows.append({"department": department, "active_users": _cell(users, min_group), "modules": cells})
    return rep


def render_text(rep: Record) -> str:
    """The record as a plain table for the terminal."""
    ids = [m["id"] for m in rep.modules]
    head = ["Referat / department", "aktiv / active", *ids]
    lines = [[r["department"], r["active_users"]["shown"], *(r["modules"][i]["shown"] for i in ids)]
             for r in rep.rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    out = [f"KI-Kompetenz {rep.month} (Mindestgruppe / min group {rep.min_group})"]
    for row in [head, *lines]:
        out.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    if not rep.rows:
        out.append("(keine Daten / no data)")
    return "\n".join(out)
