"""The platform's own declaration: it enters through the same door as every capability (rathaus.core.capability).

Core and the model gateway bring the commands to run and administer rathaus, the OpenAI-compatible model door,
administration, health and metrics, sign-in, the start page and the API documentation.
"""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="platform",
    title="Plattform / platform",
    description="model gateway, budgets, metering, audit log, sign-in, operations",
    register="rathaus.models.register:system_facts",
    commands=(
        Command("up", "rathaus.commands.run:up"),
        Command("serve", "rathaus.commands.run:serve"),
        Command("worker", "rathaus.commands.jobs:worker"),
        Command("jobs", "rathaus.commands.jobs:jobs_app"),
        Command("db", "rathaus.commands.db:app"),
        Command("backup", "rathaus.commands.db:backup_cmd"),
        Command("restore", "rathaus.commands.db:restore_cmd"),
        Command("models", "rathaus.commands.models:app"),
        Command("report", "rathaus.commands.admin:report_app"),
        Command("budget", "rathaus.commands.admin:budget_app"),
        Command("audit", "rathaus.commands.admin:audit_app"),
        Command("apikey", "rathaus.commands.admin:apikey_app"),
        Command("config", "rathaus.commands.admin:config_app"),
        Command("eval", "rathaus.commands.common:eval_app"),
    ),
    routers=(
        "rathaus.api.routers.health:router",
        "rathaus.api.routers.openai_compat:router",
        "rathaus.api.routers.admin:router",
        "rathaus.api.routers.jobs:router",
        "rathaus.web.login:router",
        "rathaus.web.api_docs:router",
        "rathaus.web.pages:router",
    ),
    tables=("rathaus.core.schema",),
    pages=(
        Page("/", "Start", "Home", order=0),
        Page("/admin", "Verwaltung", "Administration", roles=("admin", "auditor"), order=90),
        Page("/docs", "API-Dokumentation", "API documentation", order=95),
    ),
    jobs=(
        Job("audit.checkpoint", "rathaus.core.housekeeping:checkpoint_audit", every="* * * * *",
            description="Prüfpunkt des Audit-Logs signieren / sign a checkpoint of the audit log's head "
                        "(RATHAUS_AUDIT_CHECKPOINT_SECONDS)"),
        Job("audit.purge", "rathaus.core.housekeeping:purge_audit", every="40 2 * * *",
            description="Audit-Einträge nach der Aufbewahrungsfrist löschen / audit retention "
                        "(RATHAUS_AUDIT_RETENTION_DAYS)"),
        Job("sessions.purge", "rathaus.core.housekeeping:purge_sessions", every="7 * * * *",
            description="Abgelaufene Web-Sitzungen löschen / remove expired web sessions"),
        Job("jobs.cleanup", "rathaus.core.housekeeping:cleanup_jobs", every="20 * * * *",
            description="Beendete Aufträge löschen / delete finished jobs (RATHAUS_JOBS_KEEP_DAYS)"),
    ),
)
