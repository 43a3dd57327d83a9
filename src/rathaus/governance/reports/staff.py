"""Staff-council report: which employee data the platform keeps and for how long (from the settings), who may see
what (roles), and usage only in aggregates of at least ``governance_min_group_size`` people."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core import capability
from rathaus.core.errors import BadRequest
from rathaus.core.settings import Settings
from rathaus.governance.register.store import entries as register_entries
from rathaus.governance.reports.model import Report, Table
from rathaus.governance.reports.privacy import refuse_personal, require_group, suppress
from rathaus.governance.reports.usage_queries import Period, usage_by

#: (where, which employee data, purpose, retention setting or None)
EMPLOYEE_DATA = [
    ("usage_events", "Kennung, Referat, Zeit, Anwendungsfall, Modell, Tokens, € / id, department, time, use case",
     "Abrechnung, Budgets, diese Berichte / billing, budgets, these reports", None),
    ("audit_log", "Kennung, Referat, Zeit, Aktion, Hashwerte der Ein-/Ausgaben (keine Texte) / hashes, no texts",
     "KI-VO Art. 12 Protokollpflicht / EU AI Act logging", "audit_retention_days"),
    ("chats", "Chatverläufe der Beschäftigten / employees' chats", "Arbeitsplatz / workspace", "chat_retention_days"),
    ("web_sessions", "Sitzung: Kennung, Rollen / session: id, roles", "Anmeldung / sign-in", "session_hours"),
    ("inbox", "Bearbeiter·in von Posteingangsvorgängen / case worker of inbox messages", "Posteingang / inbox",
     "inbox_retention_days"),
    ("checks", "Prüfende Person von Antragsprüfungen / checker of applications", "Antragsprüfung / checks",
     "checks_retention_days"),
    ("jobs", "Auftraggeber·in von Hintergrundaufträgen / who started a job", "Aufträge / jobs", "jobs_keep_days"),
]

ROLES = [
    ("user", "eigene Chats, eigene Nutzung, Nutzung des eigenen Referats / own chats and usage, own department"),
    ("admin", "Verwaltung, Budgets, alle Referate (aggregiert), Audit-Log, Moderation / administration"),
    ("auditor", "Audit-Log, Berichte, Register – lesend / audit log, reports, register – read only"),
    ("oversight", "Aufsicht: Berichte, Register, Dashboard /governance – lesend / oversight bodies, read only"),
    ("staff-council", "wie oversight; Personalrat / like oversight; for the staff council"),
]


def retention_settings(settings: Settings) -> dict[str, Any]:
    """Every ``*_retention_days``, ``*_keep_days`` and ``session_hours`` value of the platform and its capabilities."""
    found: dict[str, Any] = {}
    objects: list[Any] = [settings] + [settings.section(cls) for cls in capability.settings_sections()]
    for obj in objects:
        for name in type(obj).model_fields:
            if name.endswith(("_retention_days", "_keep_days")) or name == "session_hours":
                found[name] = getattr(obj, name)
    return found


def build_staff(session: Session, p: Period, settings: Settings, min_group: int, by: str = "department") -> Report:
    refuse_personal(by)
    if p.department:
        require_group(session, p.department, p.start, p.end, min_group)
    report = Report("staff", p.month, p.department, min_group)
    retention = retention_settings(settings)
    report.tables.append(Table(
        "retention", "Verarbeitete Beschäftigtendaten und Speicherdauer / employee data and retention",
        ["store", "data", "purpose", "setting"], ["keep"],
        [[store, data, purpose, setting or "–",
          (f"{retention[setting]} h" if setting == "session_hours" else f"{retention[setting]} Tage / days")
          if setting in retention else ("unbefristet (keine Löschfrist) / no retention limit" if setting is None
                                        else "Modul nicht aktiv / capability not active")]
         for store, data, purpose, setting in EMPLOYEE_DATA]))
    report.tables.append(Table("roles", "Wer darf was sehen / who may see what", ["role"], ["may_see"],
                               [list(r) for r in ROLES],
                               note="Keine Rolle sieht die Nutzung einzelner Personen in Berichten / no role sees "
                                    "per-person usage in reports."))
    report.tables.append(codetermination(session))
    dims = {"department": ("department",), "use_case": ("use_case",), "department_use_case": ("department", "use_case")}
    if by not in dims:
        raise BadRequest(f"by must be one of {', '.join(dims)}, not {by!r}")
    for key, title in (("department", "Nutzung je Referat / usage by department"),
                       ("use_case", "Nutzung je Anwendungsfall / usage by use case"),
                       ("department_use_case", "Nutzung je Referat und Anwendungsfall / by department and use case")):
        groups = usage_by(session, p, *dims[key])
        rows = [[*g.keys, g.people, g.requests, g.prompt_tokens + g.completion_tokens] for g in groups]
        report.tables.append(Table(key, title, list(dims[key]), ["people", "requests", "tokens"],
                                   suppress(rows, len(dims[key]), min_group),
                                   chart="requests" if key != "department_use_case" else None,
                                   note=f"Zellen mit weniger als {min_group} Personen sind unterdrückt / cells with "
                                        f"fewer than {min_group} people are suppressed."))
    shown = [r for r in report.table("department").rows if r[1] is not None]
    report.summary = {"min_group_size": min_group, "departments_shown": len(shown),
                      "departments_suppressed": len(report.table("department").rows) - len(shown),
                      "requests_shown": sum(r[2] for r in shown)}
    report.method = [
        f"Nutzung nur als Summe über mindestens {min_group} Personen (RATHAUS_GOVERNANCE_MIN_GROUP_SIZE); kleinere "
        "Gruppen erscheinen als „unterdrückt“, eine Auswertung je Person oder ein Filter auf eine kleinere Gruppe wird "
        "abgelehnt (HTTP 422 group-too-small).",
        "Speicherdauern aus den laufenden Einstellungen (RATHAUS_…_RETENTION_DAYS).",
    ]
    return report


def codetermination(session: Session) -> Table:
    """The co-determination record per use case: the staff council's approval as entered in the AI system register
    (``staff_council_approval`` of each entry; `rathaus register set` or /register/manage)."""
    rows = [[system_id, entry.owner_department or "–", entry.status,
             entry.staff_council_approval.isoformat() if entry.staff_council_approval else "offen / open"]
            for system_id, entry in register_entries(session).items()]
    return Table("codetermination", "Mitbestimmung je Anwendungsfall / co-determination per use case",
                 ["system", "owner_department", "status"], ["staff_council_approval"], rows,
                 note="Aus dem KI-Register (/register/manage): Zustimmung des Personalrats je System; „offen“ = noch "
                      "nicht eingetragen / from the AI system register: the staff council's approval per system.")
