"""Declaration of governance (bias evaluations, the AI system register, the use-case portfolio, oversight reports
and the /governance dashboard) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations, AI system register with system cards, AI use-case portfolio, oversight reports "
                "(climate, costs, equality, staff council), dashboard",
    commands=(
        Command("eval bias", "rathaus.commands.governance:eval_bias"),
        Command("register", "rathaus.commands.register:register_app"),
        Command("portfolio", "rathaus.commands.portfolio:portfolio_app"),
        Command("report climate", "rathaus.commands.governance_reports:report_climate"),
        Command("report costs", "rathaus.commands.governance_reports:report_costs"),
        Command("report equality", "rathaus.commands.governance_reports:report_equality"),
        Command("report staff", "rathaus.commands.governance_reports:report_staff"),
    ),
    routers=("rathaus.api.routers.register:router", "rathaus.web.register:router",
             "rathaus.api.routers.portfolio:router", "rathaus.web.portfolio:router",
             "rathaus.api.routers.governance_reports:router", "rathaus.web.governance:router"),
    tables=("rathaus.governance.schema", "rathaus.governance.register.tables", "rathaus.governance.portfolio.schema"),
    migrations="rathaus.governance.migrations",
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
        Job("governance.monthly_reports", "rathaus.governance.reports.monthly:monthly_reports", every="30 4 1 * *",
            description="Aufsichtsberichte des Vormonats als HTML und CSV ablegen / write last month's oversight "
                        "reports to data_dir/reports/<month>/"),
    ),
    # the public page /register stands alone (no sign-in, no navigation); the overview and /governance link to it
    pages=(
        Page("/portfolio", "KI-Vorhaben", "AI use cases", order=60),
        Page("/register/manage", "KI-Register", "AI register", roles=("oversight", "auditor", "admin"), order=80),
        Page("/governance", "Aufsicht", "Oversight", roles=("admin", "auditor", "oversight", "staff-council"),
             order=85),
    ),
    strings="rathaus.governance.strings:STRINGS",
    settings="rathaus.governance.settings:GovernanceSettings",
)
